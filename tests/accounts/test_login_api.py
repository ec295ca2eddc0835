"""Login, throttling, password change, recovery, and tenant isolation."""

import json
import time
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuthFailure, Role, Tenant, User
from protocol import b64u_encode
from protocol.accounts import (
    BackupPurpose,
    derive_password_keys,
    new_kdf_params,
    new_recovery_code,
    parse_kdf_params,
    parse_wrapped_keys,
    recovery_keys,
    unwrap_identity_keys,
    wrap_identity_keys,
)
from tests.people import PASSWORD, Person, make_person

pytestmark = pytest.mark.django_db(transaction=True)


def post(client: Client, slug: str, path: str, body: Any) -> Any:
    return client.post(
        f"/api/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_HOST=f"{slug}.localhost",
    )


@pytest.fixture
def alice(acme: Tenant) -> Person:
    return make_person(acme, "alice")


def auth_key_for(person: Person, password: str, client: Client) -> str:
    kdf = post(client, "acme", "auth/prelogin", {"username": person.user.username}).json()["kdf"]
    return b64u_encode(derive_password_keys(password, parse_kdf_params(kdf)).auth_key)


def test_prelogin_answers_the_same_shape_for_known_and_unknown_users(
    client: Client, alice: Person
) -> None:
    known = post(client, "acme", "auth/prelogin", {"username": "alice"}).json()
    unknown = post(client, "acme", "auth/prelogin", {"username": "mallory"}).json()
    assert set(known) == set(unknown) == {"kdf"}
    assert set(known["kdf"]) == set(unknown["kdf"])
    assert {k: v for k, v in known["kdf"].items() if k != "salt"} == {
        k: v for k, v in unknown["kdf"].items() if k != "salt"
    }
    assert len(known["kdf"]["salt"]) == len(unknown["kdf"]["salt"])
    # A decoy is stable (asking twice reveals nothing) and differs per name.
    again = post(client, "acme", "auth/prelogin", {"username": "mallory"}).json()
    other = post(client, "acme", "auth/prelogin", {"username": "trudy"}).json()
    assert again == unknown
    assert other["kdf"]["salt"] != unknown["kdf"]["salt"]


def test_login_restores_the_backup_that_unlocks_the_same_keys(
    client: Client, alice: Person
) -> None:
    response = post(
        client,
        "acme",
        "auth/login",
        {"username": "alice", "auth_key": auth_key_for(alice, PASSWORD, client)},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "alice"
    kdf = parse_kdf_params(
        post(client, "acme", "auth/prelogin", {"username": "alice"}).json()["kdf"]
    )
    keys = unwrap_identity_keys(
        parse_wrapped_keys(body["wrapped_keys"]),
        derive_password_keys(PASSWORD, kdf).wrap_key,
        purpose=BackupPurpose.KEY_BACKUP,
        tenant="acme",
        user="alice",
    )
    assert keys.sign_pub == alice.signup.keys.sign_pub
    assert keys.box_secret == alice.signup.keys.box_secret


def test_a_wrong_password_and_an_unknown_user_get_the_same_error(
    client: Client, alice: Person
) -> None:
    wrong = post(
        client,
        "acme",
        "auth/login",
        {"username": "alice", "auth_key": auth_key_for(alice, "not the password!", client)},
    )
    unknown = post(
        client, "acme", "auth/login", {"username": "nobody", "auth_key": b64u_encode(bytes(32))}
    )
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "invalid_credentials",
            "message": "Wrong username or password.",
        }
    )


def test_failed_logins_are_throttled_per_account_with_a_clear_message(
    client: Client, alice: Person
) -> None:
    bad = {"username": "alice", "auth_key": b64u_encode(bytes(32))}
    for _ in range(5):
        assert post(client, "acme", "auth/login", bad).status_code == 400
    throttled = post(client, "acme", "auth/login", bad)
    assert throttled.status_code == 429
    assert throttled.json()["error"] == "throttled"
    assert throttled.json()["retry_after"] > 0
    assert "Try again in" in throttled.json()["message"]
    # Even the right password waits: that is what stops guessing.
    good = {"username": "alice", "auth_key": auth_key_for(alice, PASSWORD, client)}
    assert post(client, "acme", "auth/login", good).status_code == 429
    AuthFailure.objects.all().delete()
    assert post(client, "acme", "auth/login", good).status_code == 200


