"""Browser steps for rooms: found a workspace, sign people up, make rooms, chat."""

import asyncio
import re
from io import StringIO
from typing import Any

from django.core.management import call_command
from playwright.async_api import Browser, Page, expect

from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, sign_up
from tests.conftest import LiveServer

STRONG = "a long and private passphrase"


async def new_page(browser: Browser) -> Page:
    return await (await browser.new_context()).new_page()


async def found_open_workspace(browser: Browser, server: LiveServer, slug: str, root: str) -> Page:
    """`create_tenant --policy open`, and `root` founds it in a browser."""
    out = StringIO()
    call_command("create_tenant", slug, "--name", slug.title(), "--policy", "open", stdout=out)
    found = re.search(r"/signup(#e=[A-Za-z0-9_-]+)", out.getvalue())
    assert found is not None, out.getvalue()
    page = await new_page(browser)
    await sign_up(page, server.tenant_url(slug), root, STRONG, fragment=found.group(1))
    await keep_recovery_code(page)
    await expect_signed_in(page, root)
    await expect(page.locator("#app")).to_have_attribute("data-chain", "verified", timeout=20_000)
    return page


async def join_open_workspace(browser: Browser, server: LiveServer, slug: str, name: str) -> Page:
    page = await new_page(browser)
    await sign_up(page, server.tenant_url(slug), name, STRONG)
    await keep_recovery_code(page)
    await expect_signed_in(page, name)
    await expect(page.locator("#app")).to_have_attribute("data-chain", "verified", timeout=20_000)
    return page


async def open_rooms(page: Page, server: LiveServer, slug: str) -> None:
    await page.goto(server.tenant_url(slug) + "/app/rooms")
    await expect(page.get_by_role("heading", name="Rooms", exact=True)).to_be_visible(
        timeout=20_000
    )
    await expect(page.locator("#app")).to_have_attribute(
        "data-connection", "connected", timeout=20_000
    )


async def create_room(page: Page, kind: str, people: list[str]) -> str:
    """Make a room on /app/rooms; returns its label as the sidebar shows it."""
    await page.get_by_role("button", name="New room").click()
    form = page.get_by_role("form", name="New room")
    await form.get_by_label(kind, exact=True).check()
    for person in people:
        await form.get_by_label(person, exact=True).check()
    await form.get_by_role("button", name="Create room").click()
    await expect(form).to_have_count(0, timeout=20_000)
    heading = page.locator(".room__title")
    await expect(heading).to_be_visible()
    return await heading.inner_text()


async def choose_room(page: Page, label: str) -> None:
    await (
        page.get_by_role("navigation", name="Rooms")
        .get_by_role("button", name=re.compile(re.escape(label)))
        .click()
    )
    await expect(page.locator(".room__title")).to_have_text(label, timeout=20_000)


async def send(page: Page, text: str) -> None:
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


async def room_messages(page: Page) -> dict[str, list[dict[str, Any]]]:
    result: dict[str, list[dict[str, Any]]] = await page.evaluate(
        "window.__pipoTest.roomMessages()"
    )
    return result


async def wait_for_texts(page: Page, room: str, texts: list[str]) -> list[dict[str, Any]]:
    """Wait until `page` holds exactly `texts` in `room`, all acknowledged, and return them."""
    held: list[dict[str, Any]] = []
    for _ in range(300):
        held = (await room_messages(page)).get(room, [])
        if [entry["text"] for entry in held] == texts and all(
            entry["seq"] is not None and entry["state"] == "ok" for entry in held
        ):
            return held
        await asyncio.sleep(0.1)
    raise AssertionError(f"expected {texts}, holds {held}")


# An init script that lets a test hide and show the tab: `window.__setHidden(true)`
# makes `document.hidden` true and fires `visibilitychange`, as switching tabs does.
HIDDEN_TAB = """
(() => {
  window.__hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true,
    get: () => (window.__hidden ? "hidden" : "visible"),
  });
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true,
    get: () => window.__hidden,
  });
  window.__setHidden = (hidden) => {
    window.__hidden = hidden;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""
