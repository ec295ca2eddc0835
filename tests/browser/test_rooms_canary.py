"""What a person writes in a room is nowhere on the server in the clear (#5).

A browser session makes a room and sends a unique canary string; afterwards a
dump of the PostgreSQL database, every file under the live server's DATA_DIR,
the server's log (at DEBUG) and a Redis dump contain the canary in no usual
spelling, while the message itself is stored (as ciphertext).
"""

import uuid
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

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
from tests.browser.server_inspection import (
    assert_nowhere,
    data_dir_files,
    database_dump,
    redis_dump,
)
from tests.conftest import LiveServer
from tests.services import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


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

    dump = await database_dump()
    # The dump is real: it holds the room's stored envelope.
    assert room.encode() in dump
    assert stored[0].envelope["ciphertext"].encode() in dump

    files = data_dir_files(data_dir)
    assert files, "the live server wrote nothing under its DATA_DIR"
    log = server.log.read_bytes()
    assert b"/api/" in log  # the log is real: it has the session's requests
    assert_nowhere(
        canary,
        {"database dump": dump, "server log": log, "redis dump": redis_dump(redis), **files},
    )
