"""Looking for a secret everywhere the server keeps things: its database, its
DATA_DIR, its log and its Redis (the canary tests of #5 and #7)."""

import asyncio
import base64
import socket
import subprocess
from pathlib import Path

from protocol import b64u_encode
from tests.conftest import (
    database_url_for_tests,
)
from tests.services import RedisServer


def spellings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        raw.hex().encode(),
        b64u_encode(raw).encode(),
        base64.b64encode(raw).rstrip(b"="),
        secret.encode("utf-16-le"),
    ]


def redis_dump(redis: RedisServer) -> bytes:
    """SAVE, then the RDB file Redis wrote into its directory."""
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as connection:
        connection.sendall(b"SAVE\r\n")
        assert connection.recv(64).startswith(b"+OK")
    return (redis.directory.path / "dump.rdb").read_bytes()


async def database_dump() -> bytes:
    dumped = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "--data-only", "--inserts", database_url_for_tests()],
        capture_output=True,
        check=True,
    )
    return dumped.stdout


def assert_nowhere(secret: str, places: dict[str, bytes]) -> None:
    for where, content in places.items():
        for spelling in spellings(secret):
            assert spelling not in content, f"the canary ({spelling!r}) is in the {where}"


def data_dir_files(data_dir: Path) -> dict[str, bytes]:
    return {
        f"DATA_DIR/{path.relative_to(data_dir)}": path.read_bytes()
        for path in data_dir.rglob("*")
        if path.is_file()
    }
