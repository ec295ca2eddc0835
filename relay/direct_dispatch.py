"""The websocket consumers' base: events dispatched without Channels'
per-event `aclose_old_connections()`.

Channels runs `aclose_old_connections()` (a trip to the thread pool) before
every event. PiPo's consumers reach the database only through
`database_sync_to_async` (or the files writer's own thread), which closes
stale connections before and after each call in the worker thread itself,
so the extra hop per frame is pure cost (MACHINE_NOTES.md, relay speed).
"""

from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


class DirectDispatchConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]  # channels is untyped
    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, message["type"].replace(".", "_"), None)
        if handler is None or message["type"].startswith("_"):
            raise ValueError(f"no handler for message type {message['type']!r}")
        await handler(message)
