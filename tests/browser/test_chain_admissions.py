"""Every admission path signs its link in the browser, against the real server."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.async_api import Browser, Page, expect

from accounts.models import Tenant, User
from rooms.models import ChainLink, ChainMember
from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, log_in, sign_up
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)
STRONG = "a long and private passphrase"


def create_tenant(slug: str, policy: str) -> str:
    """`manage.py create_tenant`, returning the root admin's enrolment fragment."""
    out = StringIO()
    call_command("create_tenant", slug, "--name", slug.title(), "--policy", policy, stdout=out)
    found = re.search(r"/signup(#e=[A-Za-z0-9_-]+)", out.getvalue())
    assert found is not None, out.getvalue()
    return found.group(1)


async def new_page(browser: Browser) -> Page:
    return await (await browser.new_context()).new_page()


async def wait_for_chain(page: Page, status: str = "verified") -> None:
    await expect(page.locator("#app")).to_have_attribute("data-chain", status, timeout=20_000)


async def found_workspace(browser: Browser, server: LiveServer, slug: str, policy: str) -> Page:
    enrolment = create_tenant(slug, policy)
    root = await new_page(browser)
    await sign_up(
        root,
        server.tenant_url(slug),
        "root",
        STRONG,
        email=f"root@{slug}.example",
        fragment=enrolment,
    )
    await keep_recovery_code(root)
    await expect_signed_in(root, "root")
    await wait_for_chain(root)
    return root


async def test_the_root_admin_founds_the_chain_and_newcomers_sign_their_admits(
    daphne_server: LiveServer, browser: Browser
) -> None:
    root = await found_workspace(browser, daphne_server, "globex", "open")
    tenant = await Tenant.objects.aget(slug="globex")
    assert await ChainLink.objects.filter(tenant=tenant, type="genesis").aexists()
    assert (await User.objects.aget(tenant=tenant, username="root")).role == "owner"

    # Open policy: the newcomer's browser signs its own admission.
    newcomer = await new_page(browser)
    await sign_up(newcomer, daphne_server.tenant_url("globex"), "newbie", STRONG)
    await keep_recovery_code(newcomer)
    await expect_signed_in(newcomer, "newbie")
    member = await ChainMember.objects.aget(tenant=tenant, username="newbie")
    assert member.how == "open"
    await wait_for_chain(newcomer)

    # An invite is an admin-signed link; the invitee signs an admit naming it.
    invite_field = root.get_by_label("Invite link")
    await root.get_by_role("button", name="Create invite").click()
    await expect(invite_field).to_have_value(re.compile(r"#t=.*&r=member"), timeout=20_000)
    link = await invite_field.input_value()
    assert "fp=" in link
    invitee = await new_page(browser)
    await invitee.goto(link)
    await invitee.get_by_label("Username").fill("invited")
    await invitee.get_by_label("Password", exact=True).fill(STRONG)
    await invitee.get_by_label("Repeat password").fill(STRONG)
    await invitee.get_by_role("button", name="Create account").click()
    await keep_recovery_code(invitee)
    await expect_signed_in(invitee, "invited")
    assert (await ChainMember.objects.aget(tenant=tenant, username="invited")).how == "invite"

    # Roles: the owner promotes, then removes; the audit log says who did what.
    await root.goto(daphne_server.tenant_url("globex") + "/app/members")
    await wait_for_chain(root)
    manage = root.get_by_role("group", name="Manage newbie")
    await manage.get_by_role("button", name="Make admin").click()
    for _ in range(100):
        if (await ChainMember.objects.aget(tenant=tenant, username="newbie")).role == "admin":
            break
        await root.wait_for_timeout(100)
    assert (await ChainMember.objects.aget(tenant=tenant, username="newbie")).role == "admin"
    manage_invited = root.get_by_role("group", name="Manage invited")
    await manage_invited.get_by_role("button", name="Remove invited").click()
    await manage_invited.get_by_role("button", name="Confirm removal of invited").click()
    for _ in range(100):
        if not await ChainMember.objects.filter(tenant=tenant, username="invited").aexists():
            break
        await root.wait_for_timeout(100)
    assert not await ChainMember.objects.filter(tenant=tenant, username="invited").aexists()
    await root.screenshot(path=str(ARTIFACTS / "chain-members-manage.png"), full_page=True)
    await root.goto(daphne_server.tenant_url("globex") + "/app/audit")
    table = root.get_by_role("table", name="Audit log")
    await expect(table).to_contain_text("newbie")
    await expect(table).to_contain_text("invited")
    await root.screenshot(path=str(ARTIFACTS / "chain-audit-roles.png"), full_page=True)


