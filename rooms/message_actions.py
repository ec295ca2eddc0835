"""Storing what the relay carries for rooms: envelopes, epoch records, shares.

docs/PROTOCOL.md §7.5 is the rule book. Each write is one transaction that
takes the room's row lock first, so that every check reads the membership,
the current epoch and the message counter as they are at the moment of the
write (a chain append that changes the room's membership takes the same lock,
see rooms.actions), and sequence numbers are handed out without gaps by
however many server processes. A refused write stores nothing. The caller
publishes to sockets after this returns (so after the commit), to the
`recipients` the transaction read.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from accounts.models import Tenant
from protocol.envelope import Envelope, parse_envelope, verify_envelope
from protocol.epoch import (
    EpochRecord,
    parse_epoch_record,
    parse_epoch_share,
    verify_epoch_record,
    verify_epoch_share,
)
from protocol.epoch import EpochShare as ShareRecord
from protocol.errors import ProtocolError
from rooms.models import ChainMember, EpochShare, Message, Room, RoomEpoch, RoomMember


class RoomError(Exception):
    """A refused room write; `code` is stable (docs/PROTOCOL.md §4.4, §7.5)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


NOT_IN_ROOM = "You are not in this room (or it does not exist)."


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class StoredEnvelope:
    seq: int
    created: bool
    room: str
    message_id: str
    envelope: dict[str, Any]
    # The room's members when it was stored: who gets the `message` frame.
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class StoredEpoch:
    room: str
    epoch: int
    created: bool
    record: dict[str, Any]
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class StoredShare:
    room: str
    epoch: int
    user: str
    created: bool
    share: dict[str, Any]


_Parsed = TypeVar("_Parsed")


def _parse(parser: Callable[[object], _Parsed], value: object) -> _Parsed:
    try:
        return parser(value)
    except ProtocolError as error:
        raise RoomError(error.code, error.message) from None


def _check_author(tenant: Tenant, username: str, *, slug: str, author: str, what: str) -> None:
    if slug != tenant.slug:
        raise RoomError("wrong_tenant", f"This {what} names another workspace.")
    if author != username:
        raise RoomError("wrong_sender", f"This {what} must be signed by you ({username!r}).")


def _check_clock(ts: int, now: int) -> None:
    if abs(ts - now) > settings.PIPO_CLOCK_SKEW_MS:
        raise RoomError(
            "clock_skew", "Its time is too far from the server's clock; check your clock."
        )


def _sign_pub(tenant: Tenant, username: str) -> bytes:
    member = ChainMember.objects.filter(tenant=tenant, username=username).first()
    if member is None:
        raise RoomError("not_in_room", NOT_IN_ROOM)
    return bytes(member.sign_pub)


def _locked_room(tenant: Tenant, room_id: str, username: str) -> tuple[Room, dict[str, int]]:
    """The room row, locked, and its members (username -> joined_epoch); or not_in_room."""
    room = Room.objects.select_for_update().filter(tenant=tenant, room_id=room_id).first()
    if room is None:
        raise RoomError("not_in_room", NOT_IN_ROOM)
    members = dict(
        RoomMember.objects.filter(tenant=tenant, room=room).values_list("username", "joined_epoch")
    )
    if username not in members:
        raise RoomError("not_in_room", NOT_IN_ROOM)
    return room, members


def _verify(check: Callable[[], None]) -> None:
    try:
        check()
    except ProtocolError as error:
        raise RoomError(error.code, error.message) from None


# --- Envelopes ----------------------------------------------------------------------

SendRequest = tuple[Tenant, str, object]  # (tenant, session's username, envelope JSON)
SendResult = StoredEnvelope | BaseException  # a RoomError is a refusal


def do_store_envelope(
    tenant: Tenant, username: str, envelope_json: object, *, now: int | None = None
) -> StoredEnvelope:
    """Check an envelope as §7.5 says and store it with the room's next seq.

    Idempotent on the message id: the same envelope again gives the same seq
    with `created` False (whatever the epoch or the clock say by then);
    another envelope with a used id is `duplicate_id`.
    """
    (result,) = do_store_envelopes([(tenant, username, envelope_json)], now=now)
    if isinstance(result, BaseException):
        raise result
    return result


