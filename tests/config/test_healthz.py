"""`GET /healthz` on a live Daphne, with its dependencies up and down."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import LiveServer, database_url_for_tests, start_live_server
from tests.services import RedisServer, free_port


def get_health(server: LiveServer) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/healthz")
    request.add_header("Host", f"localhost:{server.port}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with RedisServer() as redis:
        yield redis


def test_healthz_is_200_with_postgresql_and_redis_up(daphne_server: LiveServer) -> None:
    status, body = get_health(daphne_server)
    assert status == 200
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert body["database"]["ok"] is True
    assert body["channel_layer"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_healthz_is_503_naming_the_channel_layer_when_redis_stops(own_redis: RedisServer) -> None:
    server = start_live_server(
        "healthz-redis", DATABASE_URL=database_url_for_tests(), REDIS_URL=own_redis.url
    )
    try:
        assert get_health(server)[0] == 200
        own_redis.stop()
        status, body = get_health(server)
        assert status == 503
        assert body["status"] == "fail"
        assert body["failed"] == ["channel_layer"]
        assert body["channel_layer"]["ok"] is False
        assert body["database"]["ok"] is True
        assert "Traceback" not in json.dumps(body)
        # It recovers by itself once Redis is back.
        own_redis.start()
        assert get_health(server)[0] == 200
    finally:
        server.stop()


def test_healthz_is_503_naming_the_database_when_postgresql_is_unreachable(
    own_redis: RedisServer,
) -> None:
    nowhere = f"postgres://pipo@127.0.0.1:{free_port()}/pipo"
    server = start_live_server("healthz-database", DATABASE_URL=nowhere, REDIS_URL=own_redis.url)
    try:
        status, body = get_health(server)
        assert status == 503
        assert body["failed"] == ["database"]
        assert body["channel_layer"]["ok"] is True
    finally:
        server.stop()
