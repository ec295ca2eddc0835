"""The relay websocket on the real config.asgi stack (origin checks included).

Sockets are opened by a signed-in member of acme's trust chain (the relay
admits nobody else, PROTOCOL.md §4.4).
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.asgi import application
from tests.rooms.world import make_world

# The consumer resolves the tenant in another thread: the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

HOST = "acme.localhost:8000"
ORIGIN = f"http://{HOST}"


SESSION: dict[str, str] = {}


def communicator(*, host: str = HOST, origin: str | None = ORIGIN) -> WebsocketCommunicator:
    headers = [(b"host", host.encode()), (b"cookie", f"sessionid={SESSION['id']}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


@pytest.fixture(autouse=True)
def member(db: None, settings: Any) -> None:
    """alice, a member of acme's chain, signed in; the per-address connection
    limit is out of the way (every socket here comes from one test process)."""
    settings.PIPO_RELAY_CONNECTION_BURST = 1_000_000
    world = make_world("acme", ["alice"])
    SESSION["id"] = world["alice"].session


@pytest.fixture
async def socket() -> AsyncIterator[WebsocketCommunicator]:
    connection = communicator()
    connected, _ = await connection.connect()
    assert connected
    await skip_presence(connection)
    yield connection
    await connection.disconnect()


async def skip_presence(connection: WebsocketCommunicator) -> None:
    """A member's socket first hears that its user is online."""
    assert json.loads(await connection.receive_from(timeout=5)) == {
        "type": "presence",
        "user": "alice",
        "state": "online",
    }


async def exchange(connection: WebsocketCommunicator, text: str) -> dict[str, Any]:
    await connection.send_to(text_data=text)
    reply: dict[str, Any] = json.loads(await connection.receive_from(timeout=5))
    return reply


async def assert_still_open(connection: WebsocketCommunicator) -> None:
    assert await exchange(connection, '{"type":"ping","id":"still-there"}') == {
        "type": "pong",
        "id": "still-there",
    }


async def test_ping_is_answered_with_pong_echoing_the_id(socket: WebsocketCommunicator) -> None:
    assert await exchange(socket, '{"type":"ping","id":"p-1"}') == {"type": "pong", "id": "p-1"}
    assert await exchange(socket, '{"type":"ping"}') == {"type": "pong"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("this is not json", "invalid_json"),
        ('{"type": "ping"', "invalid_json"),
        ('{"type":"ping","type":"pong"}', "invalid_json"),
        ('{"n": NaN, "type": "ping"}', "invalid_json"),
        ("[1, 2, 3]", "not_an_object"),
        ('"ping"', "not_an_object"),
        ("{}", "missing_type"),
        ('{"id": "x"}', "missing_type"),
        ('{"type": 7}', "missing_type"),
        ('{"type": "launch_missiles"}', "unknown_type"),
        ('{"type": "ping", "extra": 1}', "invalid_field"),
        ('{"type": "ping", "id": 5}', "invalid_field"),
        ('{"type": "ping", "id": "' + "x" * 65 + '"}', "invalid_field"),
    ],
)
async def test_bad_frames_get_an_error_frame_and_the_connection_stays_open(
    socket: WebsocketCommunicator, frame: str, code: str
) -> None:
    reply = await exchange(socket, frame)
    assert reply["type"] == "error"
    assert reply["code"] == code
    assert reply["message"]
    assert "Traceback" not in reply["message"]
    await assert_still_open(socket)


async def test_error_frames_echo_the_client_id(socket: WebsocketCommunicator) -> None:
    reply = await exchange(socket, '{"type": "nope", "id": "req-9"}')
    assert reply == {
        "type": "error",
        "code": "unknown_type",
        "message": "unknown frame type 'nope'",
        "id": "req-9",
    }


async def test_a_two_mebibyte_frame_is_refused_and_the_connection_stays_open(
    socket: WebsocketCommunicator,
) -> None:
    frame = json.dumps({"type": "ping", "padding": "x" * (2 * 1024 * 1024)})
    reply = await exchange(socket, frame)
    assert reply["type"] == "error"
    assert reply["code"] == "frame_too_large"
    await assert_still_open(socket)


async def test_binary_frames_are_refused_outside_uploads(socket: WebsocketCommunicator) -> None:
    await socket.send_to(bytes_data=b"\x00\x01binary")
    reply = json.loads(await socket.receive_from(timeout=5))
    assert reply["code"] == "binary_not_expected"
    await assert_still_open(socket)


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        (HOST, None),
        (HOST, "http://evil.example"),
        (HOST, "http://lear.localhost:8000"),  # another tenant of the same server
        (HOST, "http://acme.localhost:9999"),
        (HOST, "null"),
        ("evil.example", "http://evil.example"),  # not an allowed host at all
        ("nobody.localhost:8000", "http://nobody.localhost:8000"),  # no such tenant
    ],
)
async def test_a_websocket_without_a_matching_origin_is_refused(
    host: str, origin: str | None
) -> None:
    connection = communicator(host=host, origin=origin)
    connected, _ = await connection.connect()
    assert not connected
    await connection.disconnect()


async def test_a_bad_frame_on_one_connection_does_not_disturb_another() -> None:
    first, second = communicator(), communicator()
    assert (await first.connect())[0]
    await skip_presence(first)
    assert (await second.connect())[0]
    await first.send_to(text_data="{broken")
    assert json.loads(await first.receive_from())["code"] == "invalid_json"
    assert await second.receive_nothing()
    await assert_still_open(second)
    await assert_still_open(first)
    await first.disconnect()
    await second.disconnect()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.text(min_size=1, max_size=200),
        st.dictionaries(
            st.sampled_from(["type", "id", "room", "x"]),
            st.one_of(st.none(), st.integers(), st.text(max_size=70), st.booleans()),
        ).map(json.dumps),
    )
)
async def test_fuzzed_frames_always_get_exactly_one_well_formed_answer(frame: str) -> None:
    connection = communicator()
    assert (await connection.connect())[0]
    await skip_presence(connection)
    try:
        reply = await exchange(connection, frame)
        assert reply["type"] in {"pong", "error"}
        if reply["type"] == "error":
            assert isinstance(reply["code"], str)
            assert isinstance(reply["message"], str)
        assert await connection.receive_nothing(timeout=0.01)
        await assert_still_open(connection)
    finally:
        await connection.disconnect()
