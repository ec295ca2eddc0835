"""Client frames: parsing and validation, before anything acts on them.

Pure functions, no Django: every frame a client sends passes through here and
comes out either as a typed frame or as a :class:`FrameError` carrying a
stable code (the codes are part of the wire protocol, docs/PROTOCOL.md).
The envelopes, records and shares inside room frames are checked here only
as JSON objects; protocol/ (through rooms.message_actions) judges the rest.
"""

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from protocol.chain import ROOM_ID_PATTERN
from protocol.encoding import MAX_SAFE_INTEGER

MAX_ID_LENGTH = 64
MAX_SYNC_ROOMS = 1000


class FrameErrorCode(StrEnum):
    FRAME_TOO_LARGE = "frame_too_large"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_TYPE = "missing_type"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FIELD = "invalid_field"
    BINARY_NOT_EXPECTED = "binary_not_expected"
    INTERNAL_ERROR = "internal_error"


class FrameError(Exception):
    """A frame the relay refuses; the connection stays open."""

    def __init__(self, code: FrameErrorCode, message: str, *, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

    def to_frame(self) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "error", "code": str(self.code), "message": self.message}
        if self.ref is not None:
            frame["id"] = self.ref
        return frame


@dataclass(frozen=True)
class Ping:
    """`{"type": "ping", "id"?: str}`: answered with a pong echoing the id."""

    id: str | None


@dataclass(frozen=True)
class Send:
    """`{"type": "send", "envelope": {...}}` (§7.3); errors echo the envelope's id."""

    envelope: dict[str, Any]
    id: str | None


@dataclass(frozen=True)
class Epoch:
    """`{"type": "epoch", "record": {...}, "id"?}` (§7.1)."""

    record: dict[str, Any]
    id: str | None


@dataclass(frozen=True)
class Share:
    """`{"type": "share", "share": {...}, "id"?}` (§7.2)."""

    share: dict[str, Any]
    id: str | None


@dataclass(frozen=True)
class Sync:
    """`{"type": "sync", "rooms": {"<room>": <last seq>, ...}, "id"?}`."""

    rooms: dict[str, int]
    id: str | None


@dataclass(frozen=True)
class Typing:
    """`{"type": "typing", "room", "id"?}`."""

    room: str
    id: str | None


@dataclass(frozen=True)
class Read:
    """`{"type": "read", "room", "seq", "id"?}`."""

    room: str
    seq: int
    id: str | None


PRESENCE_STATES = ("online", "away")


@dataclass(frozen=True)
class Presence:
    """`{"type": "presence", "state": "online" | "away", "id"?}`: this socket's state."""

    state: str
    id: str | None


ClientFrame = Ping | Send | Epoch | Share | Sync | Typing | Read | Presence


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers that disagree on which duplicate wins are an attack surface.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _client_id(frame: dict[str, Any]) -> str | None:
    """The frame's `id`, if it is a usable one (echoed in errors)."""
    value = frame.get("id")
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
        return value
    return None


def check_fields(frame: dict[str, Any], allowed: set[str], ref: str | None) -> None:
    unexpected = sorted(set(frame) - allowed)
    if unexpected:
        raise FrameError(
            FrameErrorCode.INVALID_FIELD,
            f"unexpected field(s) for {frame['type']!r}: {', '.join(unexpected)}",
            ref=ref,
        )
    if "id" in frame and ref is None:
        raise FrameError(
            FrameErrorCode.INVALID_FIELD, f"id must be a string of 1-{MAX_ID_LENGTH} characters"
        )


def decode_frame(text: str, *, max_bytes: int) -> tuple[dict[str, Any], str | None, str]:
    """The checks every text frame passes (§4.2): size, strict JSON, an object
    with a string `type`. Returns the object, its usable `id` and its type."""
    if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise FrameError(
            FrameErrorCode.FRAME_TOO_LARGE, f"text frames are limited to {max_bytes} bytes"
        )
    try:
        frame = json.loads(
            text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant
        )
    except (ValueError, RecursionError) as error:
        raise FrameError(FrameErrorCode.INVALID_JSON, f"frame is not valid JSON: {error}") from None
    if not isinstance(frame, dict):
        raise FrameError(FrameErrorCode.NOT_AN_OBJECT, "a frame is a JSON object")
    ref = _client_id(frame)
    if "type" not in frame:
        raise FrameError(FrameErrorCode.MISSING_TYPE, "a frame needs a 'type'", ref=ref)
    frame_type = frame["type"]
    if not isinstance(frame_type, str):
        raise FrameError(FrameErrorCode.MISSING_TYPE, "'type' must be a string", ref=ref)
    return frame, ref, frame_type


