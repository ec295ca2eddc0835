"""Edit, delete, reactions and threads in real Chromium against live Daphne,
PostgreSQL and Redis (#6). Everything is an encrypted envelope (PROTOCOL.md
§7.4); each step is checked on another person's screen.
"""

import asyncio
import re
import time
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser.room_conversations import three_in_a_private_room
from tests.browser.rooms_flows import room_messages, send
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

SEEN = 20_000


def in_room(page: Page, text: str) -> Locator:
    """The message of the room's main list that shows `text`."""
    return page.get_by_role("list", name="Messages").locator(".message", has_text=text)


def thread_panel(page: Page) -> Locator:
    return page.get_by_role("complementary", name="Thread")


async def wait_for_entry(page: Page, room: str, **fields: Any) -> dict[str, Any]:
    """Wait until `page` holds an acknowledged envelope of `room` with these fields."""
    deadline = time.monotonic() + 30
    held: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        held = (await room_messages(page)).get(room, [])
        for entry in held:
            if entry["seq"] is not None and all(entry.get(k) == v for k, v in fields.items()):
                return entry
        await asyncio.sleep(0.2)
    raise AssertionError(f"no entry with {fields} in {held}")


async def test_edit_delete_react_and_reply_in_threads_show_for_everyone(
    daphne_server: LiveServer, browser: Browser
) -> None:
    pages, room = await three_in_a_private_room(browser, daphne_server, "actions", "a1: hello both")
    ann, bea, cid = pages["ann"], pages["bea"], pages["cid"]

    # --- Up edits one's last message; Esc cancels; Enter saves ---------------------------
    await send(ann, "a2: see you at noen")
    await expect(in_room(bea, "a2: see you at noen")).to_be_visible(timeout=SEEN)
    composer = ann.get_by_label("Message", exact=True)
    await composer.focus()
    await composer.press("ArrowUp")
    editor = ann.get_by_role("textbox", name="Edit message")
    await expect(editor).to_be_focused()
    await expect(editor).to_have_value("a2: see you at noen")
    await editor.press("Escape")
    await expect(editor).to_have_count(0)
    await expect(composer).to_be_focused()
    await expect(in_room(ann, "a2: see you at noen")).not_to_have_attribute("data-edited", "true")
    await composer.press("ArrowUp")
    await ann.screenshot(path=str(ARTIFACTS / "message-actions-editing.png"))
    await editor.fill("a2: see you at noon")
    await editor.press("Enter")
    await expect(editor).to_have_count(0)
    for page in (bea, cid):
        edited = in_room(page, "a2: see you at noon")
        await expect(edited).to_be_visible(timeout=SEEN)
        await expect(edited).to_contain_text("edited")
        await expect(edited).to_have_attribute("data-edited", "true")
        await expect(page.get_by_text("noen")).to_have_count(0)

    # --- An edit or delete of ann's message by someone else is ignored by everyone -------
    target = (await wait_for_entry(ann, room, text="a2: see you at noen", kind="text"))["id"]
    await bea.evaluate(
        "(target) => window.__pipoTest.sendContent("
        "{kind: 'edit', target, text: 'a2: forged by bea'})",
        target,
    )
    await cid.evaluate(
        "(target) => window.__pipoTest.sendContent({kind: 'delete', target})", target
    )
    for page in (ann, bea, cid):
        await wait_for_entry(page, room, kind="edit", text="a2: forged by bea", target=target)
        await wait_for_entry(page, room, kind="delete", target=target)
        await expect(in_room(page, "a2: see you at noon")).to_be_visible()
        await expect(page.get_by_text("forged by bea")).to_have_count(0)
    # The other members' own buttons do not offer to edit ann's message.
    await expect(
        in_room(bea, "a2: see you at noon").get_by_role("button", name="Edit message")
    ).to_have_count(0)

    # --- Reactions: counts and who, for the other person --------------------------------
    await in_room(bea, "a1: hello both").get_by_role("button", name="React with 👍").click()
    await in_room(cid, "a1: hello both").get_by_role("button", name="React with 👍").click()
    await in_room(cid, "a1: hello both").get_by_role("button", name="React with 🎉").click()
    thumbs = in_room(ann, "a1: hello both").locator(".reaction[data-emoji='👍']")
    await expect(thumbs).to_have_attribute("data-count", "2", timeout=SEEN)
    await expect(thumbs).to_have_attribute("aria-label", "👍 2 reactions by bea, cid")
    await expect(thumbs).to_have_attribute("aria-pressed", "false")
    await expect(
        in_room(ann, "a1: hello both").locator(".reaction[data-emoji='🎉']")
    ).to_have_attribute("data-count", "1", timeout=SEEN)
    # bea takes hers back by clicking her reaction; ann adds one with the chip.
    await in_room(bea, "a1: hello both").locator(".reaction[data-emoji='👍']").click()
    await expect(thumbs).to_have_attribute("aria-label", "👍 1 reaction by cid", timeout=SEEN)
    await thumbs.click()
    cid_thumbs = in_room(cid, "a1: hello both").locator(".reaction[data-emoji='👍']")
    await expect(cid_thumbs).to_have_attribute(
        "aria-label", "👍 2 reactions by cid, ann", timeout=SEEN
    )
    await expect(cid_thumbs).to_have_attribute("aria-pressed", "true")

    # --- A thread: replies are in the panel, the room shows only their count -------------
    await in_room(bea, "a1: hello both").get_by_role("button", name="Reply in thread").click()
    panel = thread_panel(bea)
    await expect(panel).to_be_visible()
    await expect(panel.get_by_label("Reply", exact=True)).to_be_focused()
    await panel.get_by_label("Reply", exact=True).fill("t1: a reply in the thread")
    await panel.get_by_label("Reply", exact=True).press("Enter")
    await expect(
        panel.get_by_role("list", name="Replies").get_by_text("t1: a reply in the thread")
    ).to_be_visible(timeout=SEEN)
    # Up in the empty reply box edits one's last reply; Esc gives the box back.
    await panel.get_by_label("Reply", exact=True).press("ArrowUp")
    reply_editor = panel.get_by_role("textbox", name="Edit message")
    await expect(reply_editor).to_be_focused()
    await expect(reply_editor).to_have_value("t1: a reply in the thread")
    await reply_editor.press("Escape")
    await expect(panel.get_by_label("Reply", exact=True)).to_be_focused()
    count = in_room(cid, "a1: hello both").get_by_role("button", name="1 reply")
    await expect(count).to_be_visible(timeout=SEEN)
    await expect(cid.get_by_role("list", name="Messages")).not_to_contain_text("t1: a reply")
    await count.click()
    await expect(
        thread_panel(cid)
        .get_by_role("list", name="Replies")
        .get_by_text("t1: a reply in the thread")
    ).to_be_visible()
    await thread_panel(cid).get_by_label("Reply", exact=True).fill("t2: and one from cid")
    await thread_panel(cid).get_by_label("Reply", exact=True).press("Enter")
    await expect(
        in_room(ann, "a1: hello both").get_by_role("button", name="2 replies")
    ).to_be_visible(timeout=SEEN)
    await expect(panel.get_by_role("list", name="Replies").locator(".message")).to_have_count(
        2, timeout=SEEN
    )
    await in_room(ann, "a1: hello both").get_by_role("button", name="2 replies").click()
    ann_panel = thread_panel(ann)
    await expect(ann_panel.get_by_role("list", name="Replies")).to_contain_text(
        "t1: a reply in the thread"
    )
    await expect(ann_panel.get_by_role("list", name="Replies")).to_contain_text(
        "t2: and one from cid"
    )
    await expect(ann.get_by_role("list", name="Messages")).not_to_contain_text("t2:")

    # --- Delete: gone for everyone ------------------------------------------------------
    await send(cid, "c1: this one goes away")
    await expect(in_room(ann, "c1: this one goes away")).to_be_visible(timeout=SEEN)
    await expect(in_room(bea, "c1: this one goes away")).to_be_visible(timeout=SEEN)
    mine = in_room(cid, "c1: this one goes away")
    await mine.get_by_role("button", name="Delete message").click()
    await mine.get_by_role("button", name="Delete", exact=True).click()
    for page in (ann, bea, cid):
        await expect(in_room(page, "c1: this one goes away")).to_have_count(0, timeout=SEEN)

    # --- Keyboard: the actions are in the tab order, shown and outlined when focused -------
    await ann.get_by_label("Message", exact=True).focus()
    await ann.keyboard.press("Shift+Tab")
    delete = in_room(ann, "a2: see you at noon").get_by_role("button", name="Delete message")
    await expect(delete).to_be_focused()
    await ann.wait_for_timeout(400)
    assert await delete.evaluate("(el) => getComputedStyle(el).outlineStyle") == "solid"
    assert await delete.evaluate("(el) => getComputedStyle(el.parentElement).opacity") == "1"
    await ann.keyboard.press("Shift+Tab")
    await expect(
        in_room(ann, "a2: see you at noon").get_by_role("button", name="Edit message")
    ).to_be_focused()
    await ann.keyboard.press("Enter")
    await expect(ann.get_by_role("textbox", name="Edit message")).to_be_focused()
    await ann.keyboard.press("Escape")
    await expect(ann.get_by_label("Message", exact=True)).to_be_focused()

    # --- Screenshots: reactions, "edited", the reply count, and the thread panel ----------
    await expect(ann.locator(".message[data-state=pending]")).to_have_count(0)
    await ann.mouse.move(0, 0)
    await ann.wait_for_timeout(400)  # the hover toolbar fades out
    await ann.screenshot(path=str(ARTIFACTS / "message-actions-room.png"), full_page=True)
    await ann_panel.screenshot(path=str(ARTIFACTS / "message-actions-thread.png"))
    await in_room(ann, "a2: see you at noon").hover()
    await ann.wait_for_timeout(400)
    await ann.screenshot(path=str(ARTIFACTS / "message-actions-hover.png"))
    assert re.search(r"2 replies", await in_room(ann, "a1: hello both").inner_text())
