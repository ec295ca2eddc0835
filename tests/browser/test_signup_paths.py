"""The four signup paths end to end: Chromium, live Daphne, PostgreSQL, Redis."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.async_api import Browser, Page, expect

from accounts.models import AccountState, Invite, Role, SignupPolicy, Tenant, User
from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, log_in, sign_up
from tests.conftest import ARTIFACTS, LiveServer, PageProblems, read_outbox
from tests.people import PASSWORD, make_person, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)

STRONG = "a long and private passphrase"


async def test_open_signup_lands_in_the_app(
    daphne_server: LiveServer, page: tuple[Page, PageProblems], acme: Tenant
) -> None:
    browser_page, problems = page
    base = daphne_server.tenant_url("acme")
    await sign_up(browser_page, base, "Alice", STRONG)
    await keep_recovery_code(browser_page, screenshot="signup-recovery-code.png")
    await expect_signed_in(browser_page, "alice")
    await browser_page.screenshot(path=str(ARTIFACTS / "app-home.png"), full_page=True)
    user = await User.objects.aget(tenant=acme, username="alice")
    assert user.state == AccountState.ACTIVE
    assert problems.page_errors == []
    assert await problems.csp_violations(browser_page) == []


async def test_approval_signup_waits_until_an_admin_approves_in_the_admin_panel(
    daphne_server: LiveServer, browser: Browser, lear: Tenant
) -> None:
    make_person(lear, "cordelia", role=Role.ADMIN)
    base = daphne_server.tenant_url("lear")
    person = await (await browser.new_context()).new_page()
    await sign_up(person, base, "kent", STRONG, email="kent@lear.example")
    await keep_recovery_code(person)
    await expect(person.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    await person.screenshot(path=str(ARTIFACTS / "waiting-for-approval.png"), full_page=True)
    # Logging in before approval says why it cannot go further.
    await log_in(person, base, "kent", STRONG)
    await expect(person.get_by_role("alert")).to_contain_text("waiting for an administrator")

    admin = await (await browser.new_context()).new_page()
    await admin.goto(f"{base}/admin/")
    # The admin panel sends the admin to the app's login (no password form of its own).
    await expect(admin).to_have_url(re.compile(r"/login\?next="))
    await admin.get_by_label("Username").fill("cordelia")
    await admin.get_by_label("Password", exact=True).fill(PASSWORD)
    await admin.get_by_role("button", name="Log in").click()
    await expect(admin.get_by_text("Signed in as cordelia")).to_be_visible(timeout=20_000)
    await admin.goto(f"{base}/admin/accounts/signuprequest/")
    await admin.get_by_role("row", name=re.compile("kent")).get_by_role("checkbox").check()
    await admin.get_by_role("combobox", name="Action").select_option("approve_signups")
    await admin.get_by_role("button", name="Go").click()
    await expect(admin.get_by_text("Approved 1 signup request(s)")).to_be_visible()
    await admin.screenshot(path=str(ARTIFACTS / "admin-approved.png"), full_page=True)

    assert any(
        "You can now use Lear & Co" in message for message in read_outbox("kent@lear.example")
    )
    await log_in(person, base, "kent", STRONG)
    await expect_signed_in(person, "kent")


@pytest.fixture
def corp(db: None) -> Tenant:
    return make_tenant("corp", "Corp", SignupPolicy.DOMAIN, ["corp.example"])


async def test_domain_signup_refuses_outsiders_and_confirms_by_email(
    daphne_server: LiveServer, page: tuple[Page, PageProblems], corp: Tenant
) -> None:
    browser_page, _ = page
    base = daphne_server.tenant_url("corp")
    await sign_up(browser_page, base, "eve", STRONG, email="eve@evil.example")
    await expect(browser_page.get_by_role("alert")).to_contain_text("corp.example")
    assert not await User.objects.filter(username="eve").aexists()

    await sign_up(browser_page, base, "dana", STRONG, email="dana@corp.example")
    await keep_recovery_code(browser_page)
    await expect(browser_page.get_by_role("heading", name="Check your email")).to_be_visible()
    await browser_page.get_by_role("button", name="Resend email").click()
    messages = []
    for _ in range(50):
        messages = read_outbox("dana@corp.example")
        if len(messages) >= 2:
            break
        await browser_page.wait_for_timeout(100)
    assert len(messages) == 2
    link = re.search(r"(http://\S+/confirm#c=[A-Za-z0-9_-]+)", messages[-1])
    assert link is not None
    await browser_page.goto(link.group(1))
    await expect(browser_page.get_by_text("Email confirmed")).to_be_visible(timeout=15_000)
    await log_in(browser_page, base, "dana", STRONG)
    await expect_signed_in(browser_page, "dana")


@pytest.fixture
def club(db: None) -> Tenant:
    return make_tenant("club", "Club", SignupPolicy.INVITE)


async def create_invite_in_browser(page: Page) -> str:
    await page.get_by_role("button", name="Create invite").click()
    link_field = page.get_by_label("Invite link")
    await expect(link_field).to_have_value(re.compile(r"/signup#t="), timeout=15_000)
    return await link_field.input_value()


async def test_invites_admit_once_and_expired_or_reused_links_say_so(
    daphne_server: LiveServer, browser: Browser, club: Tenant
) -> None:
    make_person(club, "boss", role=Role.ADMIN)
    base = daphne_server.tenant_url("club")
    admin = await (await browser.new_context()).new_page()
    await log_in(admin, base, "boss", PASSWORD)
    await expect_signed_in(admin, "boss")
    link = await create_invite_in_browser(admin)
    await admin.screenshot(path=str(ARTIFACTS / "invite-created.png"), full_page=True)
    token = link.split("#t=", 1)[1]
    # The token never reached the server: only its hash is stored.
    assert not await Invite.objects.filter(token_hash=token.encode()).aexists()

    newcomer = await (await browser.new_context()).new_page()
    fragment = "#t=" + token
    await sign_up(newcomer, base, "newbie", STRONG, fragment=fragment)
    await keep_recovery_code(newcomer)
    await expect_signed_in(newcomer, "newbie")

    second = await (await browser.new_context()).new_page()
    await sign_up(second, base, "latecomer", STRONG, fragment=fragment)
    await expect(second.get_by_role("alert")).to_contain_text("already been used")

    expired_link = await create_invite_in_browser(admin)
    await Invite.objects.filter(used_at__isnull=True).aupdate(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    third = await (await browser.new_context()).new_page()
    await sign_up(third, base, "tardy", STRONG, fragment="#t=" + expired_link.split("#t=", 1)[1])
    await expect(third.get_by_role("alert")).to_contain_text("expired")
    assert not await User.objects.filter(username__in=["latecomer", "tardy"]).aexists()


async def test_without_an_invite_an_invite_only_workspace_says_so(
    daphne_server: LiveServer, page: tuple[Page, PageProblems], club: Tenant
) -> None:
    browser_page, _ = page
    await sign_up(browser_page, daphne_server.tenant_url("club"), "walkin", STRONG)
    await expect(browser_page.get_by_role("alert")).to_contain_text("invit")


async def test_an_invite_can_be_encrypted_to_the_invitees_openpgp_key(
    daphne_server: LiveServer, page: tuple[Page, PageProblems], club: Tenant
) -> None:
    import pysequoia

    invitee = pysequoia.Tsk.generate("Invitee <invitee@example.org>")
    make_person(club, "boss", role=Role.ADMIN)
    browser_page, problems = page
    base = daphne_server.tenant_url("club")
    await log_in(browser_page, base, "boss", PASSWORD)
    await expect_signed_in(browser_page, "boss")
    await browser_page.get_by_label("Invitee's OpenPGP public key").fill(
        str(invitee.extract_certificate())
    )
    link = await create_invite_in_browser(browser_page)
    encrypted_field = browser_page.get_by_label("Encrypted invite")
    await expect(encrypted_field).to_have_value(re.compile("BEGIN PGP MESSAGE"), timeout=20_000)
    armored = await encrypted_field.input_value()
    assert link not in armored
    decrypted = pysequoia.decrypt(decryptor=invitee.decryptor(), bytes=armored.encode())
    assert decrypted.bytes is not None
    assert link in decrypted.bytes.decode()
    assert problems.page_errors == []
