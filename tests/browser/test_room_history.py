"""A room's history policy decides what someone added later can read (PROTOCOL.md §7.2).

In a room made with "Everything from the start", the next message after cid
joins makes a new epoch and hands cid the older epoch keys (signed shares),
so cid reads everything, including what its open page already showed as
"Sent before you joined". In a room made with "Only what comes after they
join", cid reads the new messages and sees "Sent before you joined" for the
earlier ones: never an error, never the text.
"""

import asyncio

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.rooms_flows import (
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    room_messages,
    send,
)
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)


async def make_room(page: Page, history_label: str) -> str:
    await page.get_by_role("button", name="New room").click()
    form = page.get_by_role("form", name="New room")
    await form.get_by_label("Private room", exact=True).check()
    await form.get_by_label("bea", exact=True).check()
    await form.get_by_label(history_label).check()
    await form.get_by_role("button", name="Create room").click()
    await expect(form).to_have_count(0, timeout=20_000)
    return await page.locator(".room__title").inner_text()


async def add_member(page: Page, name: str) -> None:
    await page.get_by_text("Room settings", exact=True).click()
    form = page.get_by_role("form", name="Add a member")
    await form.get_by_label("Add someone").select_option(name)
    await form.get_by_role("button", name="Add to the room").click()
    await expect(page.locator(".room__members")).to_contain_text(name, timeout=20_000)


async def held(page: Page, room: str, count: int) -> list[dict[str, object]]:
    for _ in range(300):
        entries = (await room_messages(page)).get(room, [])
        if len(entries) >= count and all(entry["seq"] is not None for entry in entries):
            return entries
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {count} messages in {room}, got {entries}")


@pytest.mark.parametrize(
    ("history_label", "cid_reads_the_past"),
    [("Everything from the start", True), ("Only what comes after they join", False)],
)
async def test_what_someone_added_later_reads_follows_the_signed_history_policy(
    daphne_server: LiveServer, browser: Browser, history_label: str, cid_reads_the_past: bool
) -> None:
    slug = "annals" if cid_reads_the_past else "sealed"
    ann = await found_open_workspace(browser, daphne_server, slug, "ann")
    bea = await join_open_workspace(browser, daphne_server, slug, "bea")
    cid = await join_open_workspace(browser, daphne_server, slug, "cid")
    for page in (ann, bea, cid):
        await open_rooms(page, daphne_server, slug)
    await make_room(ann, history_label)
    await send(ann, "before-1: only ann and bea")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    room = next(iter(await room_messages(ann)))
    await send(ann, "before-2: still before cid")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(2, timeout=20_000)

    await add_member(ann, "cid")
    # cid opens the room at once: the earlier messages are there, but no key
    # for them has been handed to cid yet (it comes with ann's next message).
    await (
        cid.get_by_role("navigation", name="Rooms")
        .get_by_role("button", name="Private room with ann, bea")
        .click()
    )
    early = await held(cid, room, 2)
    assert [entry["state"] for entry in early] == ["before_joined", "before_joined"], early
    await send(ann, "after-1: welcome cid")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(3, timeout=20_000)
    entries = await held(cid, room, 3)
    by_text = {entry["text"]: entry["state"] for entry in entries}
    assert by_text.get("after-1: welcome cid") == "ok"
    if cid_reads_the_past:
        # The older epoch reaches cid as a signed share: the past is readable.
        for _ in range(200):
            entries = (await room_messages(cid)).get(room, [])
            if all(entry["state"] == "ok" for entry in entries):
                break
            await asyncio.sleep(0.1)
        assert [entry["text"] for entry in entries] == [
            "before-1: only ann and bea",
            "before-2: still before cid",
            "after-1: welcome cid",
        ]
        assert all(entry["state"] == "ok" for entry in entries)
    else:
        states = [entry["state"] for entry in entries]
        assert states == ["before_joined", "before_joined", "ok"], entries
        assert [entry["text"] for entry in entries][:2] == [None, None]
        await expect(cid.get_by_text("Sent before you joined this room.")).to_have_count(2)
        await expect(cid.get_by_text("before-1: only ann and bea")).to_have_count(0)
        await cid.screenshot(path=str(ARTIFACTS / "room-history-joined.png"))
    # Nothing is ever shown as a missing key.
    assert not any(entry["state"] == "failed" for entry in entries)
