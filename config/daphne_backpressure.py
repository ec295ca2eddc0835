"""Flow control for streamed HTTP responses under Daphne.

Daphne hands each `http.response.body` part to Twisted at once and never
waits for the client: a streamed response (a file download, PROTOCOL.md §8.4)
is read from disk as fast as the disk allows and piles up in Twisted's send
buffer, so a slow client downloading a 4 GiB file could make the server hold
most of it in memory (bench/files_speed.py measured +120 to +200 MiB of RSS
per 256 MiB download, and Twisted re-joining the backlog took a fifth of the
server's time).

`install()` registers a push producer on the Twisted request at the first
body part that says more is coming: Twisted pauses it when its buffer passes
the high-water mark and resumes it when the buffer drains, and the
application's next `send()` waits for that. Behind nginx (X-Accel-Redirect)
nginx streams the files and this only covers the rest.
"""

import asyncio
from typing import Any

from daphne.server import Server
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

_GATE = "_pipo_send_gate"


@implementer(IPushProducer)
class SendGate:
    """Open while Twisted wants more bytes for this response."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()

    def pauseProducing(self) -> None:  # noqa: N802  (Twisted's interface)
        self.open.clear()

    def resumeProducing(self) -> None:  # noqa: N802
        self.open.set()

    def stopProducing(self) -> None:  # noqa: N802  (the client went away: stop waiting)
        self.open.set()


def install() -> None:
    if getattr(Server.handle_reply, "pipo_backpressure", False):
        return
    original = Server.handle_reply

    async def handle_reply(self: Server, protocol: Any, message: dict[str, Any]) -> None:
        body = message.get("type") == "http.response.body"
        more = body and bool(message.get("more_body", False))
        gate: SendGate | None = getattr(protocol, _GATE, None)
        if body and not more and gate is not None:
            protocol.unregisterProducer()  # the last part: Twisted finishes the request
            setattr(protocol, _GATE, None)
        await original(self, protocol, message)
        if not more or getattr(protocol, "channel", None) is None or protocol.finished:
            return
        if gate is None:
            gate = SendGate()
            setattr(protocol, _GATE, gate)
            protocol.registerProducer(gate, True)
        await gate.open.wait()

    handle_reply.pipo_backpressure = True  # type: ignore[attr-defined]
    Server.handle_reply = handle_reply
