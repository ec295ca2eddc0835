"""The relay through a real Daphne process, as a browser or the SDK reaches it."""

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import LiveServer
from tests.rooms.world import make_world


@pytest.fixture
def session(daphne_server: LiveServer) -> str:
    """A signed-in member of acme's chain (the relay admits nobody else)."""
    return make_world("acme", ["alice"])["alice"].session


def tenant_socket(server: LiveServer, session: str, *, origin: str | None = None) -> Any:
    """A websocket to acme's host (Python cannot resolve *.localhost: dial 127.0.0.1)."""
    host = f"acme.localhost:{server.port}"
    return connect(
        f"ws://{host}/ws/",
        origin=origin or f"http://{host}",  # type: ignore[arg-type]
        host="127.0.0.1",
        port=server.port,
        additional_headers={"Cookie": f"sessionid={session}"},
    )


async def test_a_two_mebibyte_frame_through_daphne_gets_an_error_and_the_socket_lives(
    daphne_server: LiveServer, session: str
) -> None:
    async with tenant_socket(daphne_server, session) as socket:
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "presence"
        await socket.send(json.dumps({"type": "ping", "padding": "x" * (2 * 1024 * 1024)}))
        reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert reply["type"] == "error"
        assert reply["code"] == "frame_too_large"
        await socket.send('{"type":"ping","id":"after"}')
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {
            "type": "pong",
            "id": "after",
        }


async def test_daphne_refuses_a_socket_from_another_origin(
    daphne_server: LiveServer, session: str
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with tenant_socket(daphne_server, session, origin="http://evil.example"):
            pass
    assert refused.value.response.status_code == 403
