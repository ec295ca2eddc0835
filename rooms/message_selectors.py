"""Read paths for rooms' messages and epochs (tenant-scoped, members only).

`access_room` is the one authorization step: it answers the same for a room
that does not exist, one of another tenant, and one the user is not in.
"""

from typing import Any

from accounts.models import Tenant
from rooms.message_actions import NOT_IN_ROOM, RoomError
from rooms.models import ChainMember, EpochShare, Message, Room, RoomEpoch, RoomMember

HISTORY_PAGE_MAX = 200


def is_chain_member(tenant: Tenant, username: str) -> bool:
    return ChainMember.objects.filter(tenant=tenant, username=username).exists()


def access_room(tenant: Tenant, username: str, room_id: str) -> Room:
    """The room, if `username` is in it now; else RoomError `not_in_room`."""
    room = Room.objects.filter(tenant=tenant, room_id=room_id, members__username=username).first()
    if room is None:
        raise RoomError("not_in_room", NOT_IN_ROOM)
    return room


def room_members(tenant: Tenant, username: str, room_id: str) -> list[str]:
    """Everyone in the room, if `username` is; else RoomError `not_in_room`."""
    names = list(
        RoomMember.objects.filter(tenant=tenant, room__room_id=room_id).values_list(
            "username", flat=True
        )
    )
    if username not in names:
        raise RoomError("not_in_room", NOT_IN_ROOM)
    return names


def messages_after(
    tenant: Tenant, username: str, positions: dict[str, int], *, limit: int
) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Per room, up to `limit` stored envelopes after the given seq, oldest first.

    Refuses the whole request (`not_in_room`) if the user is not in every room.
    """
    rooms = {
        room.room_id: room
        for room in Room.objects.filter(
            tenant=tenant, room_id__in=list(positions), members__username=username
        )
    }
    missing = sorted(set(positions) - rooms.keys())
    if missing:
        raise RoomError("not_in_room", f"{NOT_IN_ROOM} ({missing[0]})")
    found: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for room_id, after in positions.items():
        found[room_id] = list(
            Message.objects.filter(tenant=tenant, room=rooms[room_id], seq__gt=after)
            .order_by("seq")
            .values_list("seq", "envelope")[:limit]
        )
    return found


def messages_between(
    tenant: Tenant, username: str, room_id: str, *, after: int, before: int
) -> list[tuple[int, dict[str, Any]]]:
    """The stored envelopes with after < seq < before, oldest first (members only)."""
    room = access_room(tenant, username, room_id)
    return list(
        Message.objects.filter(tenant=tenant, room=room, seq__gt=after, seq__lt=before)
        .order_by("seq")
        .values_list("seq", "envelope")
    )


def messages_before(
    room: Room, *, before: int | None, limit: int
) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """Up to `limit` envelopes with seq < `before` (all if None), newest first, and
    whether there are more."""
    query = Message.objects.filter(tenant_id=room.tenant_id, room=room)
    if before is not None:
        query = query.filter(seq__lt=before)
    rows = list(query.order_by("-seq").values_list("seq", "envelope")[: limit + 1])
    return rows[:limit], len(rows) > limit


def epochs_of(room: Room, username: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The room's epoch records, oldest first, and the shares addressed to `username`."""
    records = list(
        RoomEpoch.objects.filter(tenant_id=room.tenant_id, room=room)
        .order_by("epoch")
        .values_list("record", flat=True)
    )
    shares = list(
        EpochShare.objects.filter(tenant_id=room.tenant_id, room=room, username=username)
        .order_by("epoch")
        .values_list("share", flat=True)
    )
    return records, shares
