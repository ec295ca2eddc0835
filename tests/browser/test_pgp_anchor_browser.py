"""The browser checks the genesis's gpg clearsignature with OpenPGP.js."""

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from playwright.async_api import Browser, Page, expect

from accounts.models import SignupPolicy, Tenant
from protocol import b64u_encode
from protocol.chain import sign_link
from rooms.actions import tenant_server_key
from rooms.models import GenesisAnchor
from tests.browser.accounts_flows import expect_signed_in, log_in
from tests.conftest import ARTIFACTS, LiveServer
from tests.gpg import Gpg
from tests.people import PASSWORD, make_tenant, signup_payload

pytestmark = pytest.mark.django_db(transaction=True)
ENROLMENT = b"\x0b" * 32


def anchored_tenant(gpg: Gpg, tmp_path: Path) -> Tenant:
    """acme founded by alice with a genesis naming gpg's key, clearsigned and attached."""
    tenant = make_tenant("acme", "Acme", SignupPolicy.INVITE)
    Tenant.objects.filter(pk=tenant.pk).update(
        genesis_enrolment_hash=hashlib.sha256(ENROLMENT).digest()
    )
    tenant = Tenant.objects.get(pk=tenant.pk)
    alice = signup_payload("acme", "alice")
    genesis = sign_link(
        tenant="acme",
        seq=0,
        prev=None,
        ts=int(time.time() * 1000),
        type="genesis",
        body={
            "roots": [alice.body["identity_bundle"]],
            "policy": {"mode": "open", "domains": []},
            "server_key": tenant_server_key(tenant),
            "pgp": [gpg.fingerprint],
        },
        seed=alice.keys.sign_seed,
    )
    response = Client().post(
        "/api/auth/signup",
        data=json.dumps(
            {
                **alice.body,
                "chain_link": genesis.to_json(),
                "enrolment_token": b64u_encode(ENROLMENT),
            }
        ),
        content_type="application/json",
        HTTP_HOST="acme.localhost",
    )
    assert response.status_code == 201, response.content
    statement_file = tmp_path / "statement.txt"
    with statement_file.open("w") as out:
        call_command("tenant_genesis", "export", "acme", stdout=out)
    signed = gpg.clearsign(statement_file.read_text().strip(), tmp_path / "genesis.asc")
    cert = gpg.export(tmp_path / "root.pub.asc")
    call_command("tenant_genesis", "attach", "acme", str(signed), "--cert", str(cert))
    return tenant


async def chain_status(page: Page, wanted: str) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(150):
        status = await page.evaluate("window.__pipoTest.chainStatus()")
        if status["status"] == wanted:
            return status
        await page.wait_for_timeout(100)
    raise AssertionError(f"chain status never became {wanted}: {status}")


async def test_the_browser_shows_the_genesis_anchored_by_a_gpg_key(
    daphne_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    gpg = Gpg(tmp_path / "gnupg", "Root Admin <root@acme.example>")
    anchored_tenant(gpg, tmp_path)
    page = await (await browser.new_context()).new_page()
    await log_in(page, daphne_server.tenant_url("acme"), "alice", PASSWORD)
    await expect_signed_in(page, "alice")
    status = await chain_status(page, "verified")
    assert status["anchors"] == [gpg.fingerprint]
    await page.get_by_role("link", name="Audit log").first.click()
    grouped = " ".join(gpg.fingerprint.upper()[i : i + 4] for i in range(0, 40, 4))
    await expect(page.get_by_text(f"Anchored by PGP key {grouped}")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "pgp-anchored.png"), full_page=True)


async def test_the_browser_refuses_a_genesis_anchored_by_a_revoked_gpg_key(
    daphne_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    gpg = Gpg(tmp_path / "gnupg", "Root Admin <root@acme.example>")
    tenant = anchored_tenant(gpg, tmp_path)
    # The key is revoked afterwards; a server that keeps serving the anchor
    # (or forges one) must not get it past the client.
    gpg.revoke()
    revoked = gpg.export(tmp_path / "revoked.pub.asc").read_text()
    GenesisAnchor.objects.filter(tenant=tenant).update(certificate=revoked)
    page = await (await browser.new_context()).new_page()
    await log_in(page, daphne_server.tenant_url("acme"), "alice", PASSWORD)
    await expect_signed_in(page, "alice")
    status = await chain_status(page, "refused")
    assert status["problem"]["code"] == "pgp_key_revoked"
    await expect(
        page.get_by_role("alert").filter(has_text="Do not trust this workspace right now")
    ).to_be_visible()