def test_failed_logins_are_throttled_per_address_across_accounts(
    client: Client, acme: Tenant
) -> None:
    for index in range(20):
        post(
            client,
            "acme",
            "auth/login",
            {"username": f"guess{index}", "auth_key": b64u_encode(bytes(32))},
        )
    response = post(
        client, "acme", "auth/login", {"username": "fresh", "auth_key": b64u_encode(bytes(32))}
    )
    assert response.status_code == 429


def new_password_body(person: Person, password: str) -> dict[str, Any]:
    kdf = new_kdf_params()
    keys = derive_password_keys(password, kdf)
    return {
        "new_kdf": kdf.to_json(),
        "new_auth_key": b64u_encode(keys.auth_key),
        "new_wrapped_keys": wrap_identity_keys(
            person.signup.keys,
            keys.wrap_key,
            purpose=BackupPurpose.KEY_BACKUP,
            tenant="acme",
            user=person.user.username,
        ).to_json(),
    }


def test_password_change_replaces_everything_at_once_and_ends_other_sessions(
    alice: Person,
) -> None:
    laptop, phone = Client(), Client()
    for device in (laptop, phone):
        login = {"username": "alice", "auth_key": auth_key_for(alice, PASSWORD, device)}
        assert post(device, "acme", "auth/login", login).status_code == 200
    old_key = auth_key_for(alice, PASSWORD, laptop)
    body = {"auth_key": old_key, **new_password_body(alice, "a brand new passphrase")}
    assert post(laptop, "acme", "auth/password", body).status_code == 204
    assert laptop.get("/api/auth/me", HTTP_HOST="acme.localhost").status_code == 200
    assert phone.get("/api/auth/me", HTTP_HOST="acme.localhost").status_code == 401
    fresh = Client()
    assert (
        post(fresh, "acme", "auth/login", {"username": "alice", "auth_key": old_key}).status_code
        == 400
    )
    new_key = auth_key_for(alice, "a brand new passphrase", fresh)
    response = post(fresh, "acme", "auth/login", {"username": "alice", "auth_key": new_key})
    assert response.json()["wrapped_keys"] == body["new_wrapped_keys"]


def test_password_change_with_a_wrong_current_password_changes_nothing(
    client: Client, alice: Person
) -> None:
    post(
        client,
        "acme",
        "auth/login",
        {"username": "alice", "auth_key": auth_key_for(alice, PASSWORD, client)},
    )
    before = User.objects.get(pk=alice.user.pk).password
    body = {"auth_key": b64u_encode(bytes(32)), **new_password_body(alice, "another passphrase")}
    response = post(client, "acme", "auth/password", body)
    assert response.json()["error"] == "invalid_credentials"
    assert User.objects.get(pk=alice.user.pk).password == before


def test_the_recovery_code_restores_access_once_and_sets_a_new_password(
    client: Client, alice: Person
) -> None:
    recovery_auth = b64u_encode(recovery_keys(alice.signup.recovery.secret).auth_key)
    unlocked = post(
        client,
        "acme",
        "auth/recovery/unlock",
        {"username": "alice", "recovery_auth_key": recovery_auth},
    )
    assert unlocked.status_code == 200
    keys = unwrap_identity_keys(
        parse_wrapped_keys(unlocked.json()["recovery_wrapped_keys"]),
        recovery_keys(alice.signup.recovery.secret).wrap_key,
        purpose=BackupPurpose.RECOVERY_BACKUP,
        tenant="acme",
        user="alice",
    )
    assert keys.box_secret == alice.signup.keys.box_secret
    new_code = new_recovery_code()
    reset = {
        "username": "alice",
        "recovery_auth_key": recovery_auth,
        **new_password_body(alice, "recovered passphrase"),
        "new_recovery": {
            "auth_key": b64u_encode(recovery_keys(new_code.secret).auth_key),
            "wrapped_keys": wrap_identity_keys(
                keys,
                recovery_keys(new_code.secret).wrap_key,
                purpose=BackupPurpose.RECOVERY_BACKUP,
                tenant="acme",
                user="alice",
            ).to_json(),
        },
    }
    response = post(client, "acme", "auth/recovery/reset", reset)
    assert response.status_code == 200
    assert client.get("/api/auth/me", HTTP_HOST="acme.localhost").status_code == 200
    # The used code is spent; the new password works.
    spent = post(
        Client(),
        "acme",
        "auth/recovery/unlock",
        {"username": "alice", "recovery_auth_key": recovery_auth},
    )
    assert spent.json()["error"] == "invalid_credentials"
    fresh = Client()
    login = {"username": "alice", "auth_key": auth_key_for(alice, "recovered passphrase", fresh)}
    assert post(fresh, "acme", "auth/login", login).status_code == 200


