"""A compromised server against the web client (§6.6): the test writes the
database directly, as a server in an attacker's hands would, and the client
must refuse to encrypt to the injected key and say what is wrong."""

import hashlib
import json
from typing import Any

import pytest
from django.test import Client
from playwright.async_api import Browser, Page, expect

from accounts.models import SignupPolicy, Tenant
from protocol import IdentityKeys, b64u_encode, make_identity_bundle
from protocol.chain import sign_link
from rooms.actions import check_append_link
from rooms.models import ChainHead, ChainLink, ChainMember
from tests.browser.accounts_flows import expect_signed_in, log_in
from tests.chain_links import genesis_for, next_link, now_ms
from tests.conftest import ARTIFACTS, LiveServer
from tests.people import PASSWORD, SignupPayload, make_tenant, signup_payload

pytestmark = pytest.mark.django_db(transaction=True)
ENROLMENT = b"\x09" * 32
WARNING = "Do not trust this workspace right now"


def _post(tenant: Tenant, path: str, body: Any, client: Client | None = None) -> Any:
    return (client or Client()).post(
        f"/api/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_HOST=f"{tenant.slug}.localhost",
    )


class ChainedTenant:
    """acme with a trust chain: alice founded it, bob joined under the open policy."""

    def __init__(self) -> None:
        tenant = make_tenant("acme", "Acme", SignupPolicy.INVITE)
        Tenant.objects.filter(pk=tenant.pk).update(
            genesis_enrolment_hash=hashlib.sha256(ENROLMENT).digest()
        )
        self.tenant = Tenant.objects.get(pk=tenant.pk)
        self.alice = signup_payload("acme", "alice")
        genesis = genesis_for(
            self.tenant, self.alice.body["identity_bundle"], self.alice.keys, mode="open"
        )
        response = _post(
            self.tenant,
            "auth/signup",
            {
                **self.alice.body,
                "chain_link": genesis.to_json(),
                "enrolment_token": b64u_encode(ENROLMENT),
            },
        )
        assert response.status_code == 201, response.content
        self.bob = self.join("bob")

    def join(self, username: str) -> SignupPayload:
        person = signup_payload("acme", username)
        admit = next_link(
            self.tenant,
            "admit",
            {"bundle": person.body["identity_bundle"], "role": "member", "how": "open"},
            person.keys.sign_seed,
        )
        response = _post(self.tenant, "auth/signup", {**person.body, "chain_link": admit.to_json()})
        assert response.status_code == 201, response.content
        return person

    def head(self) -> ChainHead:
        return ChainHead.objects.get(tenant=self.tenant)

    def inject(self, link_json: dict[str, Any], seq: int, link_hash: bytes) -> None:
        """Write a link straight into the database, as a compromised server."""
        ChainLink.objects.create(
            tenant=self.tenant,
            seq=seq,
            link=link_json,
            hash=link_hash,
            type=link_json["type"],
            signer=b"\x00" * 32,
            ts=link_json["ts"],
        )
        ChainHead.objects.filter(tenant=self.tenant).update(seq=seq, hash=link_hash)


@pytest.fixture
def chained(db: None) -> ChainedTenant:
    return ChainedTenant()


async def alice_page(browser: Browser, server: LiveServer) -> Page:
    page = await (await browser.new_context()).new_page()
    await log_in(page, server.tenant_url("acme"), "alice", PASSWORD)
    await expect_signed_in(page, "alice")
    await wait_for_status(page, "verified")
    return page


async def wait_for_status(page: Page, wanted: str) -> dict[str, Any]:
    for _ in range(100):
        status: dict[str, Any] = await page.evaluate("window.__pipoTest.chainStatus()")
        if status["status"] == wanted:
            return status
        await page.wait_for_timeout(100)
    raise AssertionError(f"chain status never became {wanted}: {status}")


async def assert_refuses_to_seal_to(page: Page, username: str) -> None:
    with pytest.raises(Exception, match=r"(?i)verif|trust|member|refus"):
        await page.evaluate(f"window.__pipoTest.sealForMember({json.dumps(username)}, 'x')")


async def attacked(page: Page, problem_words: str, screenshot: str) -> None:
    await page.reload()
    await expect_signed_in(page, "alice")
    status = await wait_for_status(page, "refused")
    warning = page.get_by_role("alert").filter(has_text=WARNING)
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text(problem_words)
    assert status["problem"]["code"]
    await page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)


async def test_an_injected_admit_with_a_bad_signature_is_refused(
    daphne_server: LiveServer, browser: Browser, chained: ChainedTenant
) -> None:
    page = await alice_page(browser, daphne_server)
    assert await page.evaluate("window.__pipoTest.sealForMember('bob', 'hello bob')")
    mallory = IdentityKeys.generate()
    bundle = make_identity_bundle(mallory, tenant="acme", user="mallory", created=now_ms())
    forged = next_link(
        chained.tenant,
        "admit",
        {"bundle": bundle.to_json(), "role": "admin", "how": "approval"},
        mallory.sign_seed,  # not an admin's key: the server forges the approval
    ).to_json()
    forged["signer"] = chained.alice.body["identity_bundle"]["sign_pub"]  # claims alice signed
    head = chained.head()
    chained.inject(forged, head.seq + 1, b"\x01" * 32)
    await attacked(page, "signature", "attack-bad-signature.png")
    await assert_refuses_to_seal_to(page, "mallory")


