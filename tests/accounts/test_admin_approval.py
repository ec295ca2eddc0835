"""The admin panel's "Approve (sign in browser)" page on a chained tenant: the
page is only a script host; what approves is the admin's signed admit link,
which the server verifies. Anything else is refused and changes nothing."""

import json
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import AccountState, Role, SignupPolicy, Tenant, User
from frontend.assets import ADMIN_APPROVAL_ENTRY, MANIFEST
from protocol import IdentityKeys
from protocol.chain import Link, sign_link
from rooms.models import ChainHead, ChainLink, ChainMember
from tests.chain_links import next_link, now_ms
from tests.people import SignupPayload, make_person, make_tenant, signup_payload
from tests.rooms import test_admissions as admissions

pytestmark = pytest.mark.django_db(transaction=True)
HOST = "elsinore.localhost"


def admin_of(tenant: Tenant, username: str = "root") -> Client:
    client = Client()
    client.force_login(
        User.objects.get(tenant=tenant, username=username),
        backend="accounts.backends.TenantBackend",
    )
    return client


def chained_with_pending(*names: str) -> tuple[Tenant, SignupPayload, dict[str, SignupPayload]]:
    """Tenant 'elsinore' (approval), founded by root, with `names` waiting."""
    tenant = admissions.enrolable("elsinore", SignupPolicy.APPROVAL)
    root = admissions.found(Client(), tenant, "approval")
    waiting = {}
    for name in names:
        waiting[name] = signup_payload("elsinore", name, email=f"{name}@elsinore.example")
        response = admissions.post(Client(), tenant, "auth/signup", waiting[name].body)
        assert response.status_code == 201, response.content
    return tenant, root, waiting


def approval_url(user: User) -> str:
    return f"/admin/accounts/signuprequest/{user.pk}/approve/"


def chain_snapshot(tenant: Tenant) -> tuple[int, int, list[str]]:
    head = ChainHead.objects.get(tenant=tenant)
    members = sorted(ChainMember.objects.filter(tenant=tenant).values_list("username", flat=True))
    return head.seq, ChainLink.objects.filter(tenant=tenant).count(), members


def test_each_pending_signup_links_to_its_approval_page_which_loads_the_signing_script() -> None:
    if not MANIFEST.exists():
        pytest.fail("frontend not built: run `make frontend`")
    tenant, _root, _ = chained_with_pending("hamlet")
    hamlet = User.objects.get(tenant=tenant, username="hamlet")
    admin = admin_of(tenant)
    listing = admin.get("/admin/accounts/signuprequest/", HTTP_HOST=HOST).content.decode()
    assert f'href="{approval_url(hamlet)}"' in listing
    assert "Approve (sign in browser)" in listing

    page = admin.get(approval_url(hamlet), HTTP_HOST=HOST)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    html = page.content.decode()
    assert 'id="pipo-approval"' in html
    assert 'data-username="hamlet"' in html
    assert 'data-tenant-slug="elsinore"' in html
    assert 'data-login-url="/login?next=%2Fadmin%2Faccounts%2Fsignuprequest%2F' in html
    assert 'id="site-name"' in html  # the admin's own header: this is an admin page
    # The second Vite entry, with this response's nonce; no inline script at all.
    entry = json.loads(MANIFEST.read_text())[ADMIN_APPROVAL_ENTRY]
    nonce = re.search(r"'nonce-([^']+)'", page["Content-Security-Policy"])
    assert nonce is not None
    assert (
        f'<script type="module" src="/static/frontend/dist/{entry["file"]}" '
        f'nonce="{nonce.group(1)}"></script>'
    ) in html
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    for css in entry.get("css", []):
        assert f'href="/static/frontend/dist/{css}"' in html
    assert "csrftoken" in page.cookies


def test_the_admin_action_on_a_chained_tenant_sends_the_admin_to_the_signing_page() -> None:
    tenant, _root, _ = chained_with_pending("hamlet", "ophelia")
    hamlet = User.objects.get(tenant=tenant, username="hamlet")
    ophelia = User.objects.get(tenant=tenant, username="ophelia")
    before = chain_snapshot(tenant)
    admin = admin_of(tenant)

    def act(*people: User) -> Any:
        return admin.post(
            "/admin/accounts/signuprequest/",
            {"action": "approve_signups", "_selected_action": [str(p.pk) for p in people]},
            HTTP_HOST=HOST,
        )

    one = act(hamlet)
    assert one.status_code == 302
    assert one["Location"] == approval_url(hamlet)
    several = act(hamlet, ophelia)
    assert several.status_code == 302  # back to the list, with a warning
    warning = admin.get(several["Location"], HTTP_HOST=HOST).content.decode()
    assert "one person at a time" in warning
    # Nothing was approved by the server on its own.
    assert set(User.objects.filter(tenant=tenant).values_list("state", flat=True)) == {
        AccountState.ACTIVE,
        AccountState.PENDING_APPROVAL,
    }
    assert User.objects.get(pk=hamlet.pk).state == AccountState.PENDING_APPROVAL
    assert chain_snapshot(tenant) == before