def parse_text_frame(text: str, *, max_bytes: int) -> ClientFrame:
    """Validate one text frame; raise :class:`FrameError` naming the problem."""
    frame, ref, frame_type = decode_frame(text, max_bytes=max_bytes)
    if frame_type == "ping":
        check_fields(frame, {"type", "id"}, ref)
        return Ping(id=ref)
    if frame_type == "send":
        envelope = frame.get("envelope")
        # The envelope's own id names the message in the ack and in errors.
        envelope_id = _client_id(envelope) if isinstance(envelope, dict) else None
        check_fields(frame, {"type", "envelope"}, envelope_id)
        return Send(envelope=object_field(frame, "envelope", envelope_id), id=envelope_id)
    if frame_type == "epoch":
        check_fields(frame, {"type", "record", "id"}, ref)
        return Epoch(record=object_field(frame, "record", ref), id=ref)
    if frame_type == "share":
        check_fields(frame, {"type", "share", "id"}, ref)
        return Share(share=object_field(frame, "share", ref), id=ref)
    if frame_type == "sync":
        check_fields(frame, {"type", "rooms", "id"}, ref)
        return Sync(rooms=_positions(frame.get("rooms"), ref), id=ref)
    if frame_type == "typing":
        check_fields(frame, {"type", "room", "id"}, ref)
        return Typing(room=room_field(frame, ref), id=ref)
    if frame_type == "read":
        check_fields(frame, {"type", "room", "seq", "id"}, ref)
        return Read(room=room_field(frame, ref), seq=_seq(frame.get("seq"), "seq", ref), id=ref)
    if frame_type == "presence":
        check_fields(frame, {"type", "state", "id"}, ref)
        state = frame.get("state")
        if not isinstance(state, str) or state not in PRESENCE_STATES:
            raise invalid("'state' must be 'online' or 'away'", ref)
        return Presence(state=state, id=ref)
    raise unknown_type(frame_type, ref)


def unknown_type(frame_type: str, ref: str | None) -> FrameError:
    shown = frame_type if len(frame_type) <= 32 else frame_type[:32] + "…"
    return FrameError(FrameErrorCode.UNKNOWN_TYPE, f"unknown frame type {shown!r}", ref=ref)


def invalid(message: str, ref: str | None) -> FrameError:
    return FrameError(FrameErrorCode.INVALID_FIELD, message, ref=ref)


def object_field(frame: dict[str, Any], name: str, ref: str | None) -> dict[str, Any]:
    value = frame.get(name)
    if not isinstance(value, dict):
        raise invalid(f"{name!r} must be a JSON object", ref)
    return value


def _is_room_id(value: object) -> bool:
    return isinstance(value, str) and ROOM_ID_PATTERN.fullmatch(value) is not None


def room_field(frame: dict[str, Any], ref: str | None) -> str:
    value = frame.get("room")
    if not isinstance(value, str) or not _is_room_id(value):
        raise invalid("'room' must be a lower-case room UUID", ref)
    return value


def _seq(value: object, what: str, ref: str | None) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
        raise invalid(f"{what} must be a non-negative integer", ref)
    return value


def _positions(value: object, ref: str | None) -> dict[str, int]:
    if not isinstance(value, dict) or not 0 < len(value) <= MAX_SYNC_ROOMS:
        raise invalid(f"'rooms' must map 1-{MAX_SYNC_ROOMS} room ids to sequence numbers", ref)
    positions: dict[str, int] = {}
    for room, seq in value.items():
        if not _is_room_id(room):
            raise invalid("'rooms' keys must be lower-case room UUIDs", ref)
        positions[room] = _seq(seq, f"rooms[{room}]", ref)
    return positions
