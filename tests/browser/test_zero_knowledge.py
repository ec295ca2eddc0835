"""The server learns neither the password nor the private keys, yet a person's
keys follow them to any browser."""

import asyncio
import base64
import json
import subprocess
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, Request, expect

from accounts.models import Tenant
from protocol import IdentityKeys, b64u_encode
from protocol.accounts import make_key_file
from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, log_in, sign_up
from tests.conftest import ARTIFACTS, LiveServer, PageProblems, database_url_for_tests

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "tr0ub4dor & a very private phrase"


async def test_a_second_fresh_browser_restores_the_same_keys(
    daphne_server: LiveServer, browser: Browser, acme: Tenant
) -> None:
    base = daphne_server.tenant_url("acme")
    first = await (await browser.new_context()).new_page()
    await sign_up(first, base, "alice", PASSWORD)
    await keep_recovery_code(first)
    await expect_signed_in(first, "alice")
    sealed = await first.evaluate("window.__pipoTest.sealToOwnKey('the test secret')")
    assert "the test secret" not in sealed

    second = await (await browser.new_context()).new_page()
    await log_in(second, base, "alice", PASSWORD)
    await expect_signed_in(second, "alice")
    assert await second.evaluate(f"window.__pipoTest.openSealed({json.dumps(sealed)})") == (
        "the test secret"
    )
    # A reload keeps the keys (wrapped in IndexedDB under a non-extractable key).
    await second.reload()
    await expect_signed_in(second, "alice")
    assert await second.evaluate(f"window.__pipoTest.openSealed({json.dumps(sealed)})") == (
        "the test secret"
    )
    # Lock forgets them until the password is typed again; the session stays.
    await second.get_by_role("button", name="Lock").click()
    await expect(second.get_by_role("heading", name="PiPo is locked")).to_be_visible()
    await second.screenshot(path=str(ARTIFACTS / "locked.png"), full_page=True)
    with pytest.raises(Exception, match=r"locked|keys"):
        await second.evaluate(f"window.__pipoTest.openSealed({json.dumps(sealed)})")
    await second.get_by_label("Password", exact=True).fill(PASSWORD)
    await second.get_by_role("button", name="Unlock").click()
    await expect_signed_in(second, "alice")
    # Log out clears keys from memory and storage.
    await second.get_by_role("button", name="Log out").click()
    await expect(second.locator("#app")).to_have_attribute("data-account", "signed-out")
    stored = await second.evaluate(
        """async () => (await indexedDB.databases()).map(db => db.name)"""
    )
    if "pipo-keys" in stored:
        count = await second.evaluate(
            """() => new Promise((resolve, reject) => {
                const open = indexedDB.open("pipo-keys");
                open.onsuccess = () => {
                  const db = open.result;
                  const names = Array.from(db.objectStoreNames);
                  if (names.length === 0) { resolve(0); return; }
                  const tx = db.transaction(names, "readonly");
                  let total = 0; let pending = names.length;
                  for (const name of names) {
                    const request = tx.objectStore(name).count();
                    request.onsuccess = () => {
                      total += request.result;
                      if (--pending === 0) resolve(total);
                    };
                  }
                };
                open.onerror = () => reject(open.error);
            })"""
        )
        assert count == 0


def _spellings(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        b64u_encode(secret),
        base64.b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
    ]


