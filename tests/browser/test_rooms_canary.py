"""What a person writes in a room is nowhere on the server in the clear (#5).

A browser session makes a room and sends a unique canary string; afterwards a
dump of the PostgreSQL database, every file under the live server's DATA_DIR,
the server's log (at DEBUG) and a Redis dump contain the canary in no usual
spelling, while the message itself is stored (as ciphertext).
"""

import asyncio
import base64
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from protocol import b64u_encode
from rooms.models import Message
from tests.browser.room_conversations import stored_messages, wait_until_held
from tests.browser.rooms_flows import (
    choose_room,
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    room_messages,
    send,
)
from tests.conftest import (
    LiveServer,
    database_url_for_tests,
    start_live_server,
    wait_for_other_sessions_to_end,
)
from tests.services import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


def spellings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        raw.hex().encode(),
        b64u_encode(raw).encode(),
        base64.b64encode(raw).rstrip(b"="),
        secret.encode("utf-16-le"),
    ]


@pytest.fixture
def watched(
    django_db_setup: None, django_db_blocker: Any, tmp_path: Path
) -> Iterator[tuple[LiveServer, RedisServer, Path]]:
    """A live server with its own DATA_DIR, log and Redis, logging everything it can."""
    data_dir = tmp_path / "data"
    redis = RedisServer().start()
    log_name = f"canary-server-{uuid.uuid4().hex[:8]}"
    server = start_live_server(
        log_name,
        DATABASE_URL=database_url_for_tests(),
        REDIS_URL=redis.url,
        DATA_DIR=str(data_dir),
        LOG_LEVEL="DEBUG",
        PIPO_TEST_HOOKS="true",
    )
    yield server, redis, data_dir
    server.stop()
    redis.remove()
    server.log.unlink(missing_ok=True)
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()


def redis_dump(redis: RedisServer) -> bytes:
    """SAVE, then the RDB file Redis wrote into its directory."""
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as connection:
        connection.sendall(b"SAVE\r\n")
        assert connection.recv(64).startswith(b"+OK")
    return (redis.directory.path / "dump.rdb").read_bytes()


async def test_the_canary_is_nowhere_on_the_server(
    watched: tuple[LiveServer, RedisServer, Path], browser: Browser
) -> None:
    server, redis, data_dir = watched
    canary = f"canary-{uuid.uuid4().hex}"
    ann = await found_open_workspace(browser, server, "canary", "ann")
    bea = await join_open_workspace(browser, server, "canary", "bea")
    for page in (ann, bea):
        await open_rooms(page, server, "canary")
    await create_room(ann, "Private room", ["bea"])
    await send(ann, f"the word is {canary}")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    room = next(iter(await room_messages(ann)))
    await choose_room(bea, "Private room with ann")
    await wait_until_held(bea, room, [f"the word is {canary}"])
    await expect(bea.get_by_text(canary)).to_be_visible()
    stored = await stored_messages(room)
    assert len(stored) == 1
    assert await Message.objects.filter(room__room_id=room).acount() == 1

    dumped = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "--data-only", "--inserts", database_url_for_tests()],
        capture_output=True,
        check=True,
    )
    dump = dumped.stdout
    # The dump is real: it holds the room's stored envelope.
    assert room.encode() in dump
    assert stored[0].envelope["ciphertext"].encode() in dump

    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert files, "the live server wrote nothing under its DATA_DIR"
    log = server.log.read_bytes()
    assert b"/api/" in log  # the log is real: it has the session's requests
    places = {"database dump": dump, "server log": log, "redis dump": redis_dump(redis)}
    places.update({f"DATA_DIR/{path.relative_to(data_dir)}": path.read_bytes() for path in files})
    for where, content in places.items():
        for spelling in spellings(canary):
            assert spelling not in content, f"the canary ({spelling!r}) is in the {where}"
