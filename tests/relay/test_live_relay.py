"""The relay through a real Daphne process, as a browser or the SDK reaches it."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import LiveServer


async def test_a_two_mebibyte_frame_through_daphne_gets_an_error_and_the_socket_lives(
    daphne_server: LiveServer,
) -> None:
    origin = f"http://localhost:{daphne_server.port}"
    async with connect(daphne_server.ws_url(), origin=origin) as socket:  # type: ignore[arg-type]
        await socket.send(json.dumps({"type": "ping", "padding": "x" * (2 * 1024 * 1024)}))
        reply = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert reply["type"] == "error"
        assert reply["code"] == "frame_too_large"
        await socket.send('{"type":"ping","id":"after"}')
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {
            "type": "pong",
            "id": "after",
        }


async def test_daphne_refuses_a_socket_from_another_origin(daphne_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(daphne_server.ws_url(), origin="http://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
