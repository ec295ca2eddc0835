"""Sidebar, notifications and room settings in real Chromium (#6).

Three people: ann writes, bea watches her sidebar, title and desktop
notifications (captured by wrapping `window.Notification` in an init script:
Playwright's init scripts run even under the page's CSP, which forbids inline
scripts in the page itself), cid reads room settings and leaves a room.
"""

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from playwright.async_api import Browser, Page, expect

from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, sign_up
from tests.browser.rooms_flows import (
    HIDDEN_TAB,
    STRONG,
    choose_room,
    create_room,
    open_rooms,
    send,
)
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

SLUG = "sidebars"

# Records every notification instead of showing it.
CAPTURE = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  class Captured {
    constructor(title, options) {
      window.__notes.push({ title, body: (options && options.body) || "" });
      this.onclick = null;
    }
    close() {}
    static get permission() { return Real ? Real.permission : "denied"; }
    static requestPermission() { return Real.requestPermission(); }
  }
  window.Notification = Captured;
})();
"""


async def person(browser: Browser, server: LiveServer, name: str, fragment: str = "") -> Page:
    context = await browser.new_context()
    await context.grant_permissions(["notifications"], origin=server.tenant_url(SLUG))
    await context.add_init_script(HIDDEN_TAB)
    await context.add_init_script(CAPTURE)
    page = await context.new_page()
    await sign_up(page, server.tenant_url(SLUG), name, STRONG, fragment=fragment)
    await keep_recovery_code(page)
    await expect_signed_in(page, name)
    await expect(page.locator("#app")).to_have_attribute("data-chain", "verified", timeout=20_000)
    return page


async def notes(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await page.evaluate("window.__notes")
    return found


async def wait_for_notes(page: Page, count: int) -> list[dict[str, Any]]:
    """The notifications `page` showed, once there are `count` of them."""
    await page.wait_for_function("n => window.__notes.length >= n", arg=count, timeout=10_000)
    return await notes(page)


def sidebar_item(page: Page, label: str) -> Any:
    return (
        page.get_by_role("navigation", name="Rooms")
        .locator(".room-list__item")
        .filter(has=page.locator(".room-list__label", has_text=re.compile(f"^{re.escape(label)}$")))
    )


async def test_unread_mentions_mute_settings_and_leaving(
    daphne_server: LiveServer, browser: Browser
) -> None:
    out = StringIO()
    call_command("create_tenant", SLUG, "--name", "Sidebars", "--policy", "open", stdout=out)
    found = re.search(r"/signup(#e=[A-Za-z0-9_-]+)", out.getvalue())
    assert found is not None, out.getvalue()
    ann = await person(browser, daphne_server, "ann", found.group(1))
    bea = await person(browser, daphne_server, "bea")
    cid = await person(browser, daphne_server, "cid")
    for page in (ann, bea, cid):
        await open_rooms(page, daphne_server, SLUG)
    # The CSP forbids inline scripts, but the init script ran: the wrapper is there.
    assert await bea.evaluate("Array.isArray(window.__notes)")
    await expect(bea.get_by_text("Desktop notifications are on")).to_be_visible()
    base_title = await bea.title()
    assert base_title == "Sidebars · PiPo"

    # A private room for all three, then a direct message ann starts with bea.
    assert await create_room(ann, "Private room", ["bea", "cid"]) == "Private room with bea, cid"
    await send(ann, "welcome all")
    await expect(sidebar_item(bea, "Private room with ann, cid")).to_be_visible(timeout=20_000)
    await choose_room(bea, "Private room with ann, cid")
    await choose_room(cid, "Private room with ann, bea")
    await ann.get_by_role("button", name="Start a direct message").click()
    dm_form = ann.get_by_role("form", name="Start a direct message")
    await dm_form.get_by_label("Person").select_option("bea")
    await dm_form.get_by_role("button", name="Start").click()
    await expect(ann.locator(".room__title")).to_have_text(
        "Direct message with bea", timeout=20_000
    )
    direct = sidebar_item(bea, "Direct message with ann")
    await expect(direct).to_be_visible(timeout=20_000)
    await expect(bea.get_by_role("region", name="Direct messages")).to_be_visible()

    # Unread counts rise in a room bea is not looking at; a mention notifies and is counted.
    await send(ann, "first in the dm")
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=20_000)
    await expect(direct.locator("[data-unread]")).to_have_attribute(
        "data-unread", "1", timeout=20_000
    )
    await send(ann, "hey @bea, look at this")
    await expect(direct.locator("[data-unread]")).to_have_attribute(
        "data-unread", "2", timeout=20_000
    )
    await expect(direct.locator("[data-mentions]")).to_have_attribute("data-mentions", "1")
    titles = [note["title"] for note in await wait_for_notes(bea, 2)]
    assert titles == [
        "ann in Direct message with ann",
        "ann mentioned you in Direct message with ann",
    ]
    assert await notes(cid) == []
    await bea.get_by_role("navigation", name="Rooms").screenshot(
        path=str(ARTIFACTS / "sidebar-unread-mention.png")
    )

    # Opening the room clears the counts, marks where the new messages start
    # and highlights the mention.
    await direct.click()
    await expect(bea.locator(".room__title")).to_have_text("Direct message with ann")
    await expect(direct.locator("[data-unread]")).to_have_count(0)
    await expect(direct.locator("[data-mentions]")).to_have_count(0)
    new_line = bea.locator(".messages__new")
    await expect(new_line).to_have_text("New messages", timeout=20_000)
    await expect(new_line).to_be_in_viewport()
    await expect(bea.locator(".message .mention--me")).to_have_text("@bea", timeout=20_000)

    # bea mutes the private room and hides the tab: it stays quiet, the DM does not.
    await choose_room(bea, "Private room with ann, cid")
    await bea.get_by_role("button", name="Mute room").click()
    await expect(bea.get_by_role("button", name="Unmute room")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(
        sidebar_item(bea, "Private room with ann, cid").locator(".room-list__muted")
    ).to_be_visible()
    await choose_room(bea, "Direct message with ann")
    await bea.evaluate("window.__setHidden(true)")
    await choose_room(ann, "Private room with bea, cid")
    await send(ann, "quiet news for the room")
    muted_item = sidebar_item(bea, "Private room with ann, cid")
    await expect(muted_item.locator("[data-unread]")).to_have_attribute(
        "data-unread", "1", timeout=20_000
    )
    assert len(await notes(bea)) == 2
    assert await bea.title() == base_title
    await choose_room(ann, "Direct message with bea")
    await send(ann, "loud news in the dm")
    assert (await wait_for_notes(bea, 3))[-1] == {
        "title": "ann in Direct message with ann",
        "body": "loud news in the dm",
    }
    await expect(bea).to_have_title(f"(1) {base_title}")
    await bea.evaluate("window.__setHidden(false)")
    await expect(bea).to_have_title(base_title)

    # ann names the private room; bea and cid see the name instead of the member list.
    await choose_room(ann, "Private room with bea, cid")
    await ann.locator(".room__settings summary").click()
    settings = ann.get_by_role("form", name="Room settings")
    await settings.get_by_label("Room name").fill("Launch plans")
    await settings.get_by_label("Topic").fill("Ship it on Friday")
    await settings.get_by_role("button", name="Save settings").click()
    await expect(ann.locator(".room__title")).to_have_text("Launch plans", timeout=20_000)
    await expect(ann.locator(".room__history")).to_contain_text("cannot be changed")
    await ann.screenshot(path=str(ARTIFACTS / "room-settings.png"))
    await expect(cid.locator(".room__title")).to_have_text("Launch plans", timeout=20_000)
    await expect(cid.locator(".room__topic")).to_have_text("Ship it on Friday")
    await expect(sidebar_item(bea, "Launch plans")).to_be_visible(timeout=20_000)
    # cid is no admin of the room: no form, and the settings message is no message of the list.
    await cid.locator(".room__settings summary").click()
    await expect(cid.get_by_role("form", name="Room settings")).to_have_count(0)
    await expect(cid.locator(".message")).to_have_count(2)

    # cid leaves: the room disappears from cid's sidebar, and ann sees one member fewer.
    await cid.get_by_role("button", name="Leave room").click()
    await cid.get_by_role("button", name="Yes, leave the room").click()
    await expect(sidebar_item(cid, "Launch plans")).to_have_count(0, timeout=20_000)
    await expect(ann.locator(".room__members")).not_to_contain_text("cid", timeout=20_000)

    # Many new messages: opening the room shows where they start, and "Jump to latest" goes down.
    await choose_room(bea, "Launch plans")
    await choose_room(ann, "Direct message with bea")
    for number in range(14):
        await send(ann, f"catch-up line {number}\nwith a second line")
    await expect(direct.locator("[data-unread]")).to_have_attribute(
        "data-unread", "14", timeout=20_000
    )
    await direct.click()
    first_new = bea.locator(".messages__new + .message")
    await expect(first_new).to_contain_text("catch-up line 0", timeout=20_000)
    await expect(bea.locator(".messages__new")).to_be_in_viewport()
    jump = bea.get_by_role("button", name="Jump to latest")
    await expect(jump).to_be_visible()
    await bea.screenshot(path=str(ARTIFACTS / "new-messages-line.png"))
    await jump.click()
    await expect(bea.locator(".message").last).to_be_in_viewport()
    await expect(jump).to_have_count(0)
