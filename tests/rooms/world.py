"""A chained tenant with people and rooms, made the way clients make them.

Signups post the signed genesis / self-signed admits over HTTP (as the
browser does); room links and epochs are signed with the people's test keys.
Sockets dial the live Daphne with the person's session cookie.
"""

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from websockets.asyncio.client import ClientConnection, connect

from accounts.models import SignupPolicy, Tenant, User
from protocol import IdentityKeys, b64u_encode
from protocol.envelope import Envelope, new_message_id, seal_envelope
from protocol.epoch import EpochRecord, make_epoch_record, new_epoch_key
from rooms import actions
from rooms.models import ChainHead
from tests.chain_links import genesis_for, next_link, now_ms
from tests.conftest import LiveServer
from tests.people import make_tenant, signup_payload

ENROLMENT = b"\x05" * 32


@dataclass
class Someone:
    username: str
    keys: IdentityKeys = field(repr=False)
    user: User
    session: str = field(repr=False)


@dataclass
class World:
    tenant: Tenant
    people: dict[str, Someone]
    epoch_keys: dict[tuple[str, int], bytes] = field(default_factory=dict, repr=False)

    def __getitem__(self, username: str) -> Someone:
        return self.people[username]

    # --- chain ------------------------------------------------------------------

    def append(self, type: str, body: dict[str, Any], signer: str) -> None:
        link = next_link(self.tenant, type, body, self.people[signer].keys.sign_seed)
        actions.check_append_link(self.tenant, link.to_json())

    def create_room(
        self, owner: str, members: list[str], *, kind: str = "private", history: str = "all"
    ) -> str:
        room = str(uuid.uuid4())
        self.append("room_create", {"room": room, "kind": kind, "history": history}, owner)
        for name in members:
            if name != owner:
                self.append("room_add", {"room": room, "user": name, "role": "member"}, owner)
        return room

    def chain_seq(self) -> int:
        head = ChainHead.objects.get(tenant=self.tenant)
        return head.seq

    # --- epochs and envelopes ------------------------------------------------------

    def epoch_record(
        self,
        room: str,
        epoch: int,
        creator: str,
        recipients: list[str],
        *,
        ts: int | None = None,
        signer: str | None = None,
    ) -> EpochRecord:
        key = new_epoch_key()
        self.epoch_keys[(room, epoch)] = key
        return make_epoch_record(
            tenant=self.tenant.slug,
            room=room,
            epoch=epoch,
            creator=creator,
            chain_seq=self.chain_seq(),
            ts=ts if ts is not None else now_ms(),
            epoch_key=key,
            recipients={name: self.people[name].keys.box_pub for name in recipients},
            sign_seed=self.people[signer or creator].keys.sign_seed,
        )

    def envelope(
        self,
        room: str,
        epoch: int,
        sender: str,
        text: str = "hello",
        *,
        ts: int | None = None,
        message_id: str | None = None,
        signer: str | None = None,
        tenant: str | None = None,
    ) -> Envelope:
        return seal_envelope(
            tenant=tenant or self.tenant.slug,
            room=room,
            epoch=epoch,
            message_id=message_id or new_message_id(),
            sender=sender,
            ts=ts if ts is not None else now_ms(),
            content={"kind": "text", "text": text},
            epoch_key=self.epoch_keys.get((room, epoch), b"\x00" * 32),
            sign_seed=self.people[signer or sender].keys.sign_seed,
        )


def _post(client: Client, tenant: Tenant, path: str, body: Any) -> Any:
    return client.post(
        f"/api/{path}",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_HOST=f"{tenant.slug}.localhost",
    )


def _session(user: User) -> str:
    client = Client()
    client.force_login(user, backend="accounts.backends.TenantBackend")
    return client.cookies["sessionid"].value


def make_world(slug: str, names: list[str]) -> World:
    """Tenant `slug` founded by names[0] (owner) with the others admitted (open policy)."""
    tenant = make_tenant(slug, slug.title(), SignupPolicy.INVITE)
    Tenant.objects.filter(pk=tenant.pk).update(
        genesis_enrolment_hash=hashlib.sha256(ENROLMENT).digest()
    )
    tenant = Tenant.objects.get(pk=tenant.pk)
    people: dict[str, Someone] = {}
    root = signup_payload(slug, names[0], email=f"{names[0]}@example.org")
    genesis = genesis_for(tenant, root.body["identity_bundle"], root.keys, mode="open")
    body = {**root.body, "chain_link": genesis.to_json(), "enrolment_token": b64u_encode(ENROLMENT)}
    response = _post(Client(), tenant, "auth/signup", body)
    assert response.status_code == 201, response.content
    payloads = {names[0]: root}
    for name in names[1:]:
        person = signup_payload(slug, name, email=f"{name}@example.org")
        admit = next_link(
            tenant,
            "admit",
            {"bundle": person.body["identity_bundle"], "role": "member", "how": "open"},
            person.keys.sign_seed,
        )
        joined = _post(
            Client(), tenant, "auth/signup", {**person.body, "chain_link": admit.to_json()}
        )
        assert joined.status_code == 201, joined.content
        payloads[name] = person
    tenant = Tenant.objects.get(pk=tenant.pk)
    for name, payload in payloads.items():
        user = User.objects.get(tenant=tenant, username=name)
        people[name] = Someone(name, payload.keys, user, _session(user))
    return World(tenant, people)


# --- sockets ------------------------------------------------------------------------


def open_socket(server: LiveServer, slug: str, session: str | None) -> Any:
    host = f"{slug}.localhost:{server.port}"
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    return connect(
        f"ws://{host}/ws/",
        origin=f"http://{host}",  # type: ignore[arg-type]
        host="127.0.0.1",
        port=server.port,
        additional_headers=headers,
    )


async def frame(socket: ClientConnection, wait: float = 10) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), wait))
    return reply


async def frames_until(
    socket: ClientConnection, wanted: str, wait: float = 10
) -> list[dict[str, Any]]:
    """Every frame up to and including the first of type `wanted` (presence frames skipped)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while True:
        got = await frame(socket, max(0.01, deadline - time.monotonic()))
        if got["type"] == "presence":
            continue
        seen.append(got)
        if got["type"] == wanted:
            return seen


async def nothing_more(socket: ClientConnection, wait: float = 0.5) -> list[dict[str, Any]]:
    """The frames (other than presence and chain notices) that arrive within `wait` seconds."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            got = await frame(socket, left)
        except TimeoutError:
            break
        if got["type"] not in {"presence", "chain"}:
            seen.append(got)
    return seen


async def send(socket: ClientConnection, body: dict[str, Any]) -> None:
    await socket.send(json.dumps(body))


async def request(socket: ClientConnection, body: dict[str, Any], wanted: str) -> dict[str, Any]:
    """Send a frame and return the first answer of type `wanted` or `error`."""
    await send(socket, body)
    deadline = time.monotonic() + 10
    while True:
        got = await frame(socket, max(0.01, deadline - time.monotonic()))
        if got["type"] in {wanted, "error"}:
            return got
