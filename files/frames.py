"""Frames of the upload socket `/ws/files/` (docs/PROTOCOL.md §8.3): parsing only.

Text frames pass the relay's checks first (relay.frames.decode_frame: size,
strict JSON, an object with a string `type`, `id`), then get the same
strictness here: no unknown fields, every field of its type. Binary frames
are chunks: 16-byte upload id, 4-byte big-endian index, the chunk's bytes.
"""

import uuid
from dataclasses import dataclass

from relay.frames import (
    FrameError,
    Ping,
    check_fields,
    decode_frame,
    invalid,
    room_field,
    unknown_type,
)

CHUNK_PREFIX_BYTES = 20  # 16-byte upload id, 4-byte index


@dataclass(frozen=True)
class UploadStart:
    """`{"type": "upload_start", "room", "size", "id"?}`: `size` is the stream size."""

    room: str
    size: int
    id: str | None


@dataclass(frozen=True)
class UploadResume:
    upload: uuid.UUID
    id: str | None


@dataclass(frozen=True)
class UploadFinish:
    upload: uuid.UUID
    id: str | None


@dataclass(frozen=True)
class UploadCancel:
    upload: uuid.UUID
    id: str | None


UploadFrame = Ping | UploadStart | UploadResume | UploadFinish | UploadCancel


@dataclass(frozen=True)
class ChunkFrame:
    upload: uuid.UUID
    index: int
    data: memoryview  # the chunk's stream bytes (a view: no copy of a megabyte)


class ChunkFrameError(Exception):
    """A binary frame too short to be a chunk."""


def parse_upload_frame(text: str, *, max_bytes: int) -> UploadFrame:
    """Validate one text frame of the upload socket; raise FrameError naming the problem."""
    frame, ref, frame_type = decode_frame(text, max_bytes=max_bytes)
    if frame_type == "ping":
        check_fields(frame, {"type", "id"}, ref)
        return Ping(id=ref)
    if frame_type == "upload_start":
        check_fields(frame, {"type", "room", "size", "id"}, ref)
        room = room_field(frame, ref)
        size = frame.get("size")
        if type(size) is not int:
            raise invalid("'size' must be an integer (the stream size in bytes)", ref)
        return UploadStart(room=room, size=size, id=ref)
    if frame_type in {"upload_resume", "upload_finish", "upload_cancel"}:
        check_fields(frame, {"type", "upload", "id"}, ref)
        upload = _upload_field(frame.get("upload"), ref)
        if frame_type == "upload_resume":
            return UploadResume(upload=upload, id=ref)
        if frame_type == "upload_finish":
            return UploadFinish(upload=upload, id=ref)
        return UploadCancel(upload=upload, id=ref)
    raise unknown_type(frame_type, ref)


def _upload_field(value: object, ref: str | None) -> uuid.UUID:
    if isinstance(value, str) and len(value) == 36:
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            pass
        else:
            if str(parsed) == value:
                return parsed
    raise invalid("'upload' must be a lower-case upload UUID", ref)


def parse_chunk_frame(data: bytes) -> ChunkFrame:
    if len(data) < CHUNK_PREFIX_BYTES:
        raise ChunkFrameError(
            f"a chunk frame is the 16-byte upload id, a 4-byte index and the chunk "
            f"({len(data)} bytes is too short)"
        )
    return ChunkFrame(
        upload=uuid.UUID(bytes=data[:16]),
        index=int.from_bytes(data[16:CHUNK_PREFIX_BYTES], "big"),
        data=memoryview(data)[CHUNK_PREFIX_BYTES:],
    )


__all__ = [
    "CHUNK_PREFIX_BYTES",
    "ChunkFrame",
    "ChunkFrameError",
    "FrameError",
    "Ping",
    "UploadCancel",
    "UploadFinish",
    "UploadFrame",
    "UploadResume",
    "UploadStart",
    "parse_chunk_frame",
    "parse_upload_frame",
]
