"""Someone removed from a room, or from the workspace, reads nothing said afterwards (#5).

Three people chat in a private room; the owner removes cid (from the room in
its "Manage members" list, or from the workspace on the Members page) and
the other two keep talking. Asked through cid's own client, every envelope
stored after the removal (read straight from the database, as a server
operator or an attacker holding a dump would have it) fails to open, while
what cid was entitled to still reads.
"""

import re
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from rooms.models import ChainMember, EpochShare, Message, RoomEpoch, RoomMember
from tests.browser.room_conversations import (
    stored_messages,
    three_in_a_private_room,
    wait_until_held,
)
from tests.browser.rooms_flows import open_rooms, room_messages, send
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ["ann: welcome both", "bea: hi there", "cid: glad to be here"]
AFTER = ["ann: now that cid has gone", "bea: the plan for tomorrow", "ann: is just ours"]


async def try_open(page: Page, room: str, envelope: dict[str, Any]) -> dict[str, Any]:
    verdict: dict[str, Any] = await page.evaluate(
        "([room, envelope]) => window.__pipoTest.tryOpen(room, envelope)", [room, envelope]
    )
    return verdict


async def chat_before(pages: dict[str, Page], room: str) -> None:
    await send(pages["bea"], BEFORE[1])
    for page in pages.values():
        await wait_until_held(page, room, BEFORE[:2])
    await send(pages["cid"], BEFORE[2])
    for page in pages.values():
        await wait_until_held(page, room, BEFORE)


async def chat_after(pages: dict[str, Page], room: str) -> None:
    """ann and bea keep talking; each message waits for the previous one to arrive."""
    said: list[str] = []
    for text in AFTER:
        await send(pages[text.split(":")[0]], text)
        said.append(text)
        for name in ("ann", "bea"):
            await wait_until_held(pages[name], room, BEFORE + said)


async def assert_cid_reads_only_what_it_was_entitled_to(cid: Page, room: str, refused: int) -> None:
    rows = await stored_messages(room)
    assert [row.seq for row in rows] == list(range(1, len(BEFORE) + len(AFTER) + 1))
    before, after = rows[: len(BEFORE)], rows[len(BEFORE) :]
    assert sorted(row.sender for row in after) == ["ann", "ann", "bea"]
    # The epochs the later messages use were never sealed or shared to cid.
    for epoch in {row.epoch for row in after}:
        record = await RoomEpoch.objects.aget(room__room_id=room, epoch=epoch)
        assert set(record.record["sealed"]) == {"ann", "bea"}
        assert not await EpochShare.objects.filter(
            room__room_id=room, epoch=epoch, username="cid"
        ).aexists()

    for row in after:
        verdict = await try_open(cid, room, row.envelope)
        assert verdict["state"] == "failed", verdict
        assert verdict["text"] is None
    for row, text in zip(before, BEFORE, strict=True):
        verdict = await try_open(cid, room, row.envelope)
        assert verdict == {"state": "ok", "text": text, "code": None}

    # What cid's client holds: the earlier conversation, and nothing later.
    held = (await room_messages(cid)).get(room, [])
    assert [(entry["seq"], entry["text"], entry["state"]) for entry in held] == [
        (row.seq, text, "ok") for row, text in zip(before, BEFORE, strict=True)
    ]
    assert not {row.message_id for row in after} & {entry["id"] for entry in held}
    content = await cid.content()
    for text in AFTER:
        assert text not in content
    # The server refuses cid the room's history and epochs (404 in the workspace, 401 out of it).
    for path in ("messages", "epochs"):
        status = await cid.evaluate(
            "async (url) => (await fetch(url)).status", f"/api/rooms/{room}/{path}"
        )
        assert status == refused, path


async def test_someone_removed_from_a_room_cannot_read_what_follows(
    daphne_server: LiveServer, browser: Browser
) -> None:
    pages, room = await three_in_a_private_room(browser, daphne_server, "roomexit", BEFORE[0])
    await chat_before(pages, room)

    ann = pages["ann"]
    await ann.locator(".room__manage summary").filter(has_text="Manage members").click()
    await ann.get_by_role("button", name="Remove cid from the room").click()
    await expect(ann.locator(".room__title")).to_have_text("Private room with bea", timeout=20_000)
    assert not await RoomMember.objects.filter(room__room_id=room, username="cid").aexists()
    # cid's client follows the chain: the room is gone from its list.
    cid = pages["cid"]
    await expect(
        cid.get_by_role("navigation", name="Rooms").get_by_role(
            "button", name=re.compile("Private room with")
        )
    ).to_have_count(0, timeout=20_000)

    await chat_after(pages, room)
    await assert_cid_reads_only_what_it_was_entitled_to(cid, room, 404)
    await cid.screenshot(path=str(ARTIFACTS / "rooms-removed-from-room.png"), full_page=True)


async def test_someone_removed_from_the_workspace_cannot_read_what_follows(
    daphne_server: LiveServer, browser: Browser
) -> None:
    pages, room = await three_in_a_private_room(browser, daphne_server, "tenantexit", BEFORE[0])
    await chat_before(pages, room)

    ann = pages["ann"]
    await ann.goto(daphne_server.tenant_url("tenantexit") + "/app/members")
    await expect(ann.locator("#app")).to_have_attribute("data-chain", "verified", timeout=20_000)
    manage = ann.get_by_role("group", name="Manage cid")
    await manage.get_by_role("button", name="Remove cid").click()
    await manage.get_by_role("button", name="Confirm removal of cid").click()
    await expect(manage).to_have_count(0, timeout=20_000)
    assert not await ChainMember.objects.filter(tenant__slug="tenantexit", username="cid").aexists()
    cid = pages["cid"]
    # The server closed cid's socket (4403): it does not come back.
    await expect(cid.locator("#app")).not_to_have_attribute(
        "data-connection", "connected", timeout=20_000
    )

    await open_rooms(ann, daphne_server, "tenantexit")
    await (
        ann.get_by_role("navigation", name="Rooms")
        .get_by_role("button", name=re.compile("Private room with bea"))
        .click()
    )
    await wait_until_held(ann, room, BEFORE)
    await chat_after(pages, room)
    await assert_cid_reads_only_what_it_was_entitled_to(cid, room, 401)
    assert await Message.objects.filter(room__room_id=room, sender="cid").acount() == 1
    await cid.screenshot(path=str(ARTIFACTS / "rooms-removed-from-workspace.png"), full_page=True)
