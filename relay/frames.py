"""Client frames: parsing and validation, before anything acts on them.

Pure functions, no Django: every frame a client sends passes through here and
comes out either as a typed frame or as a :class:`FrameError` carrying a
stable code (the codes are part of the wire protocol, docs/PROTOCOL.md).
"""

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

MAX_ID_LENGTH = 64


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


ClientFrame = Ping


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


def _check_fields(frame: dict[str, Any], allowed: set[str], ref: str | None) -> None:
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


def parse_text_frame(text: str, *, max_bytes: int) -> ClientFrame:
    """Validate one text frame; raise :class:`FrameError` naming the problem."""
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
    if frame_type == "ping":
        _check_fields(frame, {"type", "id"}, ref)
        return Ping(id=ref)
    shown = frame_type if len(frame_type) <= 32 else frame_type[:32] + "…"
    raise FrameError(FrameErrorCode.UNKNOWN_TYPE, f"unknown frame type {shown!r}", ref=ref)
