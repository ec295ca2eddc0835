"""Encrypted rooms survive a server restart and a Redis restart mid-conversation (#5).

Three people chat in a private room in real Chromium against a separately
started Daphne. Each sends messages without waiting for acks while the test
stops the server (or Redis) and starts it again; messages typed while the
server is down wait in the outbox. Afterwards every client holds every
message exactly once, in the order the database gave them, and readable.
"""

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.room_conversations import (
    assert_everyone_holds_the_stored_conversation,
    three_in_a_private_room,
)
from tests.browser.rooms_flows import room_messages, send
from tests.conftest import (
    ARTIFACTS,
    LiveServer,
    database_url_for_tests,
    start_live_server,
    wait_for_other_sessions_to_end,
)
from tests.services import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 8


def start_server(name: str, port: int | None = None, **overrides: str) -> LiveServer:
    return start_live_server(
        name,
        port=port,
        DATABASE_URL=database_url_for_tests(),
        PIPO_TEST_HOOKS="true",
        **overrides,
    )


@pytest.fixture
def own_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    """A Daphne of this test's own, which it may stop and start again."""
    server = start_server("rooms-restart-server")
    yield server
    server.stop()  # the restarted process: the test swaps it in
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()


async def say_round(pages: dict[str, Page], number: int) -> list[str]:
    """Everyone types one message at once (no waiting for acks); returns the texts."""
    texts = [f"{name} #{number}" for name in pages]
    await asyncio.gather(
        *(send(page, text) for page, text in zip(pages.values(), texts, strict=True))
    )
    return texts


async def wait_for_connection(pages: dict[str, Page], pattern: str, within_ms: int) -> None:
    for page in pages.values():
        await expect(page.locator("#app")).to_have_attribute(
            "data-connection", re.compile(pattern), timeout=within_ms
        )


async def pending_texts(page: Page, room: str) -> set[str]:
    held = (await room_messages(page)).get(room, [])
    return {entry["text"] for entry in held if entry["state"] == "pending"}


async def test_a_server_restart_mid_conversation_loses_and_doubles_nothing(
    own_server: LiveServer, browser: Browser
) -> None:
    server = own_server
    pages, room = await three_in_a_private_room(browser, server, "restarts", "ann: let us begin")
    texts = ["ann: let us begin"]
    for number in range(1, 4):
        texts += await say_round(pages, number)
    # The server goes down while the fourth round is being typed and sent.
    stopping = asyncio.create_task(asyncio.to_thread(server.stop))
    texts += await say_round(pages, 4)
    await stopping
    await wait_for_connection(pages, "^(disconnected|connecting)$", 20_000)

    # Typed while the server is down: shown as waiting, not lost.
    down = []
    for number in (5, 6):
        down += await say_round(pages, number)
    texts += down
    for name, page in pages.items():
        assert {text for text in down if text.startswith(name)} <= await pending_texts(page, room)
        await expect(page.locator(".chat__connection")).to_contain_text("waiting")
    await pages["bea"].screenshot(path=str(ARTIFACTS / "rooms-server-down.png"), full_page=True)

    # The same port again; the last rounds race the clients' reconnects.
    restarted = await asyncio.to_thread(start_server, "rooms-restart-server", server.port)
    server.process = restarted.process
    for number in range(7, ROUNDS + 1):
        texts += await say_round(pages, number)
    await wait_for_connection(pages, "^connected$", 60_000)

    assert len(texts) == 1 + 3 * ROUNDS
    await assert_everyone_holds_the_stored_conversation(pages, room, texts)
    for page in pages.values():
        await expect(page.locator(".message[data-state=ok]")).to_have_count(len(texts))
        await expect(page.locator(".message--pending")).to_have_count(0)
        await expect(page.locator(".chat__connection")).to_have_count(0)
    await pages["cid"].screenshot(
        path=str(ARTIFACTS / "rooms-server-restarted.png"), full_page=True
    )


@pytest.fixture
def redis_and_server(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[tuple[RedisServer, LiveServer]]:
    redis = RedisServer().start()
    server = start_server("rooms-redis-restart-server", REDIS_URL=redis.url)
    yield redis, server
    server.stop()
    redis.remove()
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()


async def test_a_redis_restart_mid_conversation_loses_and_doubles_nothing(
    redis_and_server: tuple[RedisServer, LiveServer], browser: Browser
) -> None:
    redis, server = redis_and_server
    pages, room = await three_in_a_private_room(browser, server, "redisrestart", "ann: hi all")
    texts = ["ann: hi all"]
    for number in range(1, 4):
        texts += await say_round(pages, number)
    stopping = asyncio.create_task(asyncio.to_thread(redis.stop))
    texts += await say_round(pages, 4)
    await stopping
    for number in (5, 6):
        texts += await say_round(pages, number)
    await asyncio.to_thread(redis.start)
    for number in range(7, ROUNDS + 1):
        texts += await say_round(pages, number)

    assert len(texts) == 1 + 3 * ROUNDS
    await assert_everyone_holds_the_stored_conversation(pages, room, texts)
    for page in pages.values():
        await expect(page.locator(".message[data-state=ok]")).to_have_count(len(texts))
        await expect(page.locator(".message--pending")).to_have_count(0)
    assert server.process.poll() is None