def do_store_envelopes(
    requests: Sequence[SendRequest], *, now: int | None = None
) -> list[SendResult]:
    """`do_store_envelope` for many envelopes at once (group commit), one result each.

    The envelopes of one room are checked and stored in one transaction under
    the room's row lock, in the order given, exactly as if they came one after
    another: each is judged on its own (a refused one stores nothing and does
    not affect the others), seqs are handed out in that order without gaps,
    and an id used twice in the batch is handled like a resend. If a batch's
    insert fails (an id raced in through another room), its envelopes are
    stored one by one so that only the culprit is refused.
    """
    clock = now if now is not None else now_ms()
    results: list[SendResult | None] = [None] * len(requests)
    rooms: dict[tuple[int, str], list[tuple[int, Envelope]]] = {}
    tenants: dict[int, Tenant] = {}
    for index, (tenant, username, envelope_json) in enumerate(requests):
        try:
            envelope = _parse(parse_envelope, envelope_json)
            _check_author(
                tenant, username, slug=envelope.tenant, author=envelope.sender, what="envelope"
            )
        except RoomError as error:
            results[index] = error
            continue
        tenants[tenant.pk] = tenant
        rooms.setdefault((tenant.pk, envelope.room), []).append((index, envelope))
    for (tenant_pk, room_id), items in rooms.items():
        tenant = tenants[tenant_pk]
        stored: list[SendResult]
        try:
            stored = list(_store_room_envelopes(tenant, room_id, [e for _, e in items], clock))
        except Exception as error:
            if len(items) == 1:
                stored = [_as_room_error(error)]
            else:  # store them one by one: only the culprit fails
                stored = []
                for _, envelope in items:
                    try:
                        stored.extend(_store_room_envelopes(tenant, room_id, [envelope], clock))
                    except Exception as single:
                        stored.append(_as_room_error(single))
        for (index, _), result in zip(items, stored, strict=True):
            results[index] = result
    assert all(result is not None for result in results)
    return cast(list[SendResult], results)


def _as_room_error(error: Exception) -> BaseException:
    if isinstance(error, IntegrityError):
        # The same id raced in through another room (a same-room race waits
        # on the room lock and finds the stored one instead).
        return RoomError("duplicate_id", "Another message already has this id.")
    return error


_RoomState = tuple[
    tuple[str, ...],  # the members, sorted
    dict[str, tuple[int, int, Any]],  # stored ids among the batch's: (room pk, seq, envelope)
    dict[str, bytes],  # the senders' current chain keys
    tuple[int, int, int] | None,  # the current epoch: (pk, ts, message_count)
]


