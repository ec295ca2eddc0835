"""What a person does in the browser to sign up and log in, as reusable steps."""

import re

from playwright.async_api import Page, expect

from tests.conftest import ARTIFACTS


async def sign_up(
    page: Page,
    base_url: str,
    username: str,
    password: str,
    *,
    email: str = "",
    fragment: str = "",
    key_file: str | None = None,
    key_file_passphrase: str = "",
) -> None:
    """Fill the signup form and press "Create account" (no waiting for the outcome)."""
    await page.goto(f"{base_url}/signup{fragment}")
    await page.get_by_label("Username").fill(username)
    if email:
        await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_label("Repeat password").fill(password)
    if key_file is not None:
        await page.get_by_label("Use an existing key file").check()
        await page.get_by_label("Key file", exact=True).set_input_files(key_file)
        await page.get_by_label("Key file passphrase").fill(key_file_passphrase)
    await page.get_by_role("button", name="Create account").click()


async def keep_recovery_code(page: Page, screenshot: str | None = None) -> str:
    """Read the one-time recovery code, tick "stored" and continue."""
    await expect(page.get_by_role("heading", name="Your recovery code")).to_be_visible(
        timeout=20_000
    )
    code_text = await page.locator("main").inner_text()
    found = re.search(r"([0-9A-Z]{4}(?:-[0-9A-Z]{4}){7})", code_text)
    assert found is not None, code_text
    if screenshot:
        await page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
    await page.get_by_label("I have stored my recovery code").check()
    await page.get_by_role("button", name="Continue").click()
    return found.group(1)


async def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Log in").click()


async def expect_signed_in(page: Page, username: str) -> None:
    await expect(page.locator("#app")).to_have_attribute("data-account", "unlocked", timeout=20_000)
    await expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
