"""Encrypted rooms through a real Daphne, PostgreSQL and Redis (PROTOCOL.md §4.4, §7.5)."""

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from protocol import b64u_encode
from protocol.epoch import make_epoch_share
from rooms.message_actions import do_store_epoch_record
from rooms.models import EpochShare, Message, RoomEpoch
from tests.chain_links import now_ms
from tests.conftest import LiveServer, database_url_for_tests, start_live_server
from tests.rooms.world import (
    World,
    frame,
    frames_until,
    make_world,
    nothing_more,
    open_socket,
    request,
    send,
)
from tests.services import RedisServer

MEMBERS = ["alice", "bob", "carol"]


@pytest.fixture
def world(daphne_server: LiveServer) -> World:
    return make_world("rooms", [*MEMBERS, "dave"])


@pytest.fixture
def room(world: World) -> str:
    room_id = world.create_room("alice", MEMBERS)
    record = world.epoch_record(room_id, 0, "alice", MEMBERS)
    do_store_epoch_record(world.tenant, "alice", record.to_json())
    return room_id


def send_frame(envelope: Any) -> dict[str, Any]:
    return {"type": "send", "envelope": envelope.to_json()}


async def collect_messages(socket: ClientConnection, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while len(found) < count:
        got = await frame(socket)
        if got["type"] == "message":
            found.append(got)
    return found


async def test_every_member_gets_every_message_once_and_in_order(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    sockets = {name: open_socket(daphne_server, "rooms", world[name].session) for name in MEMBERS}
    async with sockets["alice"] as alice, sockets["bob"] as bob, sockets["carol"] as carol:
        connected = {"alice": alice, "bob": bob, "carol": carol}
        envelopes = [
            world.envelope(room, 0, name, f"{name} {i}") for i in range(5) for name in MEMBERS
        ]
        # Everyone sends at once, without waiting for acks.
        await asyncio.gather(
            *(send(connected[envelope.sender], send_frame(envelope)) for envelope in envelopes)
        )
        received = {
            name: await asyncio.wait_for(collect_messages(socket, len(envelopes)), 20)
            for name, socket in connected.items()
        }
        stored = list(Message.objects.filter(room__room_id=room).order_by("seq"))
        assert [row.seq for row in stored] == list(range(1, len(envelopes) + 1))
        assert {row.message_id for row in stored} == {envelope.id for envelope in envelopes}
        for name, frames in received.items():
            assert [(f["seq"], f["envelope"]["id"]) for f in frames] == [
                (row.seq, row.message_id) for row in stored
            ], name
            assert all(f["room"] == room for f in frames)
        for socket in connected.values():
            assert [f for f in await nothing_more(socket) if f["type"] == "message"] == []
        # The acks (interleaved with message frames on the senders' sockets) were
        # not read above; a resend is acknowledged with the stored seq.
        again = await request(alice, send_frame(envelopes[0]), "ack")
        row = next(r for r in stored if r.message_id == envelopes[0].id)
        assert again == {"type": "ack", "id": envelopes[0].id, "room": room, "seq": row.seq}


async def test_acks_carry_the_seq_and_resends_are_idempotent(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with open_socket(daphne_server, "rooms", world["alice"].session) as alice:
        envelope = world.envelope(room, 0, "alice")
        first = await request(alice, send_frame(envelope), "ack")
        assert first == {"type": "ack", "id": envelope.id, "room": room, "seq": 1}
        assert await request(alice, send_frame(envelope), "ack") == first
        other = world.envelope(room, 0, "alice", "something else", message_id=envelope.id)
        refused = await request(alice, send_frame(other), "ack")
        assert refused["code"] == "duplicate_id"
        assert refused["id"] == envelope.id
        assert Message.objects.filter(room__room_id=room).count() == 1


async def test_pipelined_sends_are_answered_in_order_each_before_its_message(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    """Sends are stored in batches while the socket reads on; the answers keep
    the order of the frames (a refused one in the middle included), a ping
    after them is answered after them, and a sender's `message` frame never
    comes before its ack."""
    async with (
        open_socket(daphne_server, "rooms", world["alice"].session) as alice,
        open_socket(daphne_server, "rooms", world["bob"].session) as bob,
    ):
        envelopes = [world.envelope(room, 0, "alice", f"m{i}") for i in range(30)]
        bad = world.envelope(room, 0, "alice", signer="bob")
        frames = [send_frame(e) for e in envelopes[:15]] + [send_frame(bad)]
        frames += [send_frame(e) for e in envelopes[15:]] + [{"type": "ping", "id": "after"}]
        for body in frames:
            await send(alice, body)
        answers: list[tuple[str, Any]] = []
        acked: set[int] = set()
        while not answers or answers[-1] != ("pong", "after"):
            got = await frame(alice)
            if got["type"] == "message":
                assert got["seq"] in acked, "a message before its ack"
            elif got["type"] == "ack":
                acked.add(got["seq"])
                answers.append(("ack", got["id"]))
            elif got["type"] in {"error", "pong"}:
                answers.append((got.get("code", "pong"), got.get("id")))
        assert answers == [
            *(("ack", e.id) for e in envelopes[:15]),
            ("bad_signature", bad.id),
            *(("ack", e.id) for e in envelopes[15:]),
            ("pong", "after"),
        ]
        delivered = await asyncio.wait_for(collect_messages(bob, len(envelopes)), 20)
        assert [(f["seq"], f["envelope"]["id"]) for f in delivered] == [
            (seq, e.id) for seq, e in enumerate(envelopes, 1)
        ]


@pytest.mark.parametrize(
    "fault",
    [
        "bad_signature",
        "wrong_sender",
        "clock_skew",
        "stale_epoch",
        "wrong_tenant",
        "malformed_envelope",
        "not_in_room",
    ],
)
async def test_every_refusal_stores_nothing(
    daphne_server: LiveServer, world: World, room: str, fault: str
) -> None:
    sender = "dave" if fault == "not_in_room" else "alice"
    envelope_json: Any
    if fault == "bad_signature":
        envelope_json = world.envelope(room, 0, "alice", signer="bob").to_json()
    elif fault == "wrong_sender":
        envelope_json = world.envelope(room, 0, "bob").to_json()
    elif fault == "clock_skew":
        envelope_json = world.envelope(room, 0, "alice", ts=now_ms() - 6 * 60 * 1000).to_json()
    elif fault == "stale_epoch":
        envelope_json = world.envelope(room, 1, "alice").to_json()
    elif fault == "wrong_tenant":
        envelope_json = world.envelope(room, 0, "alice", tenant="elsewhere").to_json()
    elif fault == "malformed_envelope":
        envelope_json = {**world.envelope(room, 0, "alice").to_json(), "extra": 1}
    else:
        envelope_json = world.envelope(room, 0, "dave").to_json()
    async with open_socket(daphne_server, "rooms", world[sender].session) as socket:
        reply = await request(socket, {"type": "send", "envelope": envelope_json}, "ack")
        assert reply["type"] == "error"
        assert reply["code"] == fault
        assert Message.objects.count() == 0
        assert await request(socket, {"type": "ping", "id": "alive"}, "pong") == {
            "type": "pong",
            "id": "alive",
        }


async def test_a_non_member_gets_not_in_room_and_404_and_so_does_another_tenant(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    other = make_world("other", ["olga"])
    for person, host in [(world["dave"], "rooms"), (other["olga"], "other")]:
        client = Client()
        client.force_login(person.user, backend="accounts.backends.TenantBackend")
        for path in (f"/api/rooms/{room}/messages", f"/api/rooms/{room}/epochs"):
            response = client.get(path, HTTP_HOST=f"{host}.localhost")
            assert response.status_code == 404, (person.username, path)
    unknown = "00000000-0000-4000-8000-000000000000"
    client = Client()
    client.force_login(world["alice"].user, backend="accounts.backends.TenantBackend")
    assert (
        client.get(f"/api/rooms/{unknown}/messages", HTTP_HOST="rooms.localhost").status_code == 404
    )
    async with open_socket(daphne_server, "rooms", world["dave"].session) as dave:
        for body in (
            {"type": "typing", "room": room},
            {"type": "read", "room": room, "seq": 1},
            {"type": "sync", "rooms": {room: 0}},
        ):
            reply = await request(dave, body, "synced")
            assert reply["code"] == "not_in_room", body


async def test_a_removed_member_stops_receiving_and_the_epoch_must_be_replaced(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with (
        open_socket(daphne_server, "rooms", world["alice"].session) as alice,
        open_socket(daphne_server, "rooms", world["carol"].session) as carol,
    ):
        before = world.envelope(room, 0, "alice", "before")
        assert (await request(alice, send_frame(before), "ack"))["seq"] == 1
        assert (await collect_messages(carol, 1))[0]["envelope"]["id"] == before.id
        world.append("room_remove", {"room": room, "user": "carol"}, "alice")
        # The old epoch is due for replacement: a member left.
        expired = await request(alice, send_frame(world.envelope(room, 0, "alice")), "ack")
        assert expired["code"] == "epoch_expired"
        # Epoch checks: sealed to a non-member, wrong number, bad signature.
        for record, code in [
            (world.epoch_record(room, 1, "alice", MEMBERS), "sealed_mismatch"),
            (world.epoch_record(room, 2, "alice", ["alice", "bob"]), "stale_epoch"),
            (world.epoch_record(room, 0, "alice", ["alice", "bob"]), "stale_epoch"),
            (world.epoch_record(room, 1, "alice", ["alice", "bob"], signer="bob"), "bad_signature"),
            (world.epoch_record(room, 1, "bob", ["alice", "bob"]), "wrong_sender"),
        ]:
            reply = await request(alice, {"type": "epoch", "record": record.to_json()}, "epoch_ack")
            assert reply["code"] == code
        assert RoomEpoch.objects.filter(room__room_id=room).count() == 1
        record = world.epoch_record(room, 1, "alice", ["alice", "bob"])
        ack = await request(alice, {"type": "epoch", "record": record.to_json()}, "epoch_ack")
        assert ack == {"type": "epoch_ack", "room": room, "epoch": 1}
        after = world.envelope(room, 1, "alice", "after")
        assert (await request(alice, send_frame(after), "ack"))["seq"] == 2
        assert await nothing_more(carol, 1.0) == []
        # Nor can carol read the history any more.
        client = Client()
        client.force_login(world["carol"].user, backend="accounts.backends.TenantBackend")
        assert (
            client.get(f"/api/rooms/{room}/messages", HTTP_HOST="rooms.localhost").status_code
            == 404
        )


async def test_an_epoch_older_than_seven_days_or_full_is_expired(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with open_socket(daphne_server, "rooms", world["alice"].session) as alice:
        RoomEpoch.objects.filter(room__room_id=room).update(ts=now_ms() - 7 * 24 * 3600 * 1000 - 1)
        reply = await request(alice, send_frame(world.envelope(room, 0, "alice")), "ack")
        assert reply["code"] == "epoch_expired"
        RoomEpoch.objects.filter(room__room_id=room).update(ts=now_ms(), message_count=1000)
        reply = await request(alice, send_frame(world.envelope(room, 0, "alice")), "ack")
        assert reply["code"] == "epoch_expired"
        RoomEpoch.objects.filter(room__room_id=room).update(message_count=999)
        reply = await request(alice, send_frame(world.envelope(room, 0, "alice")), "ack")
        assert reply["type"] == "ack"
        assert Message.objects.count() == 1


async def test_sync_after_a_reconnect_returns_exactly_the_missed_messages(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with open_socket(daphne_server, "rooms", world["alice"].session) as alice:
        async with open_socket(daphne_server, "rooms", world["bob"].session) as bob:
            seen = world.envelope(room, 0, "alice", "seen")
            await request(alice, send_frame(seen), "ack")
            assert (await collect_messages(bob, 1))[0]["seq"] == 1
        missed = [world.envelope(room, 0, "alice", f"missed {i}") for i in range(3)]
        for envelope in missed:
            await request(alice, send_frame(envelope), "ack")
    async with open_socket(daphne_server, "rooms", world["bob"].session) as bob:
        await send(bob, {"type": "sync", "rooms": {room: 1}, "id": "s1"})
        got = await frames_until(bob, "synced")
        assert [(f["seq"], f["envelope"]["id"]) for f in got[:-1]] == [
            (2 + i, envelope.id) for i, envelope in enumerate(missed)
        ]
        assert got[-1] == {"type": "synced", "rooms": {room: 4}}
        # Pushed again after the sync? Never twice.
        assert await nothing_more(bob) == []


async def test_a_bad_frame_keeps_the_socket_and_other_sockets_unaffected(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with (
        open_socket(daphne_server, "rooms", world["alice"].session) as alice,
        open_socket(daphne_server, "rooms", world["bob"].session) as bob,
    ):
        for bad, code in [
            ("{nope", "invalid_json"),
            ('{"type":"send"}', "invalid_field"),
            ('{"type":"send","envelope":[]}', "invalid_field"),
            ('{"type":"typing","room":"NOT-A-ROOM"}', "invalid_field"),
            ('{"type":"sync","rooms":{}}', "invalid_field"),
            ('{"type":"read","room":"' + room + '","seq":-1}', "invalid_field"),
            ('{"type":"epoch","record":{"v":1}}', "malformed_epoch"),
            ('{"type":"share","share":{"v":1}}', "malformed_share"),
        ]:
            await alice.send(bad)
            reply = await frame(alice)
            while reply["type"] == "presence":
                reply = await frame(alice)
            assert reply["code"] == code, bad
        assert await nothing_more(bob) == []
        envelope = world.envelope(room, 0, "alice")
        assert (await request(alice, send_frame(envelope), "ack"))["seq"] == 1
        assert (await collect_messages(bob, 1))[0]["envelope"]["id"] == envelope.id


async def test_typing_read_and_shares_reach_the_right_people(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with (
        open_socket(daphne_server, "rooms", world["alice"].session) as alice,
        open_socket(daphne_server, "rooms", world["alice"].session) as alice_tab,
        open_socket(daphne_server, "rooms", world["bob"].session) as bob,
        open_socket(daphne_server, "rooms", world["dave"].session) as dave,
    ):
        await send(alice, {"type": "typing", "room": room})
        assert (await frames_until(bob, "typing"))[-1] == {
            "type": "typing",
            "room": room,
            "user": "alice",
        }
        await send(alice, {"type": "read", "room": room, "seq": 0})
        wanted = {"type": "read", "room": room, "user": "alice", "seq": 0}
        assert (await frames_until(alice_tab, "read"))[-1] == wanted
        assert (await frames_until(bob, "read"))[-1] == wanted
        # dave joins; alice shares epoch 0 with him (history: all).
        world.append("room_add", {"room": room, "user": "dave", "role": "member"}, "alice")
        share = make_epoch_share(
            tenant="rooms",
            room=room,
            epoch=0,
            user="dave",
            by="alice",
            ts=now_ms(),
            epoch_key=world.epoch_keys[(room, 0)],
            box_pub=world["dave"].keys.box_pub,
            sign_seed=world["alice"].keys.sign_seed,
        )
        ack = await request(alice, {"type": "share", "share": share.to_json()}, "share_ack")
        assert ack == {"type": "share_ack", "room": room, "epoch": 0, "user": "dave"}
        pushed = (await frames_until(dave, "share"))[-1]
        assert pushed == {"type": "share", "room": room, "share": share.to_json()}
        assert [f for f in await nothing_more(bob) if f["type"] == "share"] == []
        assert EpochShare.objects.filter(username="dave").count() == 1
        client = Client()
        client.force_login(world["dave"].user, backend="accounts.backends.TenantBackend")
        epochs = client.get(f"/api/rooms/{room}/epochs", HTTP_HOST="rooms.localhost").json()
        assert [r["epoch"] for r in epochs["records"]] == [0]
        assert epochs["shares"] == [share.to_json()]
        # bob holds epoch 0 but cannot share with someone outside the room.
        outsider = make_epoch_share(
            tenant="rooms",
            room=room,
            epoch=0,
            user="carol",
            by="dave",
            ts=now_ms(),
            epoch_key=world.epoch_keys[(room, 0)],
            box_pub=world["carol"].keys.box_pub,
            sign_seed=world["dave"].keys.sign_seed,
        )
        reply = await request(alice, {"type": "share", "share": outsider.to_json()}, "share_ack")
        assert reply["code"] == "wrong_sender"


async def test_a_joined_history_room_refuses_shares_from_before_joining(
    daphne_server: LiveServer, world: World
) -> None:
    room = world.create_room("alice", ["alice", "bob"], history="joined")
    for epoch in (0, 1):
        record = world.epoch_record(room, epoch, "alice", ["alice", "bob"])
        do_store_epoch_record(world.tenant, "alice", record.to_json())
    world.append("room_add", {"room": room, "user": "carol", "role": "member"}, "alice")

    def share(epoch: int) -> dict[str, Any]:
        return {
            "type": "share",
            "share": make_epoch_share(
                tenant="rooms",
                room=room,
                epoch=epoch,
                user="carol",
                by="bob",
                ts=now_ms(),
                epoch_key=world.epoch_keys[(room, epoch)],
                box_pub=world["carol"].keys.box_pub,
                sign_seed=world["bob"].keys.sign_seed,
            ).to_json(),
        }

    async with open_socket(daphne_server, "rooms", world["bob"].session) as bob:
        assert (await request(bob, share(0), "share_ack"))["code"] == "history_forbids"
        assert (await request(bob, share(1), "share_ack"))["type"] == "share_ack"


async def test_history_pages_newest_first(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    async with open_socket(daphne_server, "rooms", world["alice"].session) as alice:
        ids = []
        for i in range(5):
            envelope = world.envelope(room, 0, "alice", f"m{i}")
            await request(alice, send_frame(envelope), "ack")
            ids.append(envelope.id)
    client = Client()
    client.force_login(world["bob"].user, backend="accounts.backends.TenantBackend")
    page = client.get(f"/api/rooms/{room}/messages?limit=2", HTTP_HOST="rooms.localhost").json()
    assert [m["seq"] for m in page["messages"]] == [5, 4]
    assert page["messages"][0]["envelope"]["id"] == ids[4]
    assert page["more"] is True
    page = client.get(
        f"/api/rooms/{room}/messages?limit=2&before=4", HTTP_HOST="rooms.localhost"
    ).json()
    assert [m["seq"] for m in page["messages"]] == [3, 2]
    page = client.get(
        f"/api/rooms/{room}/messages?limit=2&before=2", HTTP_HOST="rooms.localhost"
    ).json()
    assert ([m["seq"] for m in page["messages"]], page["more"]) == ([1], False)
    bad = client.get(f"/api/rooms/{room}/messages?limit=500", HTTP_HOST="rooms.localhost")
    assert bad.status_code == 400


async def test_signed_out_and_non_members_are_closed_with_their_codes(
    daphne_server: LiveServer, world: World, acme: Any
) -> None:
    from tests.people import make_person

    async with open_socket(daphne_server, "rooms", None) as anonymous:
        with pytest.raises(ConnectionClosed) as closed:
            await frame(anonymous)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
    # Signed in on a tenant whose chain does not list them.
    person = make_person(acme, "pat")
    client = Client()
    client.force_login(person.user, backend="accounts.backends.TenantBackend")
    async with open_socket(daphne_server, "acme", client.cookies["sessionid"].value) as outsider:
        with pytest.raises(ConnectionClosed) as closed:
            await frame(outsider)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403
    # A member removed from the tenant is closed at once.
    async with open_socket(daphne_server, "rooms", world["dave"].session) as dave:
        await request(dave, {"type": "ping"}, "pong")
        world.append("remove", {"user": "dave"}, "alice")
        with pytest.raises(ConnectionClosed) as closed:
            await until_closed(dave)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


async def until_closed(socket: ClientConnection) -> None:
    while True:
        await frame(socket)


@pytest.fixture
def limited_server(daphne_server: LiveServer) -> Iterator[LiveServer]:
    server = start_live_server(
        "rate-limited-server",
        DATABASE_URL=database_url_for_tests(),
        PIPO_RELAY_FRAMES_PER_SECOND="1",
        PIPO_RELAY_FRAME_BURST="5",
        PIPO_RELAY_CONNECTIONS_PER_MINUTE="1",
        PIPO_RELAY_CONNECTION_BURST="2",
    )
    yield server
    server.stop()


async def test_rate_limits_answer_with_retry_after(
    limited_server: LiveServer, world: World, room: str
) -> None:
    async with open_socket(limited_server, "rooms", world["alice"].session) as alice:
        for _ in range(7):
            await send(alice, {"type": "typing", "room": room, "id": "t"})
        replies = await nothing_more(alice, 1.0)
        assert len(replies) == 2
        for reply in replies:
            assert reply["code"] == "rate_limited"
            assert reply["id"] == "t"
            assert 0 < reply["retry_after_ms"] <= 1000
        # Pings are never limited; the socket stays open.
        assert await request(alice, {"type": "ping"}, "pong") == {"type": "pong"}
        async with open_socket(limited_server, "rooms", world["bob"].session) as bob:
            await request(bob, {"type": "ping"}, "pong")
        # Two connections so far from this address: the third is refused.
        async with open_socket(limited_server, "rooms", world["bob"].session) as refused:
            reply = await frame(refused)
            assert reply["code"] == "rate_limited"
            assert reply["retry_after_ms"] > 0
            with pytest.raises(ConnectionClosed) as closed:
                await frame(refused)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 4429


async def test_a_redis_restart_loses_no_message(
    daphne_server: LiveServer, world: World, room: str
) -> None:
    redis = RedisServer().start()
    server = start_live_server(
        "redis-restart-server", DATABASE_URL=database_url_for_tests(), REDIS_URL=redis.url
    )
    try:
        async with (
            open_socket(server, "rooms", world["alice"].session) as alice,
            open_socket(server, "rooms", world["bob"].session) as bob,
        ):
            first = world.envelope(room, 0, "alice", "before the outage")
            await request(alice, send_frame(first), "ack")
            assert (await collect_messages(bob, 1))[0]["seq"] == 1
            redis.stop()
            during = world.envelope(room, 0, "alice", "during the outage")
            ack = await request(alice, send_frame(during), "ack")
            assert ack["seq"] == 2  # stored and acknowledged without Redis
            redis.start()
            await asyncio.sleep(3)  # the layer reconnects and subscribes again
            after = world.envelope(room, 0, "alice", "after the outage")
            assert (await request(alice, send_frame(after), "ack"))["seq"] == 3
            got = await asyncio.wait_for(collect_messages(bob, 2), 15)
            # The lost push is filled in from the database, in order.
            assert [(f["seq"], f["envelope"]["id"]) for f in got] == [
                (2, during.id),
                (3, after.id),
            ]
        assert server.process.poll() is None
    finally:
        server.stop()
        redis.remove()


def test_the_envelope_is_stored_exactly_as_sent(world: World, room: str) -> None:
    from rooms.message_actions import do_store_envelope

    envelope = world.envelope(room, 0, "bob")
    stored = do_store_envelope(world.tenant, "bob", json.loads(json.dumps(envelope.to_json())))
    assert stored.created
    assert Message.objects.get(message_id=envelope.id).envelope == envelope.to_json()
    assert b64u_encode(envelope.sig) == envelope.to_json()["sig"]


async def alices_presence(socket: ClientConnection, wait: float = 0.5) -> list[str]:
    """The states announced for alice within `wait` seconds."""
    states: list[str] = []
    deadline = asyncio.get_running_loop().time() + wait
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            got = await frame(socket, left)
        except TimeoutError:
            break
        if got["type"] == "presence" and got["user"] == "alice":
            states.append(got["state"])
    return states


async def test_presence_away_is_announced_once_every_socket_of_the_user_is_away(
    daphne_server: LiveServer, world: World
) -> None:
    async with open_socket(daphne_server, "rooms", world["bob"].session) as bob:
        async with (
            open_socket(daphne_server, "rooms", world["alice"].session) as alice,
            open_socket(daphne_server, "rooms", world["alice"].session) as alice_tab,
        ):
            assert await alices_presence(bob) == ["online"]
            # One tab hidden: alice is still online in the other.
            await send(alice, {"type": "presence", "state": "away", "id": "p1"})
            assert await alices_presence(bob) == []
            await send(alice_tab, {"type": "presence", "state": "away"})
            assert await alices_presence(bob) == ["away"]
            # Saying it again changes nothing; a visible tab makes her online.
            await send(alice_tab, {"type": "presence", "state": "away"})
            assert await alices_presence(bob) == []
            await send(alice, {"type": "presence", "state": "online"})
            assert await alices_presence(bob) == ["online"]
            # The online tab closes: the one left is away.
            await alice.close()
            assert await alices_presence(bob) == ["away"]
        assert await alices_presence(bob) == ["offline"]


async def test_a_bad_presence_frame_is_invalid_field_and_the_socket_stays_open(
    daphne_server: LiveServer, world: World
) -> None:
    async with (
        open_socket(daphne_server, "rooms", world["alice"].session) as alice,
        open_socket(daphne_server, "rooms", world["bob"].session) as bob,
    ):
        bad_frames: list[dict[str, Any]] = [
            {"type": "presence", "state": "busy", "id": "b1"},
            {"type": "presence", "state": "offline", "id": "b2"},
            {"type": "presence", "state": "AWAY", "id": "b3"},
            {"type": "presence", "state": 1, "id": "b4"},
            {"type": "presence", "id": "b5"},
            {"type": "presence", "state": "away", "user": "bob", "id": "b6"},
        ]
        for bad in bad_frames:
            reply = await request(alice, bad, "presence_never")
            assert reply["type"] == "error"
            assert reply["code"] == "invalid_field", bad
            assert reply["id"] == bad["id"]
        assert await alices_presence(bob) in ([], ["online"])
        assert (await request(alice, {"type": "ping", "id": "still"}, "pong"))["id"] == "still"
