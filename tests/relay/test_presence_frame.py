"""The `presence` client frame (docs/PROTOCOL.md §4.4): parsed strictly."""

import json

import pytest

from relay.frames import FrameError, Presence, parse_text_frame


def parse(body: object) -> object:
    return parse_text_frame(json.dumps(body), max_bytes=4096)


@pytest.mark.parametrize("state", ["online", "away"])
def test_online_and_away_are_accepted(state: str) -> None:
    assert parse({"type": "presence", "state": state}) == Presence(state=state, id=None)
    assert parse({"type": "presence", "state": state, "id": "x"}) == Presence(state=state, id="x")


@pytest.mark.parametrize(
    "body",
    [
        {"type": "presence"},
        {"type": "presence", "state": "offline"},
        {"type": "presence", "state": "busy"},
        {"type": "presence", "state": "Away"},
        {"type": "presence", "state": " away"},
        {"type": "presence", "state": None},
        {"type": "presence", "state": ["away"]},
        {"type": "presence", "state": "away", "user": "bob"},
        {"type": "presence", "state": "away", "id": ""},
    ],
)
def test_anything_else_is_invalid_field(body: dict[str, object]) -> None:
    with pytest.raises(FrameError) as raised:
        parse(body)
    assert raised.value.code == "invalid_field"