async def test_the_password_never_leaves_the_browser_and_the_database_holds_no_private_key(
    daphne_server: LiveServer, page: tuple[Page, PageProblems], acme: Tenant, tmp_path: Path
) -> None:
    browser_page, problems = page
    # Known keys, brought in through "use an existing key file", so that the
    # test can look for their secret halves afterwards.
    keys = IdentityKeys.generate()
    key_file = tmp_path / "pipo-keys.json"
    key_file.write_text(json.dumps(make_key_file(keys, "key file passphrase!")))

    seen: list[str] = []

    def record(request: Request) -> None:
        headers = json.dumps(request.headers)
        seen.append(f"{request.method} {request.url}\n{headers}\n{request.post_data or ''}")

    browser_page.on("request", record)
    base = daphne_server.tenant_url("acme")
    await sign_up(
        browser_page,
        base,
        "alice",
        PASSWORD,
        key_file=str(key_file),
        key_file_passphrase="key file passphrase!",
    )
    await keep_recovery_code(browser_page)
    await expect_signed_in(browser_page, "alice")
    await browser_page.get_by_role("button", name="Log out").click()
    # Navigating while the logout request is in flight would abort it and the
    # login page would find the session still open.
    await expect(browser_page.locator("#app")).to_have_attribute("data-account", "signed-out")
    await log_in(browser_page, base, "alice", PASSWORD)
    await expect_signed_in(browser_page, "alice")
    new_password = "an even longer private passphrase"
    await browser_page.get_by_label("Current password").fill(PASSWORD)
    await browser_page.get_by_label("New password", exact=True).fill(new_password)
    await browser_page.get_by_label("Repeat new password").fill(new_password)
    await browser_page.get_by_role("button", name="Change password").click()
    await expect(
        browser_page.get_by_role("status").filter(has_text="Password changed")
    ).to_be_visible(timeout=20_000)

    posts = [entry for entry in seen if entry.startswith("POST")]
    assert any("/api/auth/signup" in entry for entry in posts)
    assert any("/api/auth/login" in entry for entry in posts)
    assert any("/api/auth/password" in entry for entry in posts)
    for secret_text in (PASSWORD, new_password, "key file passphrase!"):
        for entry in seen:
            assert secret_text not in entry

    # The server's database: dump every table as text and look for the
    # private keys in every usual spelling.
    dumped = await asyncio.to_thread(
        subprocess.run,
        ["pg_dump", "--data-only", "--inserts", database_url_for_tests()],
        capture_output=True,
        check=True,
    )
    dump = dumped.stdout.decode("utf-8", "replace")
    assert "alice" in dump  # the dump is real
    for secret in (keys.sign_seed, keys.box_secret):
        for spelling in _spellings(secret):
            assert spelling not in dump
        assert f"\\\\x{secret.hex()}" not in dump
    assert PASSWORD not in dump
    assert new_password not in dump
    # ...while the public key is there: the browser really used the imported keys.
    assert b64u_encode(keys.sign_pub) in dump
    assert problems.page_errors == []


async def test_a_wrong_password_and_an_unknown_user_read_the_same(
    daphne_server: LiveServer, browser: Browser, acme: Tenant
) -> None:
    from tests.people import make_person

    make_person(acme, "bob")
    base = daphne_server.tenant_url("acme")
    page = await (await browser.new_context()).new_page()
    await log_in(page, base, "bob", "definitely not bob's password")
    wrong = await page.get_by_role("alert").inner_text()
    await log_in(page, base, "nobody-at-all", "definitely not bob's password")
    unknown = await page.get_by_role("alert").inner_text()
    assert wrong == unknown == "Wrong username or password."


async def test_the_recovery_code_restores_access_and_forces_a_new_password(
    daphne_server: LiveServer, browser: Browser, acme: Tenant
) -> None:
    base = daphne_server.tenant_url("acme")
    first = await (await browser.new_context()).new_page()
    await sign_up(first, base, "forgetful", PASSWORD)
    code = await keep_recovery_code(first)
    await expect_signed_in(first, "forgetful")
    sealed = await first.evaluate("window.__pipoTest.sealToOwnKey('still mine')")

    # A new browser, the password forgotten: the recovery code (typed in lower
    # case, without dashes) unlocks the same keys and asks for a new password.
    fresh = await (await browser.new_context()).new_page()
    await fresh.goto(f"{base}/login")
    await fresh.get_by_role("link", name="Use a recovery code").click()
    await fresh.get_by_label("Username").fill("forgetful")
    await fresh.get_by_label("Recovery code").fill(code.replace("-", "").lower())
    new_password = "my brand new memorable phrase"
    await fresh.get_by_label("New password", exact=True).fill(new_password)
    await fresh.get_by_label("Repeat new password").fill(new_password)
    await fresh.get_by_role("button", name="Reset password").click()
    new_code = await keep_recovery_code(fresh)
    assert new_code != code
    await expect_signed_in(fresh, "forgetful")
    assert await fresh.evaluate(f"window.__pipoTest.openSealed({json.dumps(sealed)})") == (
        "still mine"
    )
    # The old password no longer works; the new one does.
    third = await (await browser.new_context()).new_page()
    await log_in(third, base, "forgetful", PASSWORD)
    await expect(third.get_by_role("alert")).to_have_text("Wrong username or password.")
    await log_in(third, base, "forgetful", new_password)
    await expect_signed_in(third, "forgetful")
