"""A multi-root genesis (`create_tenant --roots N`, PROTOCOL.md §6.8).

Each root admin enrols with their own single-use link, the server drafts the
genesis once every seat is taken, and each root signs exactly the drafted
bytes; the last signature appends it. Nobody else can sign up before that.
"""

import json
import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import RootEnrolment, Tenant, User
from protocol import b64u_decode, b64u_encode
from protocol.chain import parse_link
from protocol.encoding import canonical_json
from protocol.signing import SignatureTag, sign, sign_public_key
from rooms.models import ChainLink, ChainMember
from tests.people import SignupPayload, signup_payload

pytestmark = pytest.mark.django_db(transaction=True)
PGP = "0123456789abcdef0123456789abcdef01234567"


def create(slug: str, *args: str) -> list[str]:
    """create_tenant's enrolment tokens, in seat order."""
    out = StringIO()
    call_command("create_tenant", slug, "--name", slug.title(), *args, stdout=out)
    return re.findall(r"/signup#e=([A-Za-z0-9_-]+)", out.getvalue())


def post(client: Client, slug: str, path: str, body: Any) -> Any:
    return client.post(
        f"/api/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_HOST=f"{slug}.localhost",
    )


def draft_of(client: Client, slug: str) -> Any:
    return client.get("/api/chain/genesis-draft", HTTP_HOST=f"{slug}.localhost")


def enrol(slug: str, username: str, token: str) -> tuple[Client, SignupPayload]:
    client = Client()
    payload = signup_payload(slug, username)
    response = post(client, slug, "auth/signup", {**payload.body, "enrolment_token": token})
    assert response.status_code == 201, response.content
    assert response.json()["user"]["role"] == "owner"
    assert response.json()["state"] == "active"
    return client, payload


def signature_over(draft: dict[str, Any], payload: SignupPayload) -> str:
    return b64u_encode(sign(SignatureTag.LINK, canonical_json(draft), payload.keys.sign_seed))


def test_create_tenant_prints_one_enrolment_link_per_root(client: Client) -> None:
    tokens = create("globex", "--roots", "3", "--pgp", PGP.upper())
    assert len(tokens) == len(set(tokens)) == 3
    tenant = Tenant.objects.get(slug="globex")
    assert tenant.genesis_pgp == [PGP]
    assert RootEnrolment.objects.filter(tenant=tenant).count() == 3
    info = client.get("/api/tenant", HTTP_HOST="globex.localhost").json()
    assert (info["root_seats"], info["genesis_pgp"], info["chain_founded"]) == (3, [PGP], False)


def test_create_tenant_refuses_impossible_root_counts() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="between 1 and 8"):
        create("many", "--roots", "9")
    with pytest.raises(CommandError, match="40 or 64 hex digits"):
        create("badpgp", "--pgp", "not-a-fingerprint")
    assert not Tenant.objects.filter(slug__in=["many", "badpgp"]).exists()


