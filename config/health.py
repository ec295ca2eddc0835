"""`GET /healthz`: does this worker reach its database and its channel layer?

200 when both answer, 503 naming each failed part otherwise. Failures are
reported by kind only (the exception's class), never with a stack trace.
"""

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from redis.asyncio import Redis

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0


def _query_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


async def _check_database() -> None:
    await sync_to_async(_query_database, thread_sensitive=True)()


async def _check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    configured: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    hosts: list[Any] = list(configured.get("CONFIG", {}).get("hosts", []))
    if hosts:
        # Redis (the pub/sub layer): PING every host on a connection of its
        # own. A send and receive round trip through the layer was tried
        # first, and timed out on a healthy worker after websocket consumers
        # had come and gone (channels-redis shares one receive loop per
        # process), reporting Redis as down.
        for host in hosts:
            address = host if isinstance(host, str) else str(dict(host).get("address", ""))
            client = Redis.from_url(address, socket_connect_timeout=CHECK_TIMEOUT_SECONDS)
            try:
                await client.ping()
            finally:
                await client.aclose()
        return
    # The in-memory layer: a real round trip through it.
    channel = await layer.new_channel(prefix="healthz.")
    await layer.send(channel, {"type": "healthz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "healthz.ping":
        raise RuntimeError("channel layer returned the wrong message")


async def _run(name: str, check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as error:
        kind = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
        logger.warning("healthz: %s is down (%s)", name, kind)
        return {"ok": False, "error": kind}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


@never_cache
@require_GET
async def healthz(request: HttpRequest) -> JsonResponse:
    database, channel_layer = await asyncio.gather(
        _run("database", _check_database), _run("channel_layer", _check_channel_layer)
    )
    parts = {"database": database, "channel_layer": channel_layer}
    failed = [name for name, result in parts.items() if not result["ok"]]
    body = {"status": "fail" if failed else "ok", "failed": failed, **parts}
    return JsonResponse(body, status=503 if failed else 200)
