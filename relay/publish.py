"""Publishing events to sockets through the channel layer: best effort.

PostgreSQL is the source of truth; the channel layer is only the fast path.
A publish that fails (Redis down or slow) is logged and dropped: the stored
data is not affected, and clients catch up with `sync` (and the relay fills
gaps by sequence number on the next message it delivers).
"""

import asyncio
import logging
from collections.abc import Iterable
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
