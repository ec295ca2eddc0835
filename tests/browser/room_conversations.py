"""Browser steps shared by the rooms acceptance tests (#5): three people in a
private room, waiting until clients hold a conversation, and comparing what
each client holds with the database."""

import asyncio
import time
from typing import Any

from playwright.async_api import Browser, Page, expect

from rooms.models import Message
from tests.browser.rooms_flows import (
    choose_room,
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    room_messages,
    send,
)
from tests.conftest import LiveServer

PEOPLE = ("ann", "bea", "cid")


async def three_in_a_private_room(
    browser: Browser, server: LiveServer, slug: str, opening: str
) -> tuple[dict[str, Page], str]:
    """ann founds `slug`, bea and cid join, ann makes a private room with both
    and says `opening`; every page shows the room. Returns the pages and the room id."""
    pages = {"ann": await found_open_workspace(browser, server, slug, "ann")}
    for name in PEOPLE[1:]:
        pages[name] = await join_open_workspace(browser, server, slug, name)
    for page in pages.values():
        await open_rooms(page, server, slug)
    assert await create_room(pages["ann"], "Private room", ["bea", "cid"]) == (
        "Private room with bea, cid"
    )
    await send(pages["ann"], opening)
    await expect(pages["ann"].locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    room = next(iter(await room_messages(pages["ann"])))
    await choose_room(pages["bea"], "Private room with ann, cid")
    await choose_room(pages["cid"], "Private room with ann, bea")
    for page in pages.values():
        await wait_until_held(page, room, [opening])
    return pages, room


async def wait_until_held(
    page: Page, room: str, texts: list[str], within_s: float = 30.0
) -> list[dict[str, Any]]:
    """Wait until `page` holds exactly the messages `texts` in `room` (any
    order), each acknowledged and decrypted; returns them in seq order."""
    deadline = time.monotonic() + within_s
    held: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        held = (await room_messages(page)).get(room, [])
        if sorted(entry["text"] or "" for entry in held) == sorted(texts) and all(
            entry["seq"] is not None and entry["state"] == "ok" for entry in held
        ):
            return held
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {len(texts)} messages {sorted(texts)}, holds {held}")


async def stored_messages(room: str) -> list[Message]:
    return [message async for message in Message.objects.filter(room__room_id=room).order_by("seq")]


async def assert_everyone_holds_the_stored_conversation(
    pages: dict[str, Page], room: str, texts: list[str]
) -> None:
    """Every client holds every message of `texts` exactly once, in the
    database's order: the same ids and seqs 1..N as the Message rows."""
    views = {name: await wait_until_held(page, room, texts, 90.0) for name, page in pages.items()}
    stored = await stored_messages(room)
    assert [row.seq for row in stored] == list(range(1, len(texts) + 1))
    expected = [(row.seq, row.message_id) for row in stored]
    assert len({row.message_id for row in stored}) == len(texts)
    for name, view in views.items():
        assert [(entry["seq"], entry["id"]) for entry in view] == expected, name
        assert sorted(entry["text"] for entry in view) == sorted(texts), name
    assert views["ann"] == views["bea"] == views["cid"]
