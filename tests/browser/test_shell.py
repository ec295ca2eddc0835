"""The shell page in Debian's Chromium against a live Daphne, as a person opens it."""

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.conftest import (
    ARTIFACTS,
    LiveServer,
    PageProblems,
    database_url_for_tests,
    start_live_server,
)


async def test_the_shell_boots_with_crypto_ready_and_a_live_websocket(
    daphne_server: LiveServer, page: tuple[Page, PageProblems], acme: Any
) -> None:
    browser_page, problems = page
    response = await browser_page.goto(daphne_server.tenant_url("acme") + "/login")
    assert response is not None
    assert response.status == 200

    root = browser_page.locator("#app")
    await expect(root).to_have_attribute("data-crypto", "ready", timeout=15_000)
    await expect(root).to_have_attribute("data-connection", "connected", timeout=15_000)
    # The client pinged over the websocket and the relay answered.
    await expect(root).to_have_attribute("data-pongs", re.compile(r"^[1-9][0-9]*$"))

    # What a person sees: the product name, and a status that says connected.
    await expect(browser_page.get_by_role("heading", name="Acme")).to_be_visible()
    await expect(browser_page.get_by_role("status")).to_contain_text("Connected")
    await expect(browser_page.get_by_text("End-to-end encryption ready")).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    await browser_page.screenshot(path=str(ARTIFACTS / "shell.png"), full_page=True)

    assert problems.console_errors == []
    assert problems.page_errors == []
    assert await problems.csp_violations(browser_page) == []


@pytest.mark.django_db(transaction=True)
async def test_the_shell_says_offline_when_the_server_goes_away_and_reconnects(
    page: tuple[Page, PageProblems], acme: Any
) -> None:
    browser_page, problems = page
    server = start_live_server("restarted-server", DATABASE_URL=database_url_for_tests())
    try:
        await browser_page.goto(server.tenant_url("acme") + "/login")
        root = browser_page.locator("#app")
        await expect(root).to_have_attribute("data-connection", "connected", timeout=15_000)
        server.stop()
        await expect(root).to_have_attribute("data-connection", "disconnected", timeout=15_000)
        await expect(browser_page.get_by_role("status")).to_contain_text("Offline")
        await browser_page.screenshot(path=str(ARTIFACTS / "shell-offline.png"))
        server = start_live_server(
            "restarted-server", port=server.port, DATABASE_URL=database_url_for_tests()
        )
        await expect(root).to_have_attribute("data-connection", "connected", timeout=40_000)
        await expect(browser_page.get_by_role("status")).to_contain_text("Connected")
    finally:
        server.stop()
    assert problems.page_errors == []
