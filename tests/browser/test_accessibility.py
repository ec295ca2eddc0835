"""Themes, small screens and accessibility in real Chromium against live
Daphne, PostgreSQL and Redis (#6).

axe-core (frontend/node_modules/axe-core, a devDependency) runs on the login
page, the chat view with messages, the thread panel and the room's settings,
in the light and the dark theme; no violation may be "serious" or
"critical". The theme switch (System / Light / Dark) is in the header on
every page, remembered in localStorage and applied as `data-theme` on <html>.
The chat view is screenshotted in light, dark and at 360 px wide.
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.browser.rooms_flows import (
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    send,
)
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SEEN = 20_000
NARROW: ViewportSize = {"width": 360, "height": 780}
WIDE: ViewportSize = {"width": 1280, "height": 900}

LONG_WORD = "Supercalifragilisticexpialidocious" * 4
MESSAGES = [
    "Hello bea 👋 — lunch at noon? 🍕🎉",
    f"A very long word that must wrap, not overflow: {LONG_WORD}",
    "Here is the fix:\n\n```python\ndef greet(name: str) -> str:\n"
    '    return f"Hello, {name}! This line is long enough to scroll sideways in its box."\n```',
    "Sounds good 👍 see you **there** with `inline code` and a [link](https://example.org/a/b).",
]


async def axe_serious(page: Page, what: str) -> list[dict[str, Any]]:
    """Run axe-core on the page; the violations of impact serious or critical."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluate() is not subject to the page's CSP (no script-src for it).
        await page.evaluate(AXE.read_text())
    result: dict[str, Any] = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [
                {"target": node["target"], "summary": node.get("failureSummary", "")}
                for node in violation["nodes"]
            ],
        }
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    if serious:
        print(f"axe violations on {what}:\n{json.dumps(serious, indent=2, ensure_ascii=False)}")
    return serious


async def choose_theme(page: Page, name: str) -> None:
    await page.get_by_label("Theme", exact=True).select_option(label=name)
    await expect(page.locator("html")).to_have_attribute("data-theme", name.lower())


async def assert_no_serious_violations(page: Page, what: str) -> None:
    for theme in ("Light", "Dark"):
        await choose_theme(page, theme)
        assert await axe_serious(page, f"{what} ({theme})") == [], f"{what} ({theme})"


async def assert_fits(page: Page, what: str) -> None:
    """Nothing sticks out sideways: no horizontal scrolling of the page."""
    widths: dict[str, int] = await page.evaluate(
        "({scroll: document.documentElement.scrollWidth, view: window.innerWidth})"
    )
    assert widths["scroll"] <= widths["view"], f"{what} is wider than the screen: {widths}"


async def assert_inside_screen(page: Page, selector: str) -> None:
    box = await page.locator(selector).first.bounding_box()
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert box is not None, selector
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width, (selector, box, width)


async def background_of(page: Page) -> str:
    color: str = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    return color


async def test_login_page_is_accessible_in_both_themes_and_at_360px(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann = await found_open_workspace(browser, daphne_server, "axelogin", "ann")
    await ann.close()
    context = await browser.new_context(viewport=NARROW)
    page = await context.new_page()
    await page.goto(daphne_server.tenant_url("axelogin") + "/login")
    await expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=SEEN)
    # Applied before the first render: System until one chooses.
    await expect(page.locator("html")).to_have_attribute("data-theme", "system")
    await assert_no_serious_violations(page, "the login page")
    await assert_fits(page, "the login page at 360 px")
    await assert_inside_screen(page, "form .button--primary")
    # The choice is remembered across loads; System follows the system again.
    await choose_theme(page, "Dark")
    dark = await background_of(page)
    await page.reload()
    await expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=SEEN)
    await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert await background_of(page) == dark
    await choose_theme(page, "Light")
    light = await background_of(page)
    assert light != dark
    await choose_theme(page, "System")
    await page.emulate_media(color_scheme="dark")
    assert await background_of(page) == dark
    await page.emulate_media(color_scheme="light")
    assert await background_of(page) == light
    await page.screenshot(path=str(ARTIFACTS / "login-360.png"), full_page=True)
    await context.close()


