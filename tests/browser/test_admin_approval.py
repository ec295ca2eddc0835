"""An admin approves a signup from the Django admin: the admin page's script signs
the admission with the admin's key held in this browser (Chromium, live Daphne)."""

import re

import pytest
from playwright.async_api import Browser, expect

from accounts.models import AccountState, Identity, Tenant, User
from protocol.identity import fingerprint
from protocol.safety_code import safety_code
from rooms.models import ChainLink, ChainMember
from tests.browser import test_chain_admissions as chain_admissions
from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, log_in, sign_up
from tests.conftest import ARTIFACTS, CSP_PROBE, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)
STRONG = chain_admissions.STRONG


async def test_an_admin_approves_from_the_django_admin_by_signing_in_the_browser(
    daphne_server: LiveServer, browser: Browser
) -> None:
    base = daphne_server.tenant_url("hooli")
    root = await chain_admissions.found_workspace(browser, daphne_server, "hooli", "approval")
    await root.context.add_init_script(CSP_PROBE)
    page_errors: list[str] = []
    root.on("pageerror", lambda error: page_errors.append(str(error)))
    person = await chain_admissions.new_page(browser)
    await sign_up(person, base, "gavin", STRONG, email="gavin@hooli.example")
    await keep_recovery_code(person)
    await expect(person.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    tenant = await Tenant.objects.aget(slug="hooli")
    gavin = await User.objects.aget(tenant=tenant, username="gavin")
    assert gavin.state == AccountState.PENDING_APPROVAL

    # The admin, signed in to the app in this browser, opens the Django admin.
    await root.goto(f"{base}/admin/")
    await root.get_by_role("link", name="Signup requests").first.click()
    await expect(root.get_by_role("row", name=re.compile("gavin"))).to_be_visible()
    await root.get_by_role("link", name="Approve gavin (sign in browser)").click()
    await expect(root).to_have_url(
        re.compile(rf"/admin/accounts/signuprequest/{gavin.pk}/approve/$")
    )
    await expect(root.get_by_role("heading", name="Approve gavin")).to_be_visible()
    approval = root.locator("#pipo-approval .pipo-approval")
    await expect(approval).to_have_attribute("data-phase", "ready", timeout=20_000)

    # The safety code shown is that of the keys gavin signed up with.
    identity = await Identity.objects.aget(user=gavin)
    expected = [symbol.name for symbol in safety_code(fingerprint(bytes(identity.sign_pub)))]
    code = root.get_by_role("list", name="Safety code of gavin")
    await expect(code.get_by_role("listitem")).to_have_count(12)
    shown = [
        word.strip() for word in await code.locator(".pipo-safety-code__word").all_inner_texts()
    ]
    assert shown == expected
    await expect(root.locator("#pipo-approval")).to_contain_text("gavin@hooli.example")
    await root.screenshot(path=str(ARTIFACTS / "admin-approval-page.png"), full_page=True)

    await root.get_by_role("button", name="Approve gavin").click()
    await expect(root.get_by_role("status")).to_contain_text("gavin was approved", timeout=20_000)
    await expect(approval).to_have_attribute("data-phase", "approved")
    await root.screenshot(path=str(ARTIFACTS / "admin-approval-done.png"), full_page=True)
    assert page_errors == []
    assert await root.evaluate("window.__cspViolations ?? []") == []

    # gavin is a chain member, admitted by approval, by a link the admin's key signed.
    member = await ChainMember.objects.aget(tenant=tenant, username="gavin")
    assert member.how == "approval"
    assert bytes(member.sign_pub) == bytes(identity.sign_pub)
    root_identity = await Identity.objects.aget(user__tenant=tenant, user__username="root")
    admit = await ChainLink.objects.filter(tenant=tenant, type="admit").alatest("seq")
    assert admit.link["body"]["how"] == "approval"
    assert admit.link["body"]["bundle"]["user"] == "gavin"
    assert bytes(admit.signer) == bytes(root_identity.sign_pub)
    assert (await User.objects.aget(pk=gavin.pk)).decided_by_id == root_identity.user_id

    # ... and can log in now; their browser verifies the chain with them in it.
    await log_in(person, base, "gavin", STRONG)
    await expect_signed_in(person, "gavin")
    await chain_admissions.wait_for_chain(person)

    # The request is decided: the list no longer offers it.
    await root.goto(f"{base}/admin/accounts/signuprequest/")
    await expect(root.get_by_role("link", name="Approve gavin (sign in browser)")).to_have_count(0)


async def test_the_approval_page_says_plainly_when_the_keys_are_locked(
    daphne_server: LiveServer, browser: Browser
) -> None:
    base = daphne_server.tenant_url("pied")
    root = await chain_admissions.found_workspace(browser, daphne_server, "pied", "approval")
    person = await chain_admissions.new_page(browser)
    await sign_up(person, base, "erlich", STRONG, email="erlich@pied.example")
    await keep_recovery_code(person)
    tenant = await Tenant.objects.aget(slug="pied")
    erlich = await User.objects.aget(tenant=tenant, username="erlich")

    # Locked in the app: the session stays, the keys leave this browser.
    await root.get_by_role("button", name="Lock").click()
    await expect(root.locator("#app")).to_have_attribute("data-account", "locked", timeout=20_000)
    await root.goto(f"{base}/admin/accounts/signuprequest/{erlich.pk}/approve/")
    approval = root.locator("#pipo-approval .pipo-approval")
    await expect(approval).to_have_attribute("data-phase", "locked", timeout=20_000)
    await expect(root.get_by_role("alert")).to_contain_text("not unlocked in this browser")
    await expect(root.get_by_role("button", name="Approve erlich")).to_have_count(0)
    login = root.get_by_role("link", name="log in again")
    await expect(login).to_have_attribute(
        "href", f"/login?next=%2Fadmin%2Faccounts%2Fsignuprequest%2F{erlich.pk}%2Fapprove%2F"
    )
    await expect(root.get_by_role("link", name="open the app")).to_have_attribute("href", "/app")
    await root.screenshot(path=str(ARTIFACTS / "admin-approval-locked.png"), full_page=True)
    assert (await User.objects.aget(pk=erlich.pk)).state == AccountState.PENDING_APPROVAL
    assert not await ChainMember.objects.filter(tenant=tenant, username="erlich").aexists()
