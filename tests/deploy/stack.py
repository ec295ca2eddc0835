"""A PiPo deployment booted from the files in deploy/, on loopback.

What an operator does on a Debian machine (docs/OPERATIONS.md), with this
test's ports and paths: an environment file made of
deploy/systemd/pipo.env.example plus the values that differ here (appended,
so they win as in systemd), rendered by deploy/render.py into the nginx site
and the systemd units; `deploy/manage.sh migrate` and `collectstatic`; one
worker per port started from the rendered `pipo@.service` (its ExecStart,
WorkingDirectory, Environment= and EnvironmentFile=, in a clean environment,
as systemd would); nginx running the rendered site inside a small main
configuration that stands in for Debian's /etc/nginx/nginx.conf.

Which worker holds a browser's websocket is read from the workers' own logs:
Daphne writes an access line per websocket (`"WSCONNECT /ws/"`, then
`"WSDISCONNECT /ws/"`) to its standard output, which goes to that worker's
log file unbuffered (the unit sets PYTHONUNBUFFERED). Each line names the
client as nginx forwards it (X-Forwarded-For and X-Forwarded-Port: the
browser's own address and port), so each socket is told apart from others.
"""

import contextlib
import datetime
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deploy.render import read_env_file, render_file, template_values
from tests.conftest import ARTIFACTS, REPOSITORY, LiveServer
from tests.services import PostgresServer, RedisServer, free_port

DEPLOY = REPOSITORY / "deploy"
ENV_EXAMPLE = DEPLOY / "systemd" / "pipo.env.example"
DOMAIN = "pipo.localhost"  # Chromium resolves *.localhost to loopback


