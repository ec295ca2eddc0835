"""Encrypted rooms in real Chromium against live Daphne, PostgreSQL and Redis (#5).

Three people chat in a private room and two of them in a direct message;
every message reaches each member exactly once and in order, and a fourth
person who is in neither sees no room and gets 404 for its history.
"""

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.rooms_flows import (
    choose_room,
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    room_messages,
    send,
    wait_for_texts,
)
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)


async def room_id_of(page: Page) -> str:
    rooms = await room_messages(page)
    return next(iter(rooms))


async def test_three_people_chat_in_a_private_room_and_a_dm_exactly_once_in_order(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann = await found_open_workspace(browser, daphne_server, "wonka", "ann")
    bea = await join_open_workspace(browser, daphne_server, "wonka", "bea")
    cid = await join_open_workspace(browser, daphne_server, "wonka", "cid")
    dan = await join_open_workspace(browser, daphne_server, "wonka", "dan")
    for page in (ann, bea, cid, dan):
        await open_rooms(page, daphne_server, "wonka")

    label = await create_room(ann, "Private room", ["bea", "cid"])
    assert label == "Private room with bea, cid"
    await send(ann, "a1: hello both")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    room = await room_id_of(ann)

    await choose_room(bea, "Private room with ann, cid")
    await choose_room(cid, "Private room with ann, bea")
    script = [
        (bea, "b1: hi ann"),
        (cid, "c1: hello from cid"),
        (ann, "a2: 🎉 ünïcode & <b>not bold</b>"),
        (bea, "b2: second from bea"),
        (cid, "c2: and cid again"),
        (ann, "a3: last one"),
    ]
    for page, text in script:
        await send(page, text)
    expected = ["a1: hello both"] + [text for _page, text in script]
    # The server orders concurrent sends; every client must agree on one order.
    views: dict[str, list[dict[str, Any]]] = {}
    for name, page in (("ann", ann), ("bea", bea), ("cid", cid)):
        for _ in range(200):
            entries = (await room_messages(page)).get(room, [])
            if len(entries) == len(expected) and all(
                entry["seq"] is not None and entry["state"] == "ok" for entry in entries
            ):
                break
            await asyncio.sleep(0.1)
        views[name] = entries
    for name, entries in views.items():
        assert sorted(entry["text"] for entry in entries) == sorted(expected), name
        assert [entry["seq"] for entry in entries] == list(range(1, len(expected) + 1)), name
        assert len({entry["id"] for entry in entries}) == len(expected), name
    assert views["ann"] == views["bea"] == views["cid"]
    # Each person's own messages keep their order.
    for prefix in ("a", "b", "c"):
        own = [entry["text"] for entry in views["ann"] if entry["text"].startswith(prefix)]
        assert own == [text for text in expected if text.startswith(prefix)]
    await expect(bea.get_by_text("a2: 🎉 ünïcode & <b>not bold</b>")).to_be_visible()
    await bea.screenshot(path=str(ARTIFACTS / "rooms-private.png"), full_page=True)

    dm_label = await create_room(ann, "Direct message", ["bea"])
    assert dm_label == "Direct message with bea"
    await send(ann, "dm-1: just for bea")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    dm_room = next(key for key in await room_messages(ann) if key != room)
    await choose_room(bea, "Direct message with ann")
    await send(bea, "dm-2: got it")
    for page in (ann, bea):
        await wait_for_texts(page, dm_room, ["dm-1: just for bea", "dm-2: got it"])

    # cid is in the private room only; dan is in neither.
    assert dm_room not in await room_messages(cid)
    await expect(cid.get_by_role("button", name="Direct message with ann")).to_have_count(0)
    await expect(dan.get_by_text("You are in no room yet.")).to_be_visible()
    assert await room_messages(dan) == {}
    for target in (room, dm_room):
        for path in ("messages", "epochs"):
            status = await dan.evaluate(
                "async (url) => (await fetch(url)).status", f"/api/rooms/{target}/{path}"
            )
            assert status == 404, (target, path)
    status = await cid.evaluate(
        "async (url) => (await fetch(url)).status", f"/api/rooms/{dm_room}/messages"
    )
    assert status == 404
