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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
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


def do_store_envelope(
    tenant: Tenant, username: str, envelope_json: object, *, now: int | None = None
) -> StoredEnvelope:
    """Check an envelope as §7.5 says and store it with the room's next seq.

    Idempotent on the message id: the same envelope again gives the same seq
    with `created` False (whatever the epoch or the clock say by then);
    another envelope with a used id is `duplicate_id`.
    """
    envelope = _parse(parse_envelope, envelope_json)
    _check_author(tenant, username, slug=envelope.tenant, author=envelope.sender, what="envelope")
    try:
        return _store_envelope(tenant, username, envelope, now if now is not None else now_ms())
    except IntegrityError:
        # The same id raced in through another room (a same-room race waits
        # on the room lock and finds the stored one instead).
        raise RoomError("duplicate_id", "Another message already has this id.") from None


@transaction.atomic
def _store_envelope(tenant: Tenant, username: str, envelope: Envelope, now: int) -> StoredEnvelope:
    wire = envelope.to_json()
    room, members = _locked_room(tenant, envelope.room, username)
    recipients = tuple(sorted(members))
    existing = Message.objects.filter(tenant=tenant, message_id=envelope.id).first()
    if existing is not None:
        if existing.room_id != room.pk or existing.envelope != wire:
            raise RoomError("duplicate_id", "Another message already has this id.")
        return StoredEnvelope(existing.seq, False, room.room_id, envelope.id, wire, recipients)
    _check_clock(envelope.ts, now)
    _verify(lambda: verify_envelope(envelope, _sign_pub(tenant, username)))
    if room.epoch < 0 or envelope.epoch != room.epoch:
        raise RoomError(
            "stale_epoch", "This is not the room's current epoch: fetch it (or make the first)."
        )
    epoch = RoomEpoch.objects.get(tenant=tenant, room=room, epoch=room.epoch)
    if (
        room.rekey_required
        or epoch.message_count >= settings.PIPO_EPOCH_MAX_MESSAGES
        or now - epoch.ts >= settings.PIPO_EPOCH_MAX_AGE_MS
    ):
        raise RoomError(
            "epoch_expired", "The room's epoch is due for replacement: make a new one first."
        )
    seq = room.last_seq + 1
    room.last_seq = seq
    room.save(update_fields=["last_seq"])
    Message.objects.create(
        tenant=tenant,
        room=room,
        seq=seq,
        message_id=envelope.id,
        sender=username,
        epoch=envelope.epoch,
        ts=envelope.ts,
        envelope=wire,
    )
    RoomEpoch.objects.filter(pk=epoch.pk).update(message_count=F("message_count") + 1)
    return StoredEnvelope(seq, True, room.room_id, envelope.id, wire, recipients)


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
