"""Two root admins found a workspace together, in their browsers (§6.8).

`create_tenant --roots 2` prints one enrolment link each; both enrol, compare
safety codes on /app, and sign the genesis the server drafted. Only when both
have signed does the chain exist, with both as owners and the genesis
cosigned, and both browsers verify it.
"""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.async_api import Browser, Page, expect

from protocol.chain import parse_link
from rooms.models import ChainLink, ChainMember
from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, sign_up
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)
STRONG = "a long and private passphrase"


async def enrol(browser: Browser, server: LiveServer, username: str, fragment: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await sign_up(page, server.tenant_url("globex"), username, STRONG, fragment=fragment)
    await expect(page.get_by_text("as one of its 2 root admins")).to_be_visible()
    await keep_recovery_code(page)
    await expect_signed_in(page, username)
    return page


async def test_two_root_admins_sign_the_genesis_in_their_browsers(
    daphne_server: LiveServer, browser: Browser
) -> None:
    out = StringIO()
    call_command(
        "create_tenant", "globex", "--name", "Globex", "--policy", "invite", "--roots", "2",
        stdout=out,
    )  # fmt: skip
    fragments = re.findall(r"/signup(#e=[A-Za-z0-9_-]+)", out.getvalue())
    assert len(fragments) == 2

    ann = await enrol(browser, daphne_server, "ann", fragments[0])
    founding = ann.get_by_role("region", name="Found this workspace")
    await expect(founding).to_contain_text("1 of 2 root admins have enrolled")
    await expect(founding.get_by_role("button", name="Sign the genesis")).to_have_count(0)

    bea = await enrol(browser, daphne_server, "bea", fragments[1])
    bea_founding = bea.get_by_role("region", name="Found this workspace")
    await expect(bea_founding.get_by_role("button", name="Sign the genesis")).to_be_visible()
    # ann's page notices by itself that everyone has enrolled.
    await expect(founding.get_by_role("button", name="Sign the genesis")).to_be_visible(
        timeout=15_000
    )
    # Each sees both roots' safety codes, and they match what each shows for themself.
    for page in (ann, bea):
        for name in ("ann", "bea"):
            await expect(page.get_by_label(f"Safety code of {name}")).to_be_visible()
    ann_own = await ann.locator(".safety-code").first.inner_text()
    assert await bea.get_by_label("Safety code of ann").inner_text() == ann_own
    await bea.screenshot(path=str(ARTIFACTS / "founding-two-roots.png"), full_page=True)

    await founding.get_by_role("button", name="Sign the genesis").click()
    await expect(founding).to_contain_text("You have signed. Waiting for bea to sign.")
    assert not await ChainLink.objects.filter(tenant__slug="globex").aexists()

    await bea_founding.get_by_role("button", name="Sign the genesis").click()
    for page in (ann, bea):
        await expect(page.locator("#app")).to_have_attribute(
            "data-chain", "verified", timeout=20_000
        )
        await expect(page.get_by_role("region", name="Found this workspace")).to_have_count(0)

    genesis = await ChainLink.objects.aget(tenant__slug="globex", seq=0)
    link = parse_link(genesis.link)
    assert [root["user"] for root in link.body["roots"]] == ["ann", "bea"]
    assert len(link.cosigs) == 1
    owners = {
        member.username: (member.role, member.how)
        async for member in ChainMember.objects.filter(tenant__slug="globex")
    }
    assert owners == {"ann": ("owner", "genesis"), "bea": ("owner", "genesis")}
    # Both browsers list both roots as members admitted by the genesis.
    await bea.goto(daphne_server.tenant_url("globex") + "/app/members")
    await expect(bea.get_by_role("heading", name="ann")).to_be_visible(timeout=20_000)
    await expect(bea.get_by_role("heading", name=re.compile("^bea"))).to_be_visible()