async def test_a_replaced_key_is_refused(
    daphne_server: LiveServer, browser: Browser, chained: ChainedTenant
) -> None:
    page = await alice_page(browser, daphne_server)
    attacker = IdentityKeys.generate()
    # The server rewrites bob's admission to carry its own box key, in the
    # stored link and in the materialised state alike.
    row = ChainLink.objects.get(tenant=chained.tenant, seq=1)
    link = row.link
    link["body"]["bundle"]["box_pub"] = b64u_encode(attacker.box_pub)
    ChainLink.objects.filter(pk=row.pk).update(link=link)
    ChainMember.objects.filter(tenant=chained.tenant, username="bob").update(
        box_pub=attacker.box_pub
    )
    await attacked(page, "signature", "attack-replaced-key.png")
    await assert_refuses_to_seal_to(page, "bob")


async def test_a_truncated_chain_is_a_rollback(
    daphne_server: LiveServer, browser: Browser, chained: ChainedTenant
) -> None:
    chained.join("carol")
    page = await alice_page(browser, daphne_server)
    ChainLink.objects.filter(tenant=chained.tenant, seq=2).delete()
    previous = ChainLink.objects.get(tenant=chained.tenant, seq=1)
    ChainHead.objects.filter(tenant=chained.tenant).update(seq=1, hash=previous.hash)
    ChainMember.objects.filter(tenant=chained.tenant, username="carol").delete()
    await attacked(page, "", "attack-rollback.png")
    status = await page.evaluate("window.__pipoTest.chainStatus()")
    assert status["problem"]["code"] == "rollback"


async def test_a_forked_chain_is_refused(
    daphne_server: LiveServer, browser: Browser, chained: ChainedTenant
) -> None:
    page = await alice_page(browser, daphne_server)
    # A different, validly signed link at the same position (the server
    # kept a link signed for another branch): the history diverges.
    head = chained.head()
    previous = ChainLink.objects.get(tenant=chained.tenant, seq=head.seq - 1)
    dave = signup_payload("acme", "dave")
    other = sign_link(
        tenant="acme",
        seq=head.seq,
        prev=bytes(previous.hash),
        ts=now_ms(),
        type="admit",
        body={"bundle": dave.body["identity_bundle"], "role": "member", "how": "open"},
        seed=dave.keys.sign_seed,
    )
    ChainLink.objects.filter(tenant=chained.tenant, seq=head.seq).update(
        link=other.to_json(), hash=other.hash
    )
    ChainHead.objects.filter(tenant=chained.tenant).update(hash=other.hash)
    await attacked(page, "", "attack-fork.png")
    status = await page.evaluate("window.__pipoTest.chainStatus()")
    assert status["problem"]["code"] == "fork"
    await assert_refuses_to_seal_to(page, "dave")


async def test_a_replayed_invite_is_refused(
    daphne_server: LiveServer, browser: Browser, chained: ChainedTenant
) -> None:
    token = bytes(range(32))
    invite = next_link(
        chained.tenant,
        "invite",
        {
            "token_hash": b64u_encode(hashlib.sha256(token).digest()),
            "role": "member",
            "expires": now_ms() + 86_400_000,
        },
        chained.alice.keys.sign_seed,
    )
    check_append_link(chained.tenant, invite.to_json())
    erin = signup_payload("acme", "erin")
    admit = next_link(
        chained.tenant,
        "admit",
        {
            "bundle": erin.body["identity_bundle"],
            "role": "member",
            "how": "invite",
            "token": b64u_encode(token),
        },
        erin.keys.sign_seed,
    )
    check_append_link(chained.tenant, admit.to_json())
    page = await alice_page(browser, daphne_server)
    # The server replays the same invite token for its own key.
    mallory = IdentityKeys.generate()
    bundle = make_identity_bundle(mallory, tenant="acme", user="mallory", created=now_ms())
    replay = next_link(
        chained.tenant,
        "admit",
        {
            "bundle": bundle.to_json(),
            "role": "member",
            "how": "invite",
            "token": b64u_encode(token),
        },
        mallory.sign_seed,
    )
    chained.inject(replay.to_json(), replay.seq, replay.hash)
    await attacked(page, "", "attack-replayed-invite.png")
    status = await page.evaluate("window.__pipoTest.chainStatus()")
    assert status["problem"]["code"] == "invite_used"
    await assert_refuses_to_seal_to(page, "mallory")


async def test_members_and_the_audit_log_come_from_the_verified_chain(
    daphne_server: LiveServer, browser: Browser, chained: ChainedTenant
) -> None:
    page = await alice_page(browser, daphne_server)
    await page.get_by_role("link", name="Members").click()
    await expect(page.get_by_role("heading", name="Members")).to_be_visible()
    await expect(page.get_by_role("heading", name="bob")).to_be_visible()
    await expect(page.get_by_text("founding owner (signed the genesis)")).to_be_visible()
    await expect(page.get_by_text("joined under the open sign-up policy")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "chain-members.png"), full_page=True)
    await page.get_by_role("link", name="Audit log").first.click()
    table = page.get_by_role("table", name="Audit log")
    await expect(table).to_be_visible()
    await expect(table).to_contain_text("bob")
    await expect(page.get_by_text("Tenant fingerprint")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "chain-audit.png"), full_page=True)
