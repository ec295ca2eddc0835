"""Signup over the HTTP API: the four paths, and every refusal stores nothing."""

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import (
    AccountState,
    EmailConfirmation,
    Identity,
    Invite,
    KeyBackup,
    Role,
    SignupPolicy,
    Tenant,
    User,
)
from protocol import b64u_encode
from tests.people import PASSWORD, make_invite_token, make_tenant, signup_payload

# Real commits: emails are sent on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, tenant: Tenant, path: str, body: Any) -> Any:
    return client.post(
        f"/api/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_HOST=f"{tenant.slug}.localhost",
    )


def stored_rows() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        Identity.objects.count(),
        KeyBackup.objects.count(),
        EmailConfirmation.objects.count(),
    )


def assert_refused(response: Any, code: str, before: tuple[int, int, int, int]) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    assert stored_rows() == before


def test_open_signup_is_active_at_once_and_logged_in(client: Client, acme: Tenant) -> None:
    payload = signup_payload("acme", "alice")
    response = post(client, acme, "auth/signup", payload.body)
    assert response.status_code == 201
    assert response.json() == {
        "state": "active",
        "user": {"username": "alice", "email": "", "role": "member", "state": "active"},
    }
    me = client.get("/api/auth/me", HTTP_HOST="acme.localhost")
    assert me.status_code == 200
    assert me.json()["identity_bundle"] == payload.body["identity_bundle"]
    assert me.json()["wrapped_keys"] == payload.body["wrapped_keys"]
    user = User.objects.get(tenant=acme, username="alice")
    # Django's hash of the auth key: never the key itself.
    assert payload.body["auth_key"] not in user.password
    assert user.check_password(payload.body["auth_key"])


def test_approval_signup_waits_and_cannot_log_in(client: Client, lear: Tenant) -> None:
    payload = signup_payload("lear", "goneril", email="goneril@lear.example")
    response = post(client, lear, "auth/signup", payload.body)
    assert response.status_code == 201
    assert response.json()["state"] == "pending_approval"
    assert client.get("/api/auth/me", HTTP_HOST="lear.localhost").status_code == 401
    login = post(
        client, lear, "auth/login", {"username": "goneril", "auth_key": payload.body["auth_key"]}
    )
    assert login.status_code == 403
    assert login.json()["error"] == "pending_approval"


def test_approval_needs_an_email(client: Client, lear: Tenant) -> None:
    before = stored_rows()
    response = post(client, lear, "auth/signup", signup_payload("lear", "regan").body)
    assert_refused(response, "invalid_email", before)


@pytest.fixture
def corp(db: None) -> Tenant:
    return make_tenant("corp", "Corp", SignupPolicy.DOMAIN, ["corp.example"])


def confirmation_token(message: Any) -> str:
    found = re.search(r"/confirm#c=([A-Za-z0-9_-]+)", message.body)
    assert found is not None
    return found.group(1)


def test_domain_signup_refuses_an_outside_address(client: Client, corp: Tenant) -> None:
    before = stored_rows()
    payload = signup_payload("corp", "eve", email="eve@evil.example")
    response = post(client, corp, "auth/signup", payload.body)
    assert_refused(response, "domain_not_allowed", before)
    assert "corp.example" in response.json()["message"]
    assert mail.outbox == []


def test_domain_signup_confirms_once_by_email(client: Client, corp: Tenant) -> None:
    payload = signup_payload("corp", "dana", email="dana@Corp.Example")
    response = post(client, corp, "auth/signup", payload.body)
    assert response.json()["state"] == "pending_email"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@corp.example"]
    token = confirmation_token(mail.outbox[0])
    # The link carries the token in the fragment; the database only its hash.
    assert not EmailConfirmation.objects.filter(token_hash=token).exists()
    confirmed = post(client, corp, "auth/email/confirm", {"token": token})
    assert confirmed.json() == {"state": "active"}
    again = post(client, corp, "auth/email/confirm", {"token": token})
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_token"
    login = post(
        client, corp, "auth/login", {"username": "dana", "auth_key": payload.body["auth_key"]}
    )
    assert login.status_code == 200


