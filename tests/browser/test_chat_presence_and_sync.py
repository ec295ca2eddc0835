"""Presence, typing, tabs in sync, joining, scrolling back and the offline queue (#6).

Real Chromium against live Daphne, PostgreSQL and Redis. Every check is on
what the other person (or the other tab) sees. The tab's visibility is
driven by an init script (Playwright's init scripts run under the page's
CSP), which also keeps the page's WebSockets at hand so that a test can drop
one when Chromium's offline mode leaves an open socket alive.
"""

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.rooms_flows import (
    HIDDEN_TAB,
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

HOOKS = """
(() => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Real {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""


async def two_people(browser: Browser, server: LiveServer, slug: str) -> tuple[Page, Page]:
    """ann founds `slug`, bea joins; both pages carry HOOKS and show /app/rooms."""
    ann = await found_open_workspace(browser, server, slug, "ann")
    bea = await join_open_workspace(browser, server, slug, "bea")
    for page in (ann, bea):
        await page.context.add_init_script(HIDDEN_TAB)
        await page.context.add_init_script(HOOKS)
        await open_rooms(page, server, slug)
    return ann, bea


def sidebar_item(page: Page, label: str) -> Any:
    return (
        page.get_by_role("navigation", name="Rooms")
        .locator(".room-list__item")
        .filter(has=page.locator(".room-list__label", has_text=re.compile(f"^{re.escape(label)}$")))
    )


def member_mark(page: Page, name: str) -> Any:
    """The presence mark after `name` in the open room's member line."""
    return (
        page.locator(".room__members > span")
        .filter(has_text=re.compile(f"^(, )?{re.escape(name)}\\b"))
        .locator(".presence")
    )


async def texts_in(page: Page, room: str) -> list[str]:
    return [entry["text"] for entry in (await room_messages(page)).get(room, [])]


async def the_room(page: Page) -> str:
    rooms = await room_messages(page)
    assert len(rooms) == 1, rooms
    return next(iter(rooms))


async def test_typing_and_presence_online_away_offline_as_the_other_person_sees_them(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann, bea = await two_people(browser, daphne_server, "presence")
    await create_room(ann, "Private room", ["bea"])
    # bea (re)connects after ann: ann is told she is online.
    await open_rooms(bea, daphne_server, "presence")
    await expect(member_mark(ann, "bea")).to_have_text(" (online)", timeout=20_000)
    await choose_room(bea, "Private room with ann")

    # bea types: ann sees it, and it goes after a few seconds.
    typing = ann.locator(".typing")
    await bea.get_by_label("Message", exact=True).press_sequentially("hel", delay=50)
    await expect(typing).to_have_text("bea is typing…", timeout=10_000)
    await expect(typing).to_have_text("", timeout=15_000)

    # bea's tab hidden (the delay shortened from 60 s): ann sees "(away)".
    await bea.evaluate("window.__pipoTest.setAwayDelay(300)")
    await bea.evaluate("window.__setHidden(true)")
    await expect(member_mark(ann, "bea")).to_have_text(" (away)", timeout=10_000)
    await bea.get_by_label("Message", exact=True).press_sequentially("lo there", delay=50)
    await expect(typing).to_have_text("bea is typing…", timeout=10_000)
    await ann.screenshot(path=str(ARTIFACTS / "chat-presence-away-typing.png"), full_page=True)

    # Visible again: online; the page closed: no mark at all.
    await bea.evaluate("window.__setHidden(false)")
    await expect(member_mark(ann, "bea")).to_have_text(" (online)", timeout=10_000)
    await bea.close()
    await expect(member_mark(ann, "bea")).to_have_count(0, timeout=10_000)
    await expect(ann.locator(".room__members")).to_contain_text("bea")


async def test_two_tabs_of_one_person_stay_in_sync(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann, tab1 = await two_people(browser, daphne_server, "tabs")
    tab2 = await tab1.context.new_page()
    await open_rooms(tab2, daphne_server, "tabs")
    await create_room(ann, "Private room", ["bea"])
    await create_room(ann, "Direct message", ["bea"])
    for tab in (tab1, tab2):
        await choose_room(tab, "Private room with ann")

    # Sent from tab 1: shown in tab 2 exactly once.
    await send(tab1, "from tab one")
    await expect(tab2.locator(".message", has_text="from tab one")).to_have_count(1, timeout=20_000)
    held = await room_messages(tab1)
    private = next(
        key for key, entries in held.items() if "from tab one" in [e["text"] for e in entries]
    )
    await wait_for_texts(tab2, private, ["from tab one"])
    await wait_for_texts(tab1, private, ["from tab one"])

    # ann writes in the direct message: unread in tab 2 (in another room) ...
    await expect(ann.locator(".room__title")).to_have_text("Direct message with bea")
    await send(ann, "psst, bea")
    direct2 = sidebar_item(tab2, "Direct message with ann")
    await expect(direct2.locator("[data-unread]")).to_have_attribute(
        "data-unread", "1", timeout=20_000
    )
    await expect(
        sidebar_item(tab1, "Direct message with ann").locator("[data-unread]")
    ).to_have_attribute("data-unread", "1", timeout=20_000)
    # ... and reading it in tab 1 clears it in tab 2 (the read marker).
    await choose_room(tab1, "Direct message with ann")
    await expect(tab1.get_by_text("psst, bea")).to_be_visible(timeout=20_000)
    await expect(direct2.locator("[data-unread]")).to_have_count(0, timeout=20_000)
    await expect(tab2.locator(".room__title")).to_have_text("Private room with ann")
    assert (await texts_in(tab2, private)) == ["from tab one"]


async def test_joining_a_public_channel(daphne_server: LiveServer, browser: Browser) -> None:
    ann, bea = await two_people(browser, daphne_server, "joining")
    label = await create_room(ann, "Channel", [])
    assert label.startswith("Channel ")
    await send(ann, "before bea")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    room = await the_room(ann)

    joinable = bea.locator(".chat__joinable")
    await expect(joinable.get_by_role("heading", name="Channels you can join")).to_be_visible(
        timeout=20_000
    )
    offer = joinable.locator(".room-list__join", has_text=room[:8])
    await expect(offer).to_have_count(1)
    await offer.get_by_role("button", name="Join").click()
    await expect(joinable.locator(".room-list__join", has_text=room[:8])).to_have_count(
        0, timeout=20_000
    )
    joined = bea.get_by_role("navigation", name="Rooms").locator(f'[data-room="{room}"]')
    await expect(joined).to_have_count(1, timeout=20_000)
    await joined.click()
    await expect(bea.locator(".room__title")).to_contain_text(room[:8], timeout=20_000)
    await expect(ann.locator(".room__members")).to_contain_text("bea", timeout=20_000)

    await send(ann, "after bea joined")
    await expect(bea.get_by_text("after bea joined")).to_be_visible(timeout=20_000)
    await send(bea, "hello channel")
    await expect(ann.get_by_text("hello channel")).to_be_visible(timeout=20_000)
    texts = await wait_for_texts(ann, room, ["before bea", "after bea joined", "hello channel"])
    assert [entry["seq"] for entry in texts] == [1, 2, 3]
    held = (await room_messages(bea)).get(room, [])
    assert [entry["text"] for entry in held][-2:] == ["after bea joined", "hello channel"]


async def test_scrolling_back_loads_older_pages_without_duplicates(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann, bea = await two_people(browser, daphne_server, "scrolling")
    await create_room(ann, "Private room", ["bea"])
    count = 62
    await ann.evaluate(
        """async (count) => {
          for (let i = 1; i <= count; i++) {
            const text = `m${String(i).padStart(2, "0")}`;
            await window.__pipoTest.sendContent({kind: "text", text});
          }
        }""",
        count,
    )
    room = await the_room(ann)
    expected = [f"m{i:02d}" for i in range(1, count + 1)]
    await wait_for_texts(ann, room, expected)

    # bea opens the room fresh: the newest page only.
    await open_rooms(bea, daphne_server, "scrolling")
    await choose_room(bea, "Private room with ann")
    await expect(bea.get_by_text("m62", exact=True)).to_be_visible(timeout=20_000)
    assert len(await texts_in(bea, room)) < count
    await expect(bea.get_by_text("m01", exact=True)).to_have_count(0)

    messages = bea.locator("ol.messages")
    await messages.hover()
    first = bea.get_by_text("m01", exact=True)
    for _ in range(40):
        await bea.mouse.wheel(0, -3000)
        await asyncio.sleep(0.25)
        if await first.count() > 0:
            # Loaded (the view stays where it was): scroll on up to it.
            for _ in range(10):
                await bea.mouse.wheel(0, -3000)
                await asyncio.sleep(0.1)
            break
    await expect(bea.get_by_text("m01", exact=True)).to_be_in_viewport(timeout=10_000)
    held = await wait_for_texts(bea, room, expected)
    ids = [entry["id"] for entry in held]
    assert len(ids) == len(set(ids)) == count
    assert [entry["seq"] for entry in held] == list(range(1, count + 1))
    await expect(bea.locator(".message")).to_have_count(count)


async def test_messages_sent_offline_wait_and_arrive_once_in_order(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann, bea = await two_people(browser, daphne_server, "offline")
    await create_room(ann, "Private room", ["bea"])
    await send(ann, "are you there?")
    await choose_room(bea, "Private room with ann")
    room = await the_room(ann)
    await wait_for_texts(bea, room, ["are you there?"])

    app = bea.locator("#app")
    await bea.context.set_offline(True)
    try:
        await expect(app).not_to_have_attribute("data-connection", "connected", timeout=3_000)
    except AssertionError:
        # Chromium keeps an open WebSocket alive while "offline": drop it; the
        # reconnects then fail until the context is back online.
        await bea.evaluate("window.__sockets.forEach((socket) => socket.close())")
        await expect(app).not_to_have_attribute("data-connection", "connected", timeout=10_000)
    await send(bea, "offline one")
    await send(bea, "offline two")
    await expect(bea.locator(".message--pending")).to_have_count(2)
    await expect(bea.locator(".chat__connection")).to_contain_text("2 waiting")
    await asyncio.sleep(1)
    assert await texts_in(ann, room) == ["are you there?"]

    await bea.context.set_offline(False)
    await expect(app).to_have_attribute("data-connection", "connected", timeout=45_000)
    wanted = ["are you there?", "offline one", "offline two"]
    await wait_for_texts(ann, room, wanted)
    await wait_for_texts(bea, room, wanted)
    await expect(bea.locator(".message--pending")).to_have_count(0)
    await expect(ann.locator(".message", has_text="offline one")).to_have_count(1)
    await expect(ann.locator(".message", has_text="offline two")).to_have_count(1)
    await asyncio.sleep(1)
    assert await texts_in(ann, room) == wanted
