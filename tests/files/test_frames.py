"""The upload socket's frame parsing and the download's Range parsing, alone."""

import contextlib
import json
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from files.api import UnsatisfiableRangeError, requested_range
from files.frames import (
    ChunkFrameError,
    UploadCancel,
    UploadFinish,
    UploadResume,
    UploadStart,
    parse_chunk_frame,
    parse_upload_frame,
)
from relay.frames import FrameError, Ping

ROOM = str(uuid.uuid4())
UPLOAD = uuid.uuid4()
LIMIT = 256 * 1024


def parse(body: object) -> object:
    return parse_upload_frame(json.dumps(body), max_bytes=LIMIT)


def test_each_frame_type_parses_to_its_fields() -> None:
    assert parse({"type": "ping", "id": "p"}) == Ping(id="p")
    assert parse({"type": "upload_start", "room": ROOM, "size": 41}) == UploadStart(
        room=ROOM, size=41, id=None
    )
    for kind, parsed in (
        ("upload_resume", UploadResume),
        ("upload_finish", UploadFinish),
        ("upload_cancel", UploadCancel),
    ):
        assert parse({"type": kind, "upload": str(UPLOAD), "id": "x"}) == parsed(
            upload=UPLOAD, id="x"
        )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "upload_start", "room": ROOM, "size": 41, "name": "a.pdf"}, "invalid_field"),
        ({"type": "upload_start", "room": ROOM, "size": "41"}, "invalid_field"),
        ({"type": "upload_start", "room": ROOM, "size": False}, "invalid_field"),
        ({"type": "upload_start", "room": ROOM}, "invalid_field"),
        ({"type": "upload_start", "room": ROOM, "size": 41, "id": ""}, "invalid_field"),
        ({"type": "upload_resume", "upload": str(UPLOAD).upper()}, "invalid_field"),
        ({"type": "upload_resume", "upload": UPLOAD.hex}, "invalid_field"),
        ({"type": "upload_finish", "upload": 7}, "invalid_field"),
        ({"type": "upload_cancel", "upload": str(UPLOAD), "room": ROOM}, "invalid_field"),
        ({"type": "send", "envelope": {}}, "unknown_type"),
        ({"upload": str(UPLOAD)}, "missing_type"),
        ([], "not_an_object"),
    ],
)
def test_bad_text_frames_name_their_problem(body: object, code: str) -> None:
    with pytest.raises(FrameError) as refused:
        parse(body)
    assert refused.value.code == code


@given(st.text(max_size=300))
def test_any_text_is_parsed_or_refused_with_a_frame_error(text: str) -> None:
    with contextlib.suppress(FrameError):
        parse_upload_frame(text, max_bytes=LIMIT)


@given(st.binary(max_size=64))
def test_any_binary_frame_is_a_chunk_or_too_short(data: bytes) -> None:
    try:
        chunk = parse_chunk_frame(data)
    except ChunkFrameError:
        assert len(data) < 20
    else:
        assert chunk.upload.bytes == data[:16]
        assert chunk.index == int.from_bytes(data[16:20], "big")
        assert bytes(chunk.data) == data[20:]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=90-200", (90, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("BYTES = 1-2", (1, 2)),
        ("bytes=0-1,5-6", None),
        ("bytes=5-1", None),
        ("bytes=-", None),
        ("bytes=x-1", None),
        ("lines=0-1", None),
        ("bytes", None),
    ],
)
def test_range_headers(header: str | None, expected: tuple[int, int] | None) -> None:
    assert requested_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(UnsatisfiableRangeError):
        requested_range(header, 100)


@given(st.text(max_size=40), st.integers(min_value=1, max_value=10**12))
def test_a_range_is_always_inside_the_file(header: str, size: int) -> None:
    try:
        found = requested_range(header, size)
    except UnsatisfiableRangeError:
        return
    if found is not None:
        first, last = found
        assert 0 <= first <= last < size