def _room_state(
    tenant: Tenant, room_pk: int, epoch: int, *, ids: list[str], senders: list[str]
) -> _RoomState:
    """What the checks of a batch read under the room lock: one statement on PostgreSQL."""
    if connection.vendor != "postgresql":
        return _room_state_orm(tenant, room_pk, epoch, ids=ids, senders=senders)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT
                ARRAY(SELECT username FROM {RoomMember._meta.db_table}
                      WHERE room_id = %(room)s ORDER BY username),
                ARRAY(SELECT username FROM {ChainMember._meta.db_table}
                      WHERE tenant_id = %(tenant)s AND username = ANY(%(senders)s)
                      ORDER BY username),
                ARRAY(SELECT sign_pub FROM {ChainMember._meta.db_table}
                      WHERE tenant_id = %(tenant)s AND username = ANY(%(senders)s)
                      ORDER BY username),
                ARRAY(SELECT message_id FROM {Message._meta.db_table}
                      WHERE tenant_id = %(tenant)s AND message_id = ANY(%(ids)s)),
                (SELECT ARRAY[id, ts, message_count] FROM {RoomEpoch._meta.db_table}
                 WHERE room_id = %(room)s AND epoch = %(epoch)s)""",  # noqa: S608  (names only)
            {"room": room_pk, "tenant": tenant.pk, "senders": senders, "ids": ids, "epoch": epoch},
        )
        members, key_owners, keys, stored, epoch_row = cursor.fetchone()
    stored_ids = _stored_ids(tenant, stored) if stored else {}
    sign_keys = {name: bytes(key) for name, key in zip(key_owners, keys, strict=True)}
    current = (int(epoch_row[0]), int(epoch_row[1]), int(epoch_row[2])) if epoch_row else None
    return tuple(members), stored_ids, sign_keys, current


def _room_state_orm(
    tenant: Tenant, room_pk: int, epoch: int, *, ids: list[str], senders: list[str]
) -> _RoomState:
    members = tuple(
        RoomMember.objects.filter(tenant=tenant, room_id=room_pk)
        .order_by("username")
        .values_list("username", flat=True)
    )
    sign_keys = {
        username: bytes(key)
        for username, key in ChainMember.objects.filter(
            tenant=tenant, username__in=senders
        ).values_list("username", "sign_pub")
    }
    current = (
        RoomEpoch.objects.filter(tenant=tenant, room_id=room_pk, epoch=epoch)
        .values_list("pk", "ts", "message_count")
        .first()
    )
    return members, _stored_ids(tenant, ids), sign_keys, current


def _stored_ids(tenant: Tenant, ids: list[str]) -> dict[str, tuple[int, int, Any]]:
    return {
        message_id: (room, seq, wire)
        for message_id, room, seq, wire in Message.objects.filter(
            tenant=tenant, message_id__in=ids
        ).values_list("message_id", "room_id", "seq", "envelope")
    }


@transaction.atomic
def _store_room_envelopes(
    tenant: Tenant, room_id: str, envelopes: list[Envelope], now: int
) -> list[StoredEnvelope | RoomError]:
    """Envelopes of one room (their authors already checked), in order, in one transaction.

    Statements, however many envelopes: the room's row lock; one read of its
    members, its current epoch, the senders' keys and which of the ids are
    stored (on PostgreSQL; the details of stored ones only if there are any);
    one INSERT and two counter UPDATEs.
    """
    not_in_room = RoomError("not_in_room", NOT_IN_ROOM)
    locked = (
        Room.objects.select_for_update()
        .filter(tenant=tenant, room_id=room_id)
        .values_list("pk", "last_seq", "epoch", "rekey_required")
        .first()
    )
    if locked is None:
        return [not_in_room for _ in envelopes]
    room_pk, last_seq, room_epoch, rekey_required = locked
    # Read after the lock is held (a statement of its own: one that waited for
    # the lock would see the other tables as they were before that wait), so
    # a chain link changing the members has committed first.
    state = _room_state(
        tenant,
        room_pk,
        room_epoch,
        ids=sorted({envelope.id for envelope in envelopes}),
        senders=sorted({envelope.sender for envelope in envelopes}),
    )
    recipients, stored_ids, sign_keys, epoch_row = state
    members = set(recipients)
    results: list[StoredEnvelope | RoomError] = []
    new_rows: list[Message] = []
    count = epoch_row[2] if epoch_row is not None else 0
    for envelope in envelopes:
        try:
            wire = envelope.to_json()
            if envelope.sender not in members:
                raise not_in_room
            seen = stored_ids.get(envelope.id)
            if seen is not None:
                if seen[0] != room_pk or seen[2] != wire:
                    raise RoomError("duplicate_id", "Another message already has this id.")
                results.append(
                    StoredEnvelope(seen[1], False, room_id, envelope.id, wire, recipients)
                )
                continue
            _check_clock(envelope.ts, now)
            sign_pub = sign_keys.get(envelope.sender)
            if sign_pub is None:
                raise not_in_room
            _verify(lambda: verify_envelope(envelope, sign_pub))  # noqa: B023  (called at once)
            if room_epoch < 0 or envelope.epoch != room_epoch or epoch_row is None:
                raise RoomError(
                    "stale_epoch",
                    "This is not the room's current epoch: fetch it (or make the first).",
                )
            if (
                rekey_required
                or count >= settings.PIPO_EPOCH_MAX_MESSAGES
                or now - epoch_row[1] >= settings.PIPO_EPOCH_MAX_AGE_MS
            ):
                raise RoomError(
                    "epoch_expired",
                    "The room's epoch is due for replacement: make a new one first.",
                )
        except RoomError as error:
            results.append(error)
            continue
        last_seq += 1
        count += 1
        stored_ids[envelope.id] = (room_pk, last_seq, wire)
        new_rows.append(
            Message(
                tenant=tenant,
                room_id=room_pk,
                seq=last_seq,
                message_id=envelope.id,
                sender=envelope.sender,
                epoch=envelope.epoch,
                ts=envelope.ts,
                envelope=wire,
            )
        )
        results.append(StoredEnvelope(last_seq, True, room_id, envelope.id, wire, recipients))
    if new_rows:
        assert epoch_row is not None
        Message.objects.bulk_create(new_rows)
        Room.objects.filter(pk=room_pk).update(last_seq=last_seq)
        RoomEpoch.objects.filter(pk=epoch_row[0]).update(
            message_count=F("message_count") + len(new_rows)
        )
    return results


# --- Epoch records --------------------------------------------------------------------


def do_store_epoch_record(
    tenant: Tenant, username: str, record_json: object, *, now: int | None = None
) -> StoredEpoch:
    """A new epoch for a room (§7.1, §7.5): the next number, sealed to exactly its members."""
    record = _parse(parse_epoch_record, record_json)
    _check_author(tenant, username, slug=record.tenant, author=record.creator, what="epoch record")
    return _store_epoch_record(tenant, username, record, now if now is not None else now_ms())


@transaction.atomic
def _store_epoch_record(
    tenant: Tenant, username: str, record: EpochRecord, now: int
) -> StoredEpoch:
    wire = record.to_json()
    room, members = _locked_room(tenant, record.room, username)
    recipients = tuple(sorted(members))
    if record.epoch <= room.epoch:
        stored = RoomEpoch.objects.filter(tenant=tenant, room=room, epoch=record.epoch).first()
        if stored is not None and stored.record == wire:
            return StoredEpoch(room.room_id, record.epoch, False, wire, recipients)
    if record.epoch != room.epoch + 1:
        raise RoomError(
            "stale_epoch",
            f"The next epoch of this room is {room.epoch + 1} (another record may have won).",
        )
    _check_clock(record.ts, now)
    if set(record.sealed) != set(members):
        raise RoomError(
            "sealed_mismatch", "An epoch key must be sealed to exactly the room's members."
        )
    _verify(lambda: verify_epoch_record(record, _sign_pub(tenant, username)))
    RoomEpoch.objects.create(
        tenant=tenant,
        room=room,
        epoch=record.epoch,
        creator=username,
        record=wire,
        ts=record.ts,
    )
    room.epoch = record.epoch
    room.rekey_required = False
    room.save(update_fields=["epoch", "rekey_required"])
    return StoredEpoch(room.room_id, record.epoch, True, wire, recipients)


# --- Epoch shares ---------------------------------------------------------------------


def do_store_epoch_share(
    tenant: Tenant, username: str, share_json: object, *, now: int | None = None
) -> StoredShare:
    """An existing epoch key for one more member (§7.2), within the room's history policy.

    A later share for the same person and epoch replaces the earlier one
    (after a key rotation their old box key cannot open it).
    """
    share = _parse(parse_epoch_share, share_json)
    _check_author(tenant, username, slug=share.tenant, author=share.by, what="epoch share")
    return _store_epoch_share(tenant, username, share, now if now is not None else now_ms())


@transaction.atomic
def _store_epoch_share(tenant: Tenant, username: str, share: ShareRecord, now: int) -> StoredShare:
    wire = share.to_json()
    room, members = _locked_room(tenant, share.room, username)
    stored = EpochShare.objects.filter(
        tenant=tenant, room=room, epoch=share.epoch, username=share.user
    ).first()
    if stored is not None and stored.share == wire:
        return StoredShare(room.room_id, share.epoch, share.user, False, wire)
    _check_clock(share.ts, now)
    epoch = RoomEpoch.objects.filter(tenant=tenant, room=room, epoch=share.epoch).first()
    if epoch is None:
        raise RoomError("unknown_epoch", "This room has no such epoch.")
    holds = (
        username in epoch.record.get("sealed", {})
        or EpochShare.objects.filter(
            tenant=tenant, room=room, epoch=share.epoch, username=username
        ).exists()
    )
    if not holds:
        raise RoomError("not_holder", "You can only share an epoch key you were given.")
    if share.user not in members:
        raise RoomError("recipient_not_in_room", "The recipient is not in this room.")
    if room.history == "joined" and share.epoch < members[share.user]:
        raise RoomError(
            "history_forbids",
            "This room shares no epoch from before a member joined (history: joined).",
        )
    _verify(lambda: verify_epoch_share(share, _sign_pub(tenant, username)))
    EpochShare.objects.update_or_create(
        tenant=tenant,
        room=room,
        epoch=share.epoch,
        username=share.user,
        defaults={"by": username, "share": wire},
    )
    return StoredShare(room.room_id, share.epoch, share.user, True, wire)