def test_three_roots_enrol_then_sign_the_same_genesis() -> None:
    tokens = create("globex", "--roots", "3", "--policy", "invite", "--pgp", PGP)
    ann_client, ann = enrol("globex", "ann", tokens[0])
    # Before every seat is taken there is nothing to sign.
    waiting = draft_of(ann_client, "globex").json()
    assert waiting["draft"] is None
    assert (waiting["roots_total"], waiting["enrolled"]) == (3, ["ann"])
    early = post(ann_client, "globex", "chain/genesis-draft/signature", {"sig": "AAAA"})
    assert early.json()["error"] == "genesis_not_ready"
    # Seats are taken in any order; the genesis lists roots in seat order.
    cid_client, cid = enrol("globex", "cid", tokens[2])
    bea_client, bea = enrol("globex", "bea", tokens[1])
    draft = draft_of(bea_client, "globex").json()["draft"]
    roots = draft["body"]["roots"]
    assert [root["user"] for root in roots] == ["ann", "bea", "cid"]
    assert roots[1] == bea.body["identity_bundle"]
    assert draft["signer"] == ann.body["identity_bundle"]["sign_pub"]
    assert draft["body"]["pgp"] == [PGP]
    assert draft["body"]["policy"] == {"mode": "invite", "domains": []}
    assert (draft["seq"], draft["prev"], draft["type"]) == (0, None, "genesis")

    # A signature by someone else's key, or over other bytes, is refused.
    forged = post(
        bea_client, "globex", "chain/genesis-draft/signature", {"sig": signature_over(draft, ann)}
    )
    assert forged.status_code == 400
    assert forged.json()["error"] == "bad_signature"
    other_bytes = {**draft, "ts": draft["ts"] + 1}
    assert (
        post(
            bea_client,
            "globex",
            "chain/genesis-draft/signature",
            {"sig": signature_over(other_bytes, bea)},
        ).json()["error"]
        == "bad_signature"
    )
    assert not RootEnrolment.objects.get(user__username="bea").genesis_sig

    for client, payload, founded in ((cid_client, cid, False), (ann_client, ann, False)):
        answer = post(
            client,
            "globex",
            "chain/genesis-draft/signature",
            {"sig": signature_over(draft, payload)},
        )
        assert answer.status_code == 200, answer.content
        assert answer.json() == {"founded": founded}
    assert draft_of(ann_client, "globex").json()["signed"] == ["ann", "cid"]
    assert not ChainLink.objects.filter(tenant__slug="globex").exists()
    last = post(
        bea_client, "globex", "chain/genesis-draft/signature", {"sig": signature_over(draft, bea)}
    )
    assert last.json() == {"founded": True}

    stored = ChainLink.objects.get(tenant__slug="globex", seq=0)
    link = parse_link(stored.link)  # verifies every signature
    assert [b64u_encode(signer) for signer, _sig in link.cosigs] == [
        bea.body["identity_bundle"]["sign_pub"],
        cid.body["identity_bundle"]["sign_pub"],
    ]
    assert link.signer == sign_public_key(ann.keys.sign_seed)
    members = {
        member.username: (member.role, member.how)
        for member in ChainMember.objects.filter(tenant__slug="globex")
    }
    assert members == {name: ("owner", "genesis") for name in ("ann", "bea", "cid")}
    assert Tenant.objects.get(slug="globex").genesis_draft is None
    genesis = Client().get("/api/chain/genesis", HTTP_HOST="globex.localhost").json()
    assert b64u_decode(genesis["link"]["sig"]) == bytes(
        RootEnrolment.objects.get(user__username="ann").genesis_sig
    )


def test_enrolment_links_are_single_use_and_nobody_else_joins_before_the_genesis() -> None:
    tokens = create("globex", "--roots", "2", "--policy", "open")
    enrol("globex", "ann", tokens[0])
    again = post(
        Client(),
        "globex",
        "auth/signup",
        {**signup_payload("globex", "eve").body, "enrolment_token": tokens[0]},
    )
    assert again.json()["error"] == "enrolment_used"
    wrong = post(
        Client(),
        "globex",
        "auth/signup",
        {**signup_payload("globex", "eve").body, "enrolment_token": b64u_encode(bytes(32))},
    )
    assert wrong.json()["error"] == "enrolment_required"
    # An open workspace is not open before its roots found it.
    early = post(Client(), "globex", "auth/signup", signup_payload("globex", "eve").body)
    assert early.json()["error"] == "genesis_required"
    assert not User.objects.filter(tenant__slug="globex", username="eve").exists()


def test_a_genesis_cannot_bypass_the_seats() -> None:
    tokens = create("globex", "--roots", "2", "--policy", "open")
    ann_client, ann = enrol("globex", "ann", tokens[0])
    _bea_client, bea = enrol("globex", "bea", tokens[1])
    draft = draft_of(ann_client, "globex").json()["draft"]
    link = {**draft, "sig": signature_over(draft, ann)}
    link["cosigs"] = [
        {"signer": draft["body"]["roots"][1]["sign_pub"], "sig": signature_over(draft, bea)}
    ]
    # Even a fully signed genesis goes through the seats, not the link endpoint.
    refused = post(Client(), "globex", "chain/links", {"link": link, "enrolment_token": tokens[0]})
    assert refused.json()["error"] == "enrolment_required"
    assert not ChainLink.objects.filter(tenant__slug="globex").exists()


def test_only_the_roots_see_the_draft() -> None:
    tokens = create("globex", "--roots", "2", "--policy", "open")
    ann_client, _ann = enrol("globex", "ann", tokens[0])
    assert draft_of(Client(), "globex").status_code in (401, 403)
    other_tokens = create("initech", "--roots", "2")
    other_client, _ = enrol("initech", "ann", other_tokens[0])
    # ann of initech is nobody in globex (the session is per host/tenant).
    assert draft_of(other_client, "globex").status_code in (401, 403, 404)
    assert draft_of(ann_client, "globex").status_code == 200
