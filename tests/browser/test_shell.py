"""The shell page in Debian's Chromium against a live Daphne, as a person opens it."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.async_api import Page, expect

from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, sign_up
from tests.conftest import (
    ARTIFACTS,
    LiveServer,
    PageProblems,
    database_url_for_tests,
    start_live_server,
)
from tests.people import PASSWORD


def found_demo() -> None:
    """The trust-on-first-use demo workspace of `make run`: its first account founds it."""
    call_command(
        "create_tenant", "demo", "--name", "Demo", "--policy", "open",
        "--first-user-becomes-owner", stdout=StringIO(),
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
async def test_the_shell_boots_with_crypto_ready_and_a_live_websocket(
    daphne_server: LiveServer, page: tuple[Page, PageProblems]
) -> None:
    found_demo()
    browser_page, problems = page
    response = await browser_page.goto(daphne_server.tenant_url("demo") + "/login")
    assert response is not None
    assert response.status == 200

    root = browser_page.locator("#app")
    await expect(root).to_have_attribute("data-crypto", "ready", timeout=15_000)
    # Signed out, nobody may use the relay: the page does not even try.
    await expect(root).to_have_attribute("data-connection", "idle")
    await expect(browser_page.get_by_role("heading", name="Demo")).to_be_visible()
    await expect(browser_page.get_by_text("Offline")).to_have_count(0)

    await sign_up(browser_page, daphne_server.tenant_url("demo"), "first", PASSWORD)
    await keep_recovery_code(browser_page)
    await expect_signed_in(browser_page, "first")
    await expect(root).to_have_attribute("data-connection", "connected", timeout=15_000)
    # The client pinged over the websocket and the relay answered.
    await expect(root).to_have_attribute("data-pongs", re.compile(r"^[1-9][0-9]*$"))
    await expect(browser_page.get_by_role("status").filter(has_text="Connected")).to_be_visible()
    await expect(browser_page.get_by_text("End-to-end encryption ready")).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    await browser_page.screenshot(path=str(ARTIFACTS / "shell.png"), full_page=True)

    assert problems.console_errors == []
    assert problems.page_errors == []
    assert await problems.csp_violations(browser_page) == []


@pytest.mark.django_db(transaction=True)
async def test_the_shell_says_offline_when_the_server_goes_away_and_reconnects(
    page: tuple[Page, PageProblems],
) -> None:
    found_demo()
    browser_page, problems = page
    server = start_live_server("restarted-server", DATABASE_URL=database_url_for_tests())
    try:
        await sign_up(browser_page, server.tenant_url("demo"), "first", PASSWORD)
        await keep_recovery_code(browser_page)
        await expect_signed_in(browser_page, "first")
        root = browser_page.locator("#app")
        await expect(root).to_have_attribute("data-connection", "connected", timeout=15_000)
        server.stop()
        await expect(root).to_have_attribute("data-connection", "disconnected", timeout=15_000)
        await expect(browser_page.get_by_role("status").filter(has_text="Offline")).to_be_visible()
        await browser_page.screenshot(path=str(ARTIFACTS / "shell-offline.png"))
        server = start_live_server(
            "restarted-server", port=server.port, DATABASE_URL=database_url_for_tests()
        )
        await expect(root).to_have_attribute("data-connection", "connected", timeout=40_000)
        await expect(
            browser_page.get_by_role("status").filter(has_text="Connected")
        ).to_be_visible()
    finally:
        server.stop()
    assert problems.page_errors == []
