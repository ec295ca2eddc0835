"""The one error type of file actions: a stable code (docs/PROTOCOL.md §8.3)."""

from typing import Any

NOT_IN_ROOM = "not_in_room"
INVALID_SIZE = "invalid_size"
FILE_TOO_LARGE = "file_too_large"
QUOTA_EXCEEDED = "quota_exceeded"
UNKNOWN_UPLOAD = "unknown_upload"
BAD_CHUNK_FRAME = "bad_chunk_frame"
OUT_OF_ORDER = "out_of_order"
BAD_CHUNK_SIZE = "bad_chunk_size"
INCOMPLETE_UPLOAD = "incomplete_upload"
DISK_FULL = "disk_full"
NOT_FOUND = "not_found"


class FileError(Exception):
    """A refused upload step or download; `extra` goes into the error frame."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def unknown_upload() -> FileError:
    return FileError(
        UNKNOWN_UPLOAD,
        "No such upload is open on this socket (it does not exist, is finished, "
        "expired, or was started or resumed elsewhere).",
    )
