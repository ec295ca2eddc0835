"""Throwaway PostgreSQL and Redis servers on free loopback ports.

`make test` runs the whole suite inside `python -m tests.services -- <command>`,
which starts both, exports DATABASE_URL and REDIS_URL to the command, and
stops and deletes them afterwards whatever happens. Tests that must break a
service on purpose (healthz) start their own with the same classes.
"""

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_service_user(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root (MACHINE_NOTES.md, pitfall 1).
    return ["runuser", "-u", "postgres", "--", *command] if _is_root() else command


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout:.0f} s")


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class ServiceDirectory:
    """A temporary directory the postgres user can reach (mode 755)."""

    def __init__(self, label: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"pipo-{label}-", dir="/tmp"))
        self.path.chmod(0o755)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class PostgresServer:
    """A throwaway PostgreSQL cluster tuned for tests (no fsync)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = ServiceDirectory("postgres")
        self.data = self.directory.path / "data"
        self.sockets = self.directory.path / "sockets"
        self.user = "pipo"
        self.database = "pipo"

    @staticmethod
    def binaries() -> Path:
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2])
        )
        if not candidates:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        return Path(candidates[-1])

    @property
    def url(self) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> Self:
        binaries = self.binaries()
        self.sockets.mkdir()
        if _is_root():
            shutil.chown(self.directory.path, "postgres")
            shutil.chown(self.sockets, "postgres")
        subprocess.run(
            _as_service_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    self.user,
                    "-A",
                    "trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale",
                    "C",
                ]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        subprocess.run(
            _as_service_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.directory.path / "postgres.log"),
                    "-o",
                    options,
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                str(binaries / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                self.database,
            ],
            check=True,
            capture_output=True,
        )
        return self

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                _as_service_user(
                    [
                        str(self.binaries() / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ]
                ),
                check=False,
                capture_output=True,
            )
        self.directory.remove()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: "type[BaseException] | BaseException | TracebackType | None") -> None:
        self.stop()


class RedisServer:
    """A throwaway Redis with persistence off."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.directory = ServiceDirectory("redis")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("Redis is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory.path),
                "--logfile",
                str(self.directory.path / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: self._answers_ping(), "Redis")
        return self

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def remove(self) -> None:
        self.stop()
        self.directory.remove()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: "type[BaseException] | BaseException | TracebackType | None") -> None:
        self.remove()


def run_with_services(command: list[str]) -> int:
    """Run ``command`` with DATABASE_URL and REDIS_URL pointing at fresh servers."""
    with PostgresServer() as postgres, RedisServer() as redis:
        environment = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": redis.url}
        process = subprocess.Popen(command, env=environment)
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            return process.wait()


def main(arguments: list[str]) -> int:
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    if not arguments:
        print("usage: python -m tests.services -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    return run_with_services(arguments)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
