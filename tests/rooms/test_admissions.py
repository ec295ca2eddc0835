"""Every signup path produces its link in the tenant's chain (§6.2)."""

import hashlib
import json
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts import actions as account_actions
from accounts.errors import AccountError
from accounts.models import AccountState, SignupPolicy, Tenant, User
from protocol import IdentityKeys, b64u_encode, make_identity_bundle
from protocol.chain import parse_link as parse_chain_link
from rooms.actions import tenant_server_key
from rooms.models import ChainLink, ChainMember
from tests.chain_links import genesis_for, next_link, now_ms
from tests.people import SignupPayload, make_tenant, signup_payload

pytestmark = pytest.mark.django_db(transaction=True)
ENROLMENT = b"\x07" * 32


def enrolable(slug: str, policy: str, domains: list[str] | None = None) -> Tenant:
    tenant = make_tenant(slug, slug.title(), policy, domains)
    Tenant.objects.filter(pk=tenant.pk).update(
        genesis_enrolment_hash=hashlib.sha256(ENROLMENT).digest()
    )
    return Tenant.objects.get(pk=tenant.pk)


def post(client: Client, tenant: Tenant, path: str, body: Any) -> Any:
    return client.post(
        f"/api/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_HOST=f"{tenant.slug}.localhost",
    )


def found(
    client: Client, tenant: Tenant, mode: str, domains: list[str] | None = None
) -> SignupPayload:
    root = signup_payload(tenant.slug, "root", email="root@corp.example")
    genesis = genesis_for(
        tenant, root.body["identity_bundle"], root.keys, mode=mode, domains=domains
    )
    body = {**root.body, "chain_link": genesis.to_json(), "enrolment_token": b64u_encode(ENROLMENT)}
    response = post(client, tenant, "auth/signup", body)
    assert response.status_code == 201, response.content
    assert response.json()["user"]["role"] == "owner"
    return root


def test_the_root_admin_founds_the_tenant_with_the_genesis(client: Client) -> None:
    tenant = enrolable("acme", SignupPolicy.INVITE)
    found(client, tenant, "open")
    root = ChainMember.objects.get(tenant=tenant)
    assert (root.username, root.role, root.how) == ("root", "owner", "genesis")
    # The chain's policy is the tenant's policy from now on.
    assert Tenant.objects.get(pk=tenant.pk).signup_policy == "open"
    # The enrolment token works once.
    again = signup_payload("acme", "usurper")
    genesis = genesis_for(tenant, again.body["identity_bundle"], again.keys, mode="open")
    refused = post(
        Client(),
        tenant,
        "auth/signup",
        {
            **again.body,
            "chain_link": genesis.to_json(),
            "enrolment_token": b64u_encode(ENROLMENT),
        },
    )
    assert refused.status_code == 400
    assert not User.objects.filter(username="usurper").exists()


def test_founding_without_the_enrolment_token_is_refused_and_stores_nothing(client: Client) -> None:
    tenant = enrolable("acme", SignupPolicy.INVITE)
    root = signup_payload("acme", "root")
    genesis = genesis_for(tenant, root.body["identity_bundle"], root.keys, mode="open")
    response = post(client, tenant, "auth/signup", {**root.body, "chain_link": genesis.to_json()})
    assert response.json()["error"] == "enrolment_required"
    assert User.objects.count() == 0
    assert ChainLink.objects.count() == 0


def test_an_open_signup_carries_its_own_signed_admit(client: Client) -> None:
    tenant = enrolable("acme", SignupPolicy.INVITE)
    found(client, tenant, "open")
    newcomer = signup_payload("acme", "newbie")
    admit = next_link(
        tenant,
        "admit",
        {"bundle": newcomer.body["identity_bundle"], "role": "member", "how": "open"},
        newcomer.keys.sign_seed,
    )
    without = post(Client(), tenant, "auth/signup", newcomer.body)
    assert without.json()["error"] == "admit_required"
    assert not User.objects.filter(username="newbie").exists()
    other = signup_payload("acme", "newbie")
    mismatched = post(
        Client(), tenant, "auth/signup", {**other.body, "chain_link": admit.to_json()}
    )
    assert mismatched.json()["error"] == "bundle_mismatch"
    response = post(
        Client(), tenant, "auth/signup", {**newcomer.body, "chain_link": admit.to_json()}
    )
    assert response.status_code == 201
    member = ChainMember.objects.get(tenant=tenant, username="newbie")
    assert (member.how, bytes(member.sign_pub)) == ("open", newcomer.keys.sign_pub)