async def test_an_admin_approves_in_the_app_by_signing_the_admission(
    daphne_server: LiveServer, browser: Browser
) -> None:
    root = await found_workspace(browser, daphne_server, "initech", "approval")
    person = await new_page(browser)
    await sign_up(
        person,
        daphne_server.tenant_url("initech"),
        "milton",
        STRONG,
        email="milton@initech.example",
    )
    await keep_recovery_code(person)
    await expect(person.get_by_role("heading", name="Waiting for approval")).to_be_visible()

    await root.goto(daphne_server.tenant_url("initech") + "/app/requests")
    await expect(root.get_by_role("heading", name="Signup requests")).to_be_visible()
    await root.screenshot(path=str(ARTIFACTS / "signup-requests.png"), full_page=True)
    await root.get_by_role("button", name="Approve milton").click()
    await expect(root.get_by_role("status").filter(has_text="milton was approved")).to_be_visible(
        timeout=20_000
    )
    tenant = await Tenant.objects.aget(slug="initech")
    member = await ChainMember.objects.aget(tenant=tenant, username="milton")
    assert member.how == "approval"
    await log_in(person, daphne_server.tenant_url("initech"), "milton", STRONG)
    await expect_signed_in(person, "milton")
    await wait_for_chain(person)


async def test_a_person_rotates_their_keys_and_the_chain_follows(
    daphne_server: LiveServer, browser: Browser
) -> None:
    root = await found_workspace(browser, daphne_server, "umbrella", "open")
    tenant = await Tenant.objects.aget(slug="umbrella")
    before = bytes((await ChainMember.objects.aget(tenant=tenant, username="root")).sign_pub)
    await root.get_by_label("Password for key rotation").fill(STRONG)
    await root.get_by_role("button", name="Rotate my keys").click()
    await keep_recovery_code(root, screenshot="rotation-recovery-code.png")
    await expect_signed_in(root, "root")
    after = bytes((await ChainMember.objects.aget(tenant=tenant, username="root")).sign_pub)
    assert after != before
    assert await ChainLink.objects.filter(tenant=tenant, type="rotate_keys").aexists()
    await wait_for_chain(root)
    # Another browser logs in with the same password and gets the new keys.
    other = await new_page(browser)
    await log_in(other, daphne_server.tenant_url("umbrella"), "root", STRONG)
    await expect_signed_in(other, "root")
    await wait_for_chain(other)
    sealed = await root.evaluate("window.__pipoTest.sealToOwnKey('after rotation')")
    assert await other.evaluate(f"window.__pipoTest.openSealed('{sealed}')") == "after rotation"


async def test_the_demo_tenants_first_user_founds_the_chain_on_trust(
    daphne_server: LiveServer, browser: Browser
) -> None:
    out = StringIO()
    call_command(
        "create_tenant",
        "demo",
        "--name",
        "Demo",
        "--policy",
        "open",
        "--first-user-becomes-owner",
        stdout=out,
    )
    assert "/signup#e=" not in out.getvalue()
    first = await new_page(browser)
    await sign_up(first, daphne_server.tenant_url("demo"), "first", STRONG)
    await keep_recovery_code(first)
    await expect_signed_in(first, "first")
    await wait_for_chain(first)
    second = await new_page(browser)
    await sign_up(second, daphne_server.tenant_url("demo"), "second", STRONG)
    await keep_recovery_code(second)
    await expect_signed_in(second, "second")
    tenant = await Tenant.objects.aget(slug="demo")
    roles = {
        member.username: (member.role, member.how)
        async for member in ChainMember.objects.filter(tenant=tenant)
    }
    assert roles == {"first": ("owner", "genesis"), "second": ("member", "open")}