async def test_chat_thread_and_settings_are_accessible_in_both_themes_and_at_360px(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann = await found_open_workspace(browser, daphne_server, "axechat", "ann")
    bea = await join_open_workspace(browser, daphne_server, "axechat", "bea")
    await bea.close()
    await ann.set_viewport_size(WIDE)
    await open_rooms(ann, daphne_server, "axechat")
    await create_room(ann, "Private room", ["bea"])
    for text in MESSAGES:
        await send(ann, text)
    messages = ann.get_by_role("list", name="Messages").locator(".message[data-state=ok]")
    await expect(messages).to_have_count(len(MESSAGES), timeout=SEEN)

    # New messages are announced by a polite log, not by re-reading the list.
    log = ann.get_by_role("log")
    await expect(log).to_have_count(1)
    await expect(log.get_by_role("list", name="Messages")).to_have_count(1)
    assert await ann.get_by_role("list", name="Messages").get_attribute("aria-live") is None

    await assert_no_serious_violations(ann, "the chat view")
    await choose_theme(ann, "Light")
    await ann.screenshot(path=str(ARTIFACTS / "chat-light.png"), full_page=True)
    await choose_theme(ann, "Dark")
    await ann.screenshot(path=str(ARTIFACTS / "chat-dark.png"), full_page=True)

    # The thread panel (if this version has one).
    reply = messages.first.get_by_role("button", name="Reply in thread")
    if await reply.count() > 0:
        await messages.first.hover()
        await reply.click()
        panel = ann.get_by_role("complementary", name="Thread")
        await expect(panel).to_be_visible()
        await panel.get_by_label("Reply", exact=True).fill("A reply in the thread 🧵")
        await panel.get_by_label("Reply", exact=True).press("Enter")
        await expect(panel.locator(".message[data-state=ok]")).to_have_count(2, timeout=SEEN)
        await assert_no_serious_violations(ann, "the thread panel")
        await panel.get_by_role("button", name="Close thread").click()
        await expect(panel).to_have_count(0)
    else:
        print("no thread panel in this version: not checked")

    # The room's settings and member management (if this version has them): opened.
    summaries = ann.locator("details.room__settings > summary, details.room__manage > summary")
    opened = await summaries.count()
    for index in range(opened):
        await summaries.nth(index).click()
    if opened > 0:
        await assert_no_serious_violations(ann, "the room settings")
        for index in range(opened):
            await summaries.nth(index).click()
    else:
        print("no room settings in this version: not checked")

    # 360 px wide: everything fits, the composer is whole and usable.
    await ann.set_viewport_size(NARROW)
    await choose_theme(ann, "Light")
    await assert_fits(ann, "the chat view at 360 px")
    composer = ("#composer-text", ".composer button[type=submit]")
    for selector in (*composer, ".messages", ".room__title"):
        await assert_inside_screen(ann, selector)
    await assert_no_serious_violations(ann, "the chat view at 360 px")
    await choose_theme(ann, "Light")
    await ann.get_by_label("Message", exact=True).focus()
    await send(ann, "Sent from a small screen ✅")
    await expect(messages).to_have_count(len(MESSAGES) + 1, timeout=SEEN)
    await ann.screenshot(path=str(ARTIFACTS / "chat-360.png"), full_page=True)
    # The rooms list folds away above the room; its button opens and closes it.
    nav = ann.get_by_role("navigation", name="Rooms")
    toggle = ann.get_by_role("button", name="Show rooms")
    await expect(nav).to_be_hidden()
    await toggle.click()
    await expect(nav).to_be_visible()
    await expect(ann.get_by_role("button", name="Hide rooms")).to_have_attribute(
        "aria-expanded", "true"
    )
    await assert_fits(ann, "the open rooms list at 360 px")
    await ann.screenshot(path=str(ARTIFACTS / "chat-360-rooms.png"), full_page=True)
    await nav.get_by_role("button", name=re.compile("Private room with bea")).click()
    await expect(nav).to_be_hidden()
    await expect(toggle).to_have_attribute("aria-expanded", "false")
    await toggle.click()

    # The account page: the theme switch is there too, and it fits.
    await ann.get_by_role("link", name="Your account").click()
    await expect(ann.get_by_text("Signed in as ann")).to_be_visible(timeout=SEEN)
    await assert_fits(ann, "the account page at 360 px")
    await assert_no_serious_violations(ann, "the account page")
    await ann.screenshot(path=str(ARTIFACTS / "account-360-dark.png"), full_page=True)
    await ann.set_viewport_size(WIDE)
    await ann.get_by_role("link", name="Rooms").click()
    await expect(ann.get_by_role("heading", name="Rooms", exact=True)).to_be_visible(timeout=SEEN)
    await expect(ann.locator("html")).to_have_attribute("data-theme", "dark")


@pytest.fixture(autouse=True)
def _artifacts() -> None:
    ARTIFACTS.mkdir(exist_ok=True)