def test_resending_voids_the_old_link_and_expired_links_fail(client: Client, corp: Tenant) -> None:
    post(
        client, corp, "auth/signup", signup_payload("corp", "dana", email="dana@corp.example").body
    )
    first = confirmation_token(mail.outbox[0])
    assert post(client, corp, "auth/email/resend", {"username": "dana"}).status_code == 204
    assert post(client, corp, "auth/email/resend", {"username": "nobody"}).status_code == 204
    assert len(mail.outbox) == 2
    second = confirmation_token(mail.outbox[1])
    assert post(client, corp, "auth/email/confirm", {"token": first}).json()["error"] == (
        "invalid_token"
    )
    EmailConfirmation.objects.filter(used_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = post(client, corp, "auth/email/confirm", {"token": second})
    assert expired.json()["error"] == "token_expired"
    assert User.objects.get(username="dana").state == AccountState.PENDING_EMAIL


@pytest.fixture
def club(db: None) -> Tenant:
    return make_tenant("club", "Club", SignupPolicy.INVITE)


def test_invite_only_needs_an_invite(client: Client, club: Tenant) -> None:
    before = stored_rows()
    response = post(client, club, "auth/signup", signup_payload("club", "zed").body)
    assert_refused(response, "invite_required", before)


def test_an_invite_admits_once_with_its_role(client: Client, club: Tenant) -> None:
    token = make_invite_token(club, role=Role.ADMIN)
    payload = signup_payload("club", "ann", invite_token=token)
    response = post(client, club, "auth/signup", payload.body)
    assert response.status_code == 201
    assert response.json()["user"]["role"] == "admin"
    assert response.json()["state"] == "active"
    # Only SHA-256(token) was ever stored.
    assert not Invite.objects.filter(token_hash=token).exists()
    before = stored_rows()
    reused = post(
        client, club, "auth/signup", signup_payload("club", "bo", invite_token=token).body
    )
    assert_refused(reused, "invite_used", before)


def test_an_expired_invite_is_refused(client: Client, club: Tenant) -> None:
    token = make_invite_token(club)
    Invite.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    before = stored_rows()
    response = post(
        client, club, "auth/signup", signup_payload("club", "cy", invite_token=token).body
    )
    assert_refused(response, "invite_expired", before)
    assert Invite.objects.get().used_at is None


def test_another_tenants_invite_token_is_invalid_here(
    client: Client, club: Tenant, acme: Tenant
) -> None:
    token = make_invite_token(acme)
    before = stored_rows()
    response = post(
        client, club, "auth/signup", signup_payload("club", "di", invite_token=token).body
    )
    assert_refused(response, "invite_invalid", before)


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda body: body["identity_bundle"].update(box_pub="AAAA"), "malformed_bundle"),
        (lambda body: body["identity_bundle"].update(extra=1), "malformed_bundle"),
        (lambda body: body.update(identity_bundle="not a bundle"), "malformed_bundle"),
        (
            lambda body: body["identity_bundle"].update(
                created=body["identity_bundle"]["created"] + 1
            ),
            "bad_signature",
        ),
        (lambda body: body["identity_bundle"].update(sig=b64u_encode(bytes(64))), "bad_signature"),
        (lambda body: body.update(username="someone-else"), "bundle_mismatch"),
        (lambda body: body.update(username="Alice!"), "invalid_username"),
        (lambda body: body.update(auth_key="short"), "invalid_request"),
        (lambda body: body.pop("recovery"), "invalid_request"),
        (lambda body: body["kdf"].update(ops=1), "invalid_kdf"),
        (lambda body: body["kdf"].update(alg="pbkdf2"), "invalid_kdf"),
        (lambda body: body["wrapped_keys"].update(nonce="AAAA"), "malformed_wrapped_keys"),
        (lambda body: body["recovery"].update(wrapped_keys=[]), "malformed_wrapped_keys"),
        (lambda body: body.update(email="not an address"), "invalid_email"),
    ],
)
def test_bad_signups_are_refused_with_a_clear_error_and_store_nothing(
    client: Client, acme: Tenant, mutate: Any, code: str
) -> None:
    body = signup_payload("acme", "alice").body
    mutate(body)
    before = stored_rows()
    assert_refused(post(client, acme, "auth/signup", body), code, before)


def test_a_bundle_made_for_another_tenant_is_refused(
    client: Client, acme: Tenant, lear: Tenant
) -> None:
    body = signup_payload("lear", "alice").body
    before = stored_rows()
    assert_refused(post(client, acme, "auth/signup", body), "bundle_mismatch", before)


def test_a_reused_username_is_refused(client: Client, acme: Tenant) -> None:
    assert (
        post(client, acme, "auth/signup", signup_payload("acme", "alice").body).status_code == 201
    )
    other = Client()
    before = stored_rows()
    response = post(other, acme, "auth/signup", signup_payload("acme", "alice").body)
    assert_refused(response, "username_taken", before)


def test_the_same_username_may_exist_in_two_tenants(client: Client, acme: Tenant) -> None:
    open_twin = make_tenant("acme2", "Acme Two", SignupPolicy.OPEN)
    assert (
        post(client, acme, "auth/signup", signup_payload("acme", "alice").body).status_code == 201
    )
    response = post(Client(), open_twin, "auth/signup", signup_payload("acme2", "alice").body)
    assert response.status_code == 201


def test_oversized_and_non_json_bodies_are_refused(client: Client, acme: Tenant) -> None:
    before = stored_rows()
    body = signup_payload("acme", "alice").body
    body["padding"] = "x" * (70 * 1024)
    big = post(client, acme, "auth/signup", body)
    assert big.status_code == 413
    assert big.json()["error"] == "too_large"
    broken = client.post(
        "/api/auth/signup",
        data="{not json",
        content_type="application/json",
        HTTP_HOST="acme.localhost",
    )
    assert broken.status_code == 400
    assert broken.json()["error"] == "invalid_request"
    assert "Traceback" not in broken.content.decode()
    assert stored_rows() == before


def test_signup_without_the_csrf_token_is_refused(acme: Tenant) -> None:
    client = Client(enforce_csrf_checks=True)
    response = post(client, acme, "auth/signup", signup_payload("acme", "alice").body)
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert User.objects.count() == 0


def test_password_is_not_what_the_server_stores(client: Client, acme: Tenant) -> None:
    payload = signup_payload("acme", "alice")
    post(client, acme, "auth/signup", payload.body)
    user = User.objects.get(username="alice")
    assert PASSWORD not in json.dumps(payload.body)
    assert PASSWORD not in user.password
