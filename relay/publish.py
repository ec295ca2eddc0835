"""Publishing events to sockets through the channel layer: best effort.

PostgreSQL is the source of truth; the channel layer is only the fast path.
A publish that fails (Redis down or slow) is logged and dropped: the stored
data is not affected, and clients catch up with `sync` (and the relay fills
gaps by sequence number on the next message it delivers).
"""

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from relay.groups import tenant_group, user_group

logger = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 2.0


async def publish(groups: Iterable[str], event: dict[str, Any]) -> bool:
    """Send `event` to every group; False if any send failed (never raises)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    names = list(groups)
    if not names:
        return True
    try:
        await asyncio.wait_for(
            asyncio.gather(*(layer.group_send(name, event) for name in names)),
            PUBLISH_TIMEOUT_S,
        )
    except Exception as error:  # a channel-layer outage must not fail a write
        logger.warning("relay: publish failed (%s); clients will catch up", type(error).__name__)
        return False
    return True


async def publish_many(items: Sequence[tuple[Sequence[str], dict[str, Any]]]) -> bool:
    """Several events, each to its groups, in the order given; False if any failed.

    With the Redis pub/sub layer every PUBLISH of the lot goes out in one
    pipeline (one round trip, each event serialized once) instead of one
    round trip per group; Redis keeps their order, so a room's messages
    reach each process in seq order. Other layers get `group_send`s in order.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    if not items:
        return True
    try:
        await asyncio.wait_for(_publish_many(layer, items), PUBLISH_TIMEOUT_S)
    except Exception as error:  # a channel-layer outage must not fail a write
        logger.warning("relay: publish failed (%s); clients will catch up", type(error).__name__)
        return False
    return True


async def _publish_many(layer: Any, items: Sequence[tuple[Sequence[str], dict[str, Any]]]) -> None:
    shards = _pubsub_shards(layer)
    if shards is None:
        for groups, event in items:
            for name in groups:
                await layer.group_send(name, event)
        return
    loop_layer, _ = shards
    batches: dict[Any, list[tuple[str, bytes]]] = {}
    for groups, event in items:
        data = layer.serialize(event)
        for name in groups:
            channel = loop_layer._get_group_channel_name(name)
            batches.setdefault(loop_layer._get_shard(channel), []).append((channel, data))
    for shard, messages in batches.items():
        async with shard._lock:
            shard._ensure_redis()
            pipe = shard._redis.pipeline(transaction=False)
            for channel, data in messages:
                pipe.publish(channel, data)
            await pipe.execute()


def _pubsub_shards(layer: Any) -> tuple[Any, list[Any]] | None:
    """channels_redis' pub/sub layer for this loop and its shard connections, if
    that is the layer (and its internals are the ones this was written for)."""
    if type(layer).__name__ != "RedisPubSubChannelLayer":
        return None
    loop_layer = layer._get_layer()
    shards = getattr(loop_layer, "_shards", None)
    if not shards or not all(
        hasattr(shard, name) for shard in shards for name in ("_lock", "_ensure_redis", "_redis")
    ):
        return None
    if not hasattr(loop_layer, "_get_group_channel_name") or not hasattr(loop_layer, "_get_shard"):
        return None
    return loop_layer, shards


async def publish_to_users(tenant_id: int, usernames: Iterable[str], event: dict[str, Any]) -> bool:
    return await publish((user_group(tenant_id, name) for name in usernames), event)


def publish_from_sync(groups: Iterable[str], event: dict[str, Any]) -> None:
    """`publish` for synchronous code (on_commit hooks of HTTP writes); never raises."""
    names = list(groups)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        # Sync code called on an event loop's own thread (tests set data up
        # this way): async_to_sync cannot run here, so let the loop do it.
        _pending.add(task := loop.create_task(publish(names, event)))
        task.add_done_callback(_pending.discard)
        return
    try:
        async_to_sync(publish)(names, event)
    except Exception:
        logger.warning("relay: publish from synchronous code failed")


_pending: set["asyncio.Task[bool]"] = set()


def announce_chain_change(tenant_id: int, *, seq: int, removed: Iterable[str]) -> None:
    """After a link is committed: a `chain` frame to the tenant's sockets, and the
    sockets of members the link removed are closed."""
    removed_groups = [user_group(tenant_id, name) for name in removed]
    if removed_groups:
        publish_from_sync(removed_groups, {"type": "relay.revoke"})
    publish_from_sync(
        [tenant_group(tenant_id)], {"type": "relay.frame", "frame": {"type": "chain", "seq": seq}}
    )