def _forgeries(
    tenant: Tenant, root: SignupPayload, hamlet: SignupPayload, ophelia: SignupPayload
) -> dict[str, tuple[dict[str, Any], str]]:
    """Approvals that are not the admin's valid admit of this request, with the refusal."""
    bundle = hamlet.body["identity_bundle"]
    good_body = {"bundle": bundle, "role": "member", "how": "approval"}
    by_root = next_link(tenant, "admit", good_body, root.keys.sign_seed)
    tampered = by_root.to_json()
    tampered["sig"] = tampered["sig"][:-4] + ("AAAA" if tampered["sig"][-4:] != "AAAA" else "BBBB")
    head = ChainHead.objects.get(tenant=tenant)
    stale: Link = sign_link(
        tenant=tenant.slug,
        seq=head.seq,
        prev=None,
        ts=now_ms(),
        type="admit",
        body=good_body,
        seed=root.keys.sign_seed,
    )
    return {
        "nothing": ({}, "admit_required"),
        "not a link": ({"admit_link": {"type": "admit", "body": good_body}}, "malformed_link"),
        "signed by the newcomer": (
            {"admit_link": next_link(tenant, "admit", good_body, hamlet.keys.sign_seed).to_json()},
            "unauthorized",
        ),
        "signed by a stranger": (
            {
                "admit_link": next_link(
                    tenant, "admit", good_body, IdentityKeys.generate().sign_seed
                ).to_json()
            },
            "unauthorized",
        ),
        "bad signature": ({"admit_link": tampered}, "bad_signature"),
        "not an approval": (
            {
                "admit_link": next_link(
                    tenant, "admit", {**good_body, "how": "open"}, root.keys.sign_seed
                ).to_json()
            },
            "bundle_mismatch",
        ),
        "someone else's keys": (
            {
                "admit_link": next_link(
                    tenant,
                    "admit",
                    {**good_body, "bundle": ophelia.body["identity_bundle"]},
                    root.keys.sign_seed,
                ).to_json()
            },
            "bundle_mismatch",
        ),
        "off the head": ({"admit_link": stale.to_json()}, "seq_gap"),
    }


def test_an_approval_that_is_not_a_valid_signed_link_is_refused_and_changes_nothing() -> None:
    tenant, root, waiting = chained_with_pending("hamlet", "ophelia")
    # Open the admin page first, as the page's script would run from it.
    admin = admin_of(tenant)
    hamlet = User.objects.get(tenant=tenant, username="hamlet")
    assert admin.get(approval_url(hamlet), HTTP_HOST=HOST).status_code == 200
    before = chain_snapshot(tenant)
    mail.outbox.clear()
    for name, (body, expected) in _forgeries(
        tenant, root, waiting["hamlet"], waiting["ophelia"]
    ).items():
        refused = admin.post(
            "/api/signup-requests/hamlet/approve",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_HOST=HOST,
            HTTP_REFERER=f"http://{HOST}{approval_url(hamlet)}",
        )
        assert 400 <= refused.status_code < 500, (name, refused.content)
        assert refused.json()["error"] == expected, (name, refused.content)
        assert User.objects.get(pk=hamlet.pk).state == AccountState.PENDING_APPROVAL, name
        assert User.objects.get(pk=hamlet.pk).decided_by is None, name
        assert chain_snapshot(tenant) == before, name
    assert mail.outbox == []

    # The real thing, signed by the admin's key on the head, is accepted.
    good = next_link(
        tenant,
        "admit",
        {"bundle": waiting["hamlet"].body["identity_bundle"], "role": "member", "how": "approval"},
        root.keys.sign_seed,
    )
    approved = admin.post(
        "/api/signup-requests/hamlet/approve",
        data=json.dumps({"admit_link": good.to_json()}),
        content_type="application/json",
        HTTP_HOST=HOST,
    )
    assert approved.status_code == 204, approved.content
    member = ChainMember.objects.get(tenant=tenant, username="hamlet")
    assert member.how == "approval"
    assert User.objects.get(pk=hamlet.pk).state == AccountState.ACTIVE
    # Decided: the page now answers "not found" rather than offering to approve again.
    assert admin.get(approval_url(hamlet), HTTP_HOST=HOST).status_code == 404


def test_rejecting_from_the_admin_needs_no_link_on_a_chained_tenant() -> None:
    tenant, _root, _ = chained_with_pending("ophelia")
    ophelia = User.objects.get(tenant=tenant, username="ophelia")
    before = chain_snapshot(tenant)
    response = admin_of(tenant).post(
        "/admin/accounts/signuprequest/",
        {"action": "reject_signups", "_selected_action": [str(ophelia.pk)]},
        HTTP_HOST=HOST,
    )
    assert response.status_code == 302
    assert User.objects.get(pk=ophelia.pk).state == AccountState.REJECTED
    assert chain_snapshot(tenant) == before
    assert [message.to for message in mail.outbox] == [["ophelia@elsinore.example"]]


def test_only_this_tenants_admins_open_the_approval_page() -> None:
    tenant, _root, _ = chained_with_pending("hamlet")
    hamlet = User.objects.get(tenant=tenant, username="hamlet")
    other = make_tenant("lear", "Lear & Co", SignupPolicy.APPROVAL)
    goneril = make_person(other, "goneril", role=Role.ADMIN)
    stranger = Client()
    stranger.force_login(goneril.user, backend="accounts.backends.TenantBackend")
    # Another tenant's admin at this host: logged out and sent to the login.
    assert stranger.get(approval_url(hamlet), HTTP_HOST=HOST).status_code == 302
    # At their own host, this tenant's request does not exist.
    own = Client()
    own.force_login(goneril.user, backend="accounts.backends.TenantBackend")
    assert own.get(approval_url(hamlet), HTTP_HOST="lear.localhost").status_code == 404
    anonymous = Client().get(approval_url(hamlet), HTTP_HOST=HOST)
    assert anonymous.status_code == 302
    assert "/login" in anonymous["Location"]