def test_logout_ends_the_session(client: Client, alice: Person) -> None:
    post(
        client,
        "acme",
        "auth/login",
        {"username": "alice", "auth_key": auth_key_for(alice, PASSWORD, client)},
    )
    assert post(client, "acme", "auth/logout", {}).status_code == 204
    assert client.get("/api/auth/me", HTTP_HOST="acme.localhost").status_code == 401


def test_a_user_of_one_tenant_cannot_log_in_or_read_at_another(
    client: Client, alice: Person, lear: Tenant
) -> None:
    lear_admin = make_person(lear, "cordelia", role=Role.ADMIN)
    key = auth_key_for(alice, PASSWORD, client)
    assert (
        post(client, "acme", "auth/login", {"username": "alice", "auth_key": key}).status_code
        == 200
    )
    # The same credentials at lear: no such user there.
    at_lear = post(client, "lear", "auth/login", {"username": "alice", "auth_key": key})
    assert at_lear.json()["error"] == "invalid_credentials"
    # Acme's session cookie presented at lear's host reads nothing of lear.
    assert client.get("/api/auth/me", HTTP_HOST="lear.localhost").status_code == 401
    assert client.get("/api/invites", HTTP_HOST="lear.localhost").status_code == 401
    assert client.get("/admin/accounts/user/", HTTP_HOST="lear.localhost").status_code == 302
    assert lear_admin.user.tenant == lear


def test_invites_are_for_admins_and_scoped_to_their_tenant(
    client: Client, acme: Tenant, lear: Tenant
) -> None:
    boss = make_person(acme, "boss", role=Role.ADMIN)
    post(
        client,
        "acme",
        "auth/login",
        {"username": "boss", "auth_key": auth_key_for(boss, PASSWORD, client)},
    )
    body = {
        "token_hash": b64u_encode(bytes(range(32))),
        "role": "member",
        "expires_at": int(time.time() * 1000) + 86_400_000,
    }
    created = post(client, "acme", "invites", body)
    assert created.status_code == 201
    listed = client.get("/api/invites", HTTP_HOST="acme.localhost").json()["invites"]
    assert [invite["role"] for invite in listed][:1] == ["member"]
    member = make_person(acme, "pleb")
    other = Client()
    post(
        other,
        "acme",
        "auth/login",
        {"username": "pleb", "auth_key": auth_key_for(member, PASSWORD, other)},
    )
    refused = post(other, "acme", "invites", {**body, "token_hash": b64u_encode(bytes(32))})
    assert refused.status_code == 403


def test_unknown_hosts_have_no_api(client: Client) -> None:
    response = client.get("/api/tenant", HTTP_HOST="nobody.localhost")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_create_tenant_prints_the_address_and_a_root_enrolment_link(capsys: Any) -> None:
    call_command("create_tenant", "globex", "--name", "Globex", "--policy", "invite")
    output = capsys.readouterr().out
    assert "Workspace 'Globex': http://globex.localhost:" in output
    assert output.count("/signup#e=") == 1
    assert "/signup#t=" not in output  # no owner invite: the root admin founds the chain
    assert Tenant.objects.get(slug="globex").signup_policy == "invite"