def test_a_confirmed_email_domain_is_attested_by_the_servers_key(client: Client) -> None:
    tenant = enrolable("corp", SignupPolicy.DOMAIN, ["corp.example"])
    found(client, tenant, "domain", ["corp.example"])
    person = signup_payload("corp", "dana", email="dana@corp.example")
    assert post(Client(), tenant, "auth/signup", person.body).json()["state"] == "pending_email"
    assert not ChainMember.objects.filter(username="dana").exists()
    token = re.search(r"#c=([A-Za-z0-9_-]+)", str(mail.outbox[-1].body))
    assert token is not None
    assert (
        post(Client(), tenant, "auth/email/confirm", {"token": token.group(1)}).status_code == 200
    )
    member = ChainMember.objects.get(tenant=tenant, username="dana")
    assert member.how == "domain"
    admit = ChainLink.objects.get(tenant=tenant, seq=member.admitted_seq)
    assert b64u_encode(bytes(admit.signer)) == tenant_server_key(tenant)


def test_an_approval_on_a_chained_tenant_needs_the_admins_signed_admit(client: Client) -> None:
    tenant = enrolable("lear", SignupPolicy.APPROVAL)
    root = found(client, tenant, "approval")
    person = signup_payload("lear", "kent", email="kent@lear.example")
    assert post(Client(), tenant, "auth/signup", person.body).json()["state"] == "pending_approval"
    admin = User.objects.get(username="root")
    kent = User.objects.get(username="kent")
    with pytest.raises(AccountError) as refused:
        account_actions.do_decide_signup(admin, kent, approve=True, login_url="x")
    assert refused.value.code == "admit_required"
    assert User.objects.get(pk=kent.pk).state == AccountState.PENDING_APPROVAL
    admit = next_link(
        tenant,
        "admit",
        {"bundle": person.body["identity_bundle"], "role": "member", "how": "approval"},
        root.keys.sign_seed,
    )
    account_actions.do_decide_signup(
        admin, kent, approve=True, login_url="x", admit_link=parse_chain_link(admit.to_json())
    )
    assert User.objects.get(pk=kent.pk).state == AccountState.ACTIVE
    assert ChainMember.objects.get(tenant=tenant, username="kent").how == "approval"


def login_as(client: Client, tenant: Tenant, username: str) -> None:
    client.force_login(
        User.objects.get(tenant=tenant, username=username),
        backend="accounts.backends.TenantBackend",
    )


def test_on_a_chained_tenant_invites_are_signed_links_and_admit_once(client: Client) -> None:
    tenant = enrolable("club", SignupPolicy.INVITE)
    root = found(client, tenant, "invite")
    login_as(client, tenant, "root")
    token = bytes(range(32))
    token_hash = hashlib.sha256(token).digest()
    expires = now_ms() + 86_400_000
    body = {"token_hash": b64u_encode(token_hash), "role": "member", "expires_at": expires}
    unsigned = post(client, tenant, "invites", body)
    assert unsigned.json()["error"] == "invite_link_required"
    invite_link = next_link(
        tenant,
        "invite",
        {"token_hash": b64u_encode(token_hash), "role": "member", "expires": expires},
        root.keys.sign_seed,
    )
    signed = post(client, tenant, "invites", {**body, "invite_link": invite_link.to_json()})
    assert signed.status_code == 201, signed.content
    head = Client().get("/api/chain/head", HTTP_HOST="club.localhost").json()
    assert head["seq"] == 1
    newcomer = signup_payload("club", "newbie")
    admit = next_link(
        tenant,
        "admit",
        {
            "bundle": newcomer.body["identity_bundle"],
            "role": "member",
            "how": "invite",
            "token": b64u_encode(token),
        },
        newcomer.keys.sign_seed,
    )
    joined = post(
        Client(),
        tenant,
        "auth/signup",
        {
            **newcomer.body,
            "invite_token": b64u_encode(token),
            "chain_link": admit.to_json(),
        },
    )
    assert joined.status_code == 201, joined.content
    assert ChainMember.objects.get(tenant=tenant, username="newbie").how == "invite"


def test_admins_approve_in_the_app_with_a_signed_admit(client: Client) -> None:
    tenant = enrolable("lear", SignupPolicy.APPROVAL)
    root = found(client, tenant, "approval")
    person = signup_payload("lear", "kent", email="kent@lear.example")
    post(Client(), tenant, "auth/signup", person.body)
    login_as(client, tenant, "root")
    waiting = client.get("/api/signup-requests", HTTP_HOST="lear.localhost").json()["requests"]
    assert [entry["username"] for entry in waiting] == ["kent"]
    assert waiting[0]["identity_bundle"] == person.body["identity_bundle"]
    unsigned = post(client, tenant, "signup-requests/kent/approve", {})
    assert unsigned.json()["error"] == "admit_required"
    admit = next_link(
        tenant,
        "admit",
        {"bundle": waiting[0]["identity_bundle"], "role": "member", "how": "approval"},
        root.keys.sign_seed,
    )
    approved = post(client, tenant, "signup-requests/kent/approve", {"admit_link": admit.to_json()})
    assert approved.status_code == 204
    assert User.objects.get(username="kent").state == AccountState.ACTIVE
    member = Client()
    login_as(member, tenant, "kent")
    assert member.get("/api/signup-requests", HTTP_HOST="lear.localhost").status_code == 403


