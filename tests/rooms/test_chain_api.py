"""The server applies the chain exactly as protocol/chain.py does: every
shared vector, posted link by link over HTTP."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import SignupPolicy, Tenant
from protocol import b64u_encode
from protocol.chain import verify_chain
from rooms import actions
from rooms.models import ChainHead, ChainLink, ChainMember, Room, RoomMember
from tests.people import make_tenant
from tests.vectors.generate import SERVER_SEED

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "chain"
ENROLMENT_TOKEN = bytes(range(32))

CASES = [
    case
    for path in sorted(VECTORS.glob("*.json"))
    for case in json.loads(path.read_text(encoding="utf-8"))["cases"]
]

pytestmark = pytest.mark.django_db(transaction=True)


def chain_tenant(slug: str) -> Tenant:
    tenant = make_tenant(slug, slug.title(), SignupPolicy.INVITE)
    # The vectors' genesis names the generator's server key; this tenant's
    # server key is that one, and its root admins hold the enrolment token.
    Tenant.objects.filter(pk=tenant.pk).update(
        server_sign_seed=SERVER_SEED,
        genesis_enrolment_hash=hashlib.sha256(ENROLMENT_TOKEN).digest(),
    )
    actions.forget_cached_state(tenant)
    return Tenant.objects.get(pk=tenant.pk)


def post_link(client: Client, tenant: Tenant, link: Any) -> Any:
    return client.post(
        "/api/chain/links",
        data=json.dumps({"link": link, "enrolment_token": b64u_encode(ENROLMENT_TOKEN)}),
        content_type="application/json",
        HTTP_HOST=f"{tenant.slug}.localhost",
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_server_judges_every_vector_link_as_the_protocol_does(
    client: Client, case: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PIPO_CHAIN_CHECK_CLOCK = "now_ms" in case
    if "now_ms" in case:
        monkeypatch.setattr(actions, "_now_ms", lambda: case["now_ms"])
    tenant = chain_tenant(case["tenant"])
    for index, link in enumerate(case["links"]):
        response = post_link(client, tenant, link)
        if case["valid"] or index < case["at"]:
            assert response.status_code == 201, (index, response.content)
            assert response.json()["seq"] == index
            continue
        assert response.status_code == 400, (index, response.content)
        assert response.json()["error"] == case["error"], response.json()
        # Nothing of the refused link was stored.
        assert ChainLink.objects.filter(tenant=tenant).count() == index
        head = ChainHead.objects.filter(tenant=tenant).first()
        assert (head.seq if head else -1) == index - 1
        break
    else:
        assert case["valid"], "an invalid case must fail at its index"


def test_the_materialised_state_follows_the_chain(client: Client, settings: Any) -> None:
    settings.PIPO_CHAIN_CHECK_CLOCK = False
    richest = max(
        (case for case in CASES if case["valid"] and case["tenant"] == "acme"),
        key=lambda case: len(case["links"]),
    )
    tenant = chain_tenant("acme")
    for link in richest["links"]:
        assert post_link(client, tenant, link).status_code == 201
    state = verify_chain(richest["links"], tenant="acme")
    members = {
        row.username: (row.role, row.how, bytes(row.sign_pub))
        for row in ChainMember.objects.filter(tenant=tenant)
    }
    assert members == {
        name: (str(member.role), str(member.how), member.sign_pub)
        for name, member in state.members.items()
    }
    rooms = {
        room.room_id: {
            member.username: member.role for member in RoomMember.objects.filter(room=room)
        }
        for room in Room.objects.filter(tenant=tenant)
    }
    assert rooms == {
        room_id: {user: str(role) for user, role in room.members.items()}
        for room_id, room in state.rooms.items()
    }


def test_reading_the_chain_needs_a_session_but_the_genesis_is_public(
    client: Client, settings: Any
) -> None:
    settings.PIPO_CHAIN_CHECK_CLOCK = False
    tenant = chain_tenant("acme")
    genesis = CASES[0]["links"][0]
    assert post_link(client, tenant, genesis).status_code == 201
    assert client.get("/api/chain", HTTP_HOST="acme.localhost").status_code == 401
    public = client.get("/api/chain/genesis", HTTP_HOST="acme.localhost").json()
    assert public["link"] == genesis
    assert public["anchors"] == []
