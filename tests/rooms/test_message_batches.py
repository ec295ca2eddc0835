"""Group commit (rooms.message_actions.do_store_envelopes): many envelopes, one
transaction per room, each judged as if it came alone (PROTOCOL.md §7.5)."""

from typing import Any

import pytest

from rooms import message_actions
from rooms.message_actions import RoomError, StoredEnvelope, do_store_envelopes
from rooms.models import Message, Room, RoomEpoch
from tests.chain_links import now_ms
from tests.rooms.world import World, make_world

pytestmark = pytest.mark.django_db(transaction=True)
MEMBERS = ["alice", "bob", "carol"]


@pytest.fixture
def world() -> World:
    return make_world("batches", [*MEMBERS, "dave"])


def new_room(world: World, members: list[str] = MEMBERS) -> str:
    room: str = world.create_room("alice", members)
    record = world.epoch_record(room, 0, "alice", members)
    message_actions.do_store_epoch_record(world.tenant, "alice", record.to_json())
    return room


def outcome(result: object) -> Any:
    if isinstance(result, StoredEnvelope):
        return (result.seq, result.created)
    assert isinstance(result, RoomError), result
    return result.code


def stored_ids(room: str) -> list[str]:
    return list(
        Message.objects.filter(room__room_id=room)
        .order_by("seq")
        .values_list("message_id", flat=True)
    )


def test_a_bad_envelope_in_a_batch_is_refused_alone(world: World) -> None:
    room = new_room(world)
    good = [
        world.envelope(room, 0, name, f"{name} {i}") for i in range(3) for name in ("alice", "bob")
    ]
    bad = [
        (world.tenant, "bob", world.envelope(room, 0, "bob", signer="carol").to_json()),
        (world.tenant, "dave", world.envelope(room, 0, "dave").to_json()),
        (world.tenant, "bob", world.envelope(room, 0, "bob", ts=now_ms() - 3_600_000).to_json()),
        (world.tenant, "bob", world.envelope(room, 1, "bob").to_json()),
        (world.tenant, "bob", world.envelope(room, 0, "alice").to_json()),
        (world.tenant, "bob", {"v": 1}),
    ]
    requests = (
        [(world.tenant, e.sender, e.to_json()) for e in good[:3]]
        + bad
        + [(world.tenant, e.sender, e.to_json()) for e in good[3:]]
    )
    results = [outcome(result) for result in do_store_envelopes(requests)]
    assert results == [
        (1, True),
        (2, True),
        (3, True),
        "bad_signature",
        "not_in_room",
        "clock_skew",
        "stale_epoch",
        "wrong_sender",
        "malformed_envelope",
        (4, True),
        (5, True),
        (6, True),
    ]
    # Interleaved senders, gap-free seqs in the order given; nothing of the refused.
    assert stored_ids(room) == [e.id for e in good]
    assert Room.objects.get(room_id=room).last_seq == 6
    assert RoomEpoch.objects.get(room__room_id=room).message_count == 6


def test_an_id_twice_in_a_batch_is_a_resend_or_a_duplicate(world: World) -> None:
    room = new_room(world)
    first = world.envelope(room, 0, "alice", "one")
    other = world.envelope(room, 0, "alice", "two", message_id=first.id)
    requests = [(world.tenant, "alice", e.to_json()) for e in (first, first, other)]
    assert [outcome(r) for r in do_store_envelopes(requests)] == [
        (1, True),
        (1, False),
        "duplicate_id",
    ]
    # And in a later batch, whatever the clock and the epoch say by then.
    RoomEpoch.objects.filter(room__room_id=room).update(message_count=10_000)
    assert [outcome(r) for r in do_store_envelopes(requests)] == [
        (1, False),
        (1, False),
        "duplicate_id",
    ]
    assert stored_ids(room) == [first.id]


def test_rooms_of_one_batch_count_apart_and_an_id_used_in_both_is_refused(world: World) -> None:
    one, two = new_room(world), new_room(world, ["alice", "bob"])
    shared = world.envelope(one, 0, "alice", "a")
    requests = [
        (world.tenant, "alice", shared.to_json()),
        (world.tenant, "bob", world.envelope(two, 0, "bob").to_json()),
        (world.tenant, "alice", world.envelope(one, 0, "alice").to_json()),
        (world.tenant, "alice", world.envelope(two, 0, "alice", message_id=shared.id).to_json()),
        (world.tenant, "alice", world.envelope(two, 0, "alice").to_json()),
    ]
    assert [outcome(r) for r in do_store_envelopes(requests)] == [
        (1, True),
        (1, True),
        (2, True),
        "duplicate_id",
        (2, True),
    ]


def test_the_epoch_budget_runs_out_inside_a_batch(world: World, settings: Any) -> None:
    settings.PIPO_EPOCH_MAX_MESSAGES = 3
    room = new_room(world)
    requests = [(world.tenant, "bob", world.envelope(room, 0, "bob").to_json()) for _ in range(5)]
    assert [outcome(r) for r in do_store_envelopes(requests)] == [
        (1, True),
        (2, True),
        (3, True),
        "epoch_expired",
        "epoch_expired",
    ]


def test_a_failed_insert_falls_back_to_one_by_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An id that raced in through another room makes the batch's INSERT fail:
    the others are stored anyway, and only that one is refused."""
    one, two = new_room(world), new_room(world)
    raced = world.envelope(one, 0, "alice")
    message_actions.do_store_envelope(world.tenant, "alice", raced.to_json())
    real = message_actions._room_state

    def blind(*args: Any, **kwargs: Any) -> Any:
        members, _stored, keys, epoch = real(*args, **kwargs)
        return members, {}, keys, epoch  # as if the other room's commit came later

    monkeypatch.setattr(message_actions, "_room_state", blind)
    good = [world.envelope(two, 0, "bob") for _ in range(2)]
    requests = [
        (world.tenant, "bob", good[0].to_json()),
        (world.tenant, "alice", world.envelope(two, 0, "alice", message_id=raced.id).to_json()),
        (world.tenant, "bob", good[1].to_json()),
    ]
    assert [outcome(r) for r in do_store_envelopes(requests)] == [
        (1, True),
        "duplicate_id",
        (2, True),
    ]
    assert stored_ids(two) == [e.id for e in good]