def test_roles_and_removals_in_the_chain_govern_the_accounts(client: Client) -> None:
    tenant = enrolable("acme", SignupPolicy.INVITE)
    root = found(client, tenant, "open")
    bob = signup_payload("acme", "bob")
    admit = next_link(
        tenant,
        "admit",
        {"bundle": bob.body["identity_bundle"], "role": "member", "how": "open"},
        bob.keys.sign_seed,
    )
    bob_client = Client()
    assert (
        post(
            bob_client, tenant, "auth/signup", {**bob.body, "chain_link": admit.to_json()}
        ).status_code
        == 201
    )
    # A member cannot promote themself: the chain refuses, nothing changes.
    self_promotion = next_link(
        tenant, "set_role", {"user": "bob", "role": "admin"}, bob.keys.sign_seed
    )
    refused = post(Client(), tenant, "chain/links", {"link": self_promotion.to_json()})
    assert refused.json()["error"] == "unauthorized"
    assert User.objects.get(username="bob").role == "member"
    promotion = next_link(tenant, "set_role", {"user": "bob", "role": "admin"}, root.keys.sign_seed)
    assert post(Client(), tenant, "chain/links", {"link": promotion.to_json()}).status_code == 201
    assert User.objects.get(username="bob").role == "admin"
    removal = next_link(tenant, "remove", {"user": "bob"}, root.keys.sign_seed)
    assert post(Client(), tenant, "chain/links", {"link": removal.to_json()}).status_code == 201
    assert User.objects.get(username="bob").state == AccountState.REMOVED
    assert bob_client.get("/api/auth/me", HTTP_HOST="acme.localhost").status_code == 401
    # A removed admin signs nothing valid any more.
    late = next_link(tenant, "set_role", {"user": "root", "role": "member"}, bob.keys.sign_seed)
    assert post(Client(), tenant, "chain/links", {"link": late.to_json()}).json()["error"] == (
        "unauthorized"
    )


def rotation_body(
    person: SignupPayload, tenant: Tenant, signer_seed: bytes
) -> tuple[dict[str, Any], IdentityKeys]:
    new_keys = IdentityKeys.generate()
    bundle = make_identity_bundle(new_keys, tenant=tenant.slug, user="root", created=now_ms())
    link = next_link(
        tenant, "rotate_keys", {"user": "root", "bundle": bundle.to_json()}, signer_seed
    )
    fresh = signup_payload(tenant.slug, "root", keys=new_keys)
    body = {
        "auth_key": person.body["auth_key"],
        "rotate_link": link.to_json(),
        "new_kdf": fresh.body["kdf"],
        "new_auth_key": fresh.body["auth_key"],
        "new_wrapped_keys": fresh.body["wrapped_keys"],
        "new_recovery": fresh.body["recovery"],
    }
    return body, new_keys


def test_keys_rotate_only_by_a_link_signed_with_the_old_key(client: Client) -> None:
    tenant = enrolable("acme", SignupPolicy.INVITE)
    root = found(client, tenant, "open")
    login_as(client, tenant, "root")
    forged, _ = rotation_body(root, tenant, signer_seed=IdentityKeys.generate().sign_seed)
    refused = post(client, tenant, "auth/rotate-keys", forged)
    assert refused.status_code == 400
    assert bytes(ChainMember.objects.get(username="root").sign_pub) == root.keys.sign_pub
    body, new_keys = rotation_body(root, tenant, signer_seed=root.keys.sign_seed)
    response = post(client, tenant, "auth/rotate-keys", body)
    assert response.status_code == 200, response.content
    assert bytes(ChainMember.objects.get(username="root").sign_pub) == new_keys.sign_pub
    assert response.json()["identity_bundle"]["sign_pub"] == b64u_encode(new_keys.sign_pub)
    assert response.json()["wrapped_keys"] == body["new_wrapped_keys"]
    # The old key signs nothing valid any more.
    stale = next_link(tenant, "policy", {"mode": "invite", "domains": []}, root.keys.sign_seed)
    assert post(Client(), tenant, "chain/links", {"link": stale.to_json()}).status_code == 400