def wait_until(condition: Any, what: str, timeout: float = 30.0, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


# --- TLS ---------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    chain: Path
    key: Path


def make_certificates(directory: Path, domain: str) -> Certificates:
    """A throwaway CA and, signed by it, a wildcard certificate for `domain`
    and `*.domain` (what certbot gets from Let's Encrypt in production)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "PiPo deploy test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(domain), x509.DNSName(f"*.{domain}")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    certificates = Certificates(
        ca=directory / "ca.pem", chain=directory / "fullchain.pem", key=directory / "privkey.pem"
    )
    certificates.ca.write_bytes(ca.public_bytes(pem))
    certificates.chain.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    certificates.key.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    certificates.key.chmod(0o600)
    return certificates


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    tls_version: str | None = None


def https_request(
    port: int,
    host: str,
    path: str,
    *,
    ca: Path,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    sni: str | None = None,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """One HTTP/1.1 request to nginx on 127.0.0.1:`port`, as `host` (SNI and
    Host), verifying the certificate against the test CA."""
    if context is None:
        context = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname=sni or host) as tls,
    ):
        tls.sendall(_request_bytes(f"{host}:{port}", path, method, headers, body))
        response = http.client.HTTPResponse(tls, method=method)
        response.begin()
        return Answer(response.status, response.headers, response.read(), tls.version())


def http_request(port: int, host: str, path: str) -> Answer:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        raw.sendall(_request_bytes(f"{host}:{port}", path, "GET", None, b""))
        response = http.client.HTTPResponse(raw, method="GET")
        response.begin()
        return Answer(response.status, response.headers, response.read())


def _request_bytes(
    host: str, path: str, method: str, headers: dict[str, str] | None, body: bytes
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- systemd, as far as the workers need it ---------------------------------


@dataclass(frozen=True)
class ServiceUnit:
    """The [Service] settings of a rendered unit that say how to run it."""

    exec_start: list[str]
    working_directory: Path
    environment: dict[str, str]
    environment_files: list[Path]

    @classmethod
    def parse(cls, text: str, instance: str = "") -> "ServiceUnit":
        section = ""
        exec_start: list[str] = []
        working_directory = Path("/")
        environment: dict[str, str] = {}
        files: list[Path] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line
                continue
            if section != "[Service]":
                continue
            name, _, value = line.partition("=")
            value = value.replace("%i", instance).replace("%%", "%")
            if name == "ExecStart":
                exec_start = shlex.split(value)
            elif name == "WorkingDirectory":
                working_directory = Path(value)
            elif name == "Environment":
                for pair in shlex.split(value):
                    key, _, setting = pair.partition("=")
                    environment[key] = setting
            elif name == "EnvironmentFile":
                files.append(Path(value.lstrip("-")))
        assert exec_start, "the unit has no ExecStart"
        return cls(exec_start, working_directory, environment, files)

    def process_environment(self) -> dict[str, str]:
        """What systemd gives the process: a clean environment, then
        Environment=, then the EnvironmentFile= values (which win)."""
        result = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        result.update(self.environment)
        for path in self.environment_files:
            result.update(read_env_file(path))
        return result


# --- The pieces --------------------------------------------------------------


@dataclass
class Worker:
    """One Daphne worker, started from pipo@.service."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def relay_sockets(self, event: str) -> list[str]:
        """The client (address:port, as nginx forwards it) of each `event` line
        (WSCONNECT, WSDISCONNECT) for the relay socket /ws/."""
        pattern = rf'^(\S+) - - \[[^\]]*\] "{event} /ws/"'
        return re.findall(pattern, self.log_text(), re.MULTILINE)

    def relay_connects(self) -> int:
        return len(self.relay_sockets("WSCONNECT"))

    def open_relay_sockets(self) -> int:
        """Relay sockets accepted and not yet closed, told apart by client port."""
        closed = set(self.relay_sockets("WSDISCONNECT"))
        return len(set(self.relay_sockets("WSCONNECT")) - closed)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, as when the machine loses the process."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __repr__(self) -> str:
        return f"Worker(127.0.0.1:{self.port})"


@dataclass
class Front(LiveServer):
    """nginx as the browser helpers see a server: tenants on https://<slug>.DOMAIN:port."""

    domain: str = DOMAIN

    @property
    def url(self) -> str:
        return f"https://{self.domain}:{self.port}"

    def tenant_url(self, slug: str) -> str:
        return f"https://{slug}.{self.domain}:{self.port}"


NGINX_MAIN = """\
# Stands in for Debian's /etc/nginx/nginx.conf, with every path in this
# test's directory; the site itself is deploy/nginx/pipo.conf, rendered.
user root;
worker_processes 1;
pid {directory}/nginx.pid;
events {{
    worker_connections 512;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    log_format deploy_test '$status $body_bytes_sent "$request" '
                           'upstream=$upstream_addr accel=$upstream_http_x_accel_redirect';
    access_log {directory}/access.log deploy_test;
    include {directory}/pipo.conf;
}}
"""


@dataclass
class Deployment:
    """PostgreSQL, Redis, N workers and nginx, from deploy/, under `root`."""

    name: str
    root: Path
    certificates: Certificates
    postgres: PostgresServer
    redis: RedisServer
    worker_ports: list[int]
    https_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    workers: list[Worker] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None
    front: Front | None = None

    @property
    def env_file(self) -> Path:
        return self.root / "etc" / "pipo.env"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def nginx_dir(self) -> Path:
        return self.root / "nginx"

    @property
    def database_url(self) -> str:
        return self.postgres.url

    # -- set-up, as docs/OPERATIONS.md tells an operator ----------------------

    def write_environment(self, **extra: str) -> None:
        """The example environment file, with this machine's values after it."""
        values = {
            "PIPO_DOMAIN": DOMAIN,
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "DATA_DIR": str(self.data_dir),
            "STATIC_ROOT": str(self.data_dir / "static"),
            "PIPO_PUBLIC_PORT": str(self.https_port),
            "PIPO_WORKERS": ",".join(str(port) for port in self.worker_ports),
            "PIPO_HOME": str(REPOSITORY),
            "PIPO_USER": "root",
            "TLS_CERTIFICATE": str(self.certificates.chain),
            "TLS_CERTIFICATE_KEY": str(self.certificates.key),
            "NGINX_HTTPS_LISTEN": f"127.0.0.1:{self.https_port}",
            "NGINX_HTTP_LISTEN": f"127.0.0.1:{self.http_port}",
            # No SMTP server here: mail goes to DATA_DIR/outbox.
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            # The browser tests read what clients hold (window.__pipoTest).
            "PIPO_TEST_HOOKS": "true",
            **extra,
        }
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{name}={value}" for name, value in values.items()]
        self.env_file.write_text(
            ENV_EXAMPLE.read_text(encoding="utf-8")
            + "\n# tests/deploy: this machine's ports and paths\n"
            + "\n".join(lines)
            + "\n",
            encoding="utf-8",
        )

    def render(self, template: str) -> str:
        values = template_values([{"PIPO_ENV_FILE": str(self.env_file)}, self.environment()])
        return render_file(DEPLOY / template, values)

    def environment(self) -> dict[str, str]:
        return read_env_file(self.env_file)

    def manage(self, *arguments: str, check: bool = True) -> str:
        """`deploy/manage.sh ...`, as the operator runs it."""
        done = subprocess.run(
            [str(DEPLOY / "manage.sh"), *arguments],
            env={"PATH": os.environ["PATH"], "PIPO_ENV_FILE": str(self.env_file)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"manage.sh {arguments} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout + done.stderr

    def prepare(self) -> None:
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")

    def start_worker(self, port: int) -> Worker:
        unit = ServiceUnit.parse(self.render("systemd/pipo@.service"), instance=str(port))
        log = self.root / "logs" / f"worker-{port}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            process = subprocess.Popen(
                unit.exec_start,
                cwd=unit.working_directory,
                env=unit.process_environment(),
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(port, process, log)
        wait_until(lambda: self._healthy(worker), f"worker {port} answering /healthz", 60)
        self.workers = [each for each in self.workers if each.port != port] + [worker]
        return worker

    def _healthy(self, worker: Worker) -> bool:
        if not worker.alive():
            raise AssertionError(f"worker {worker.port} exited:\n{worker.log_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=2)
            connection.request("GET", "/healthz", headers={"Host": DOMAIN})
            return connection.getresponse().status == 200
        except OSError:
            return False

    def start_nginx(self) -> Front:
        directory = self.nginx_dir
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "pipo.conf").write_text(self.render("nginx/pipo.conf"), encoding="utf-8")
        (directory / "nginx.conf").write_text(
            NGINX_MAIN.format(directory=directory), encoding="utf-8"
        )
        command = [
            shutil.which("nginx") or "/usr/sbin/nginx",
            "-p",
            str(directory),
            "-c",
            str(directory / "nginx.conf"),
            "-e",
            str(directory / "error.log"),
        ]
        tested = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
        assert tested.returncode == 0, tested.stderr
        assert "[warn]" not in tested.stderr, tested.stderr
        self.nginx = subprocess.Popen(
            [*command, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self._nginx_answers(), "nginx answering", 30)
        self.front = Front(self.https_port, self.nginx, directory / "error.log", self.environment())
        return self.front

    def _nginx_answers(self) -> bool:
        assert self.nginx is not None
        if self.nginx.poll() is not None:
            raise AssertionError(f"nginx exited: {self.nginx_error_log()}")
        try:
            answer = https_request(self.https_port, DOMAIN, "/healthz", ca=self.certificates.ca)
        except OSError:
            return False
        return answer.status == 200

    def boot(self) -> Front:
        self.prepare()
        for port in self.worker_ports:
            self.start_worker(port)
        return self.start_nginx()

    # -- what it did ------------------------------------------------------------

    def nginx_access_log(self) -> str:
        path = self.nginx_dir / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def nginx_error_log(self) -> str:
        path = self.nginx_dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker(self, port: int) -> Worker:
        return next(worker for worker in self.workers if worker.port == port)

    def relay_connects(self) -> dict[int, int]:
        return {worker.port: worker.relay_connects() for worker in self.workers}

    def query(self, sql: str, *parameters: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            return connection.execute(sql, parameters).fetchall()

    def stored_messages(self, room: str) -> list[tuple[int, str]]:
        rows = self.query(
            "SELECT m.seq, m.message_id FROM rooms_message m "
            "JOIN rooms_room r ON r.id = m.room_id WHERE r.room_id = %s ORDER BY m.seq",
            room,
        )
        return [(int(seq), str(message_id)) for seq, message_id in rows]

    # -- tear-down ----------------------------------------------------------------

    def stop_front_and_workers(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        for worker in self.workers:
            worker.stop()

    def keep_logs(self) -> None:
        """Copy the logs to test-artifacts/ (deploy-<name>-*.log)."""
        ARTIFACTS.mkdir(exist_ok=True)
        sources = [*(worker.log for worker in self.workers)]
        sources += [self.nginx_dir / "access.log", self.nginx_dir / "error.log"]
        for source in sources:
            if source.exists():
                shutil.copyfile(source, ARTIFACTS / f"deploy-{self.name}-{source.name}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.keep_logs()
        self.stop_front_and_workers()


def new_deployment(
    name: str, root: Path, certificates: Certificates, *, workers: int, **extra: str
) -> Deployment:
    """PostgreSQL and Redis of its own, an environment file; nothing running yet."""
    postgres = PostgresServer().start()
    redis = RedisServer().start()
    deployment = Deployment(
        name, root, certificates, postgres, redis, [free_port() for _ in range(workers)]
    )
    deployment.write_environment(**extra)
    return deployment


def tear_down(deployment: Deployment) -> None:
    deployment.close()
    deployment.redis.remove()
    deployment.postgres.stop()


def stored_file_path(deployment: Deployment, tenant_id: int, file_id: str) -> Path:
    return deployment.data_dir / "files" / str(tenant_id) / file_id


def access_lines(deployment: Deployment, pattern: str) -> list[re.Match[str]]:
    return list(re.finditer(pattern, deployment.nginx_access_log()))
