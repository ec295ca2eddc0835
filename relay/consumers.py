"""The realtime websocket at /ws/ (docs/PROTOCOL.md §4).

Thin by design: each frame is parsed by relay.frames, handed to the rooms
app's actions and selectors, and answered. Whatever goes wrong with one frame
is answered with an error frame on this connection only; the connection
stays open.

Fan-out: every socket joins its user's group and its tenant's group
(relay.groups). A stored message is published, after its transaction
committed, to the user group of each member the transaction saw in the room:
a member removed by a chain link gets nothing stored after that link, and
nobody subscribes to anything a client names. The channel layer is only the
fast path (PostgreSQL is the source of truth): if a publish is lost, the
next message in that room shows this socket a gap in `seq`, and the relay
fills it from the database before delivering, so each socket gets each
room's messages once and in order; a client that reconnects asks with `sync`.

Speed: events skip Channels' per-event `aclose_old_connections()`
(relay.direct_dispatch says why that is safe here).
"""

import asyncio
import contextlib
import functools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.utils import await_many_dispatch
from django.conf import settings

from accounts.models import Tenant
from relay import close_codes
from relay.direct_dispatch import DirectDispatchConsumer
from relay.frames import (
    ClientFrame,
    Epoch,
    FrameError,
    FrameErrorCode,
    Ping,
    Presence,
    Read,
    Send,
    Share,
    Sync,
    Typing,
    parse_text_frame,
)
from relay.groups import tenant_group, user_group
from relay.publish import publish, publish_many, publish_to_users
from relay.ratelimit import TokenBuckets
from rooms.message_actions import (
    RoomError,
    SendResult,
    StoredEnvelope,
    do_store_envelopes,
    do_store_epoch_record,
    do_store_epoch_share,
)
from rooms.message_selectors import (
    is_chain_member,
    messages_after,
    messages_between,
    room_members,
)

logger = logging.getLogger(__name__)

LAYER_TIMEOUT_S = 2.0
REJOIN_INTERVAL_S = 1.0
# Envelopes stored per transaction at most (group commit), and `send` frames
# of one socket waiting for their acks at most before it reads on.
SEND_BATCH_MAX = 256
SENDS_IN_FLIGHT_MAX = 128

# This process's sockets per (tenant id, username): presence is "online"
# while there is one (or "away" while every one said `away`), and the
# smallest channel name re-asserts it when another process announces the
# user offline.
_local_sockets: dict[tuple[int, str], set[str]] = {}
# The sockets of _local_sockets that said `{"type":"presence","state":"away"}`.
_away_sockets: dict[tuple[int, str], set[str]] = {}
_buckets: dict[tuple[str, float, int], TokenBuckets] = {}


def _bucket(kind: str, rate: float, burst: int) -> TokenBuckets:
    key = (kind, rate, burst)
    if key not in _buckets:
        _buckets[key] = TokenBuckets(rate=rate, burst=burst)
    return _buckets[key]


def frame_bucket() -> TokenBuckets:
    return _bucket(
        "frames", float(settings.PIPO_RELAY_FRAMES_PER_SECOND), settings.PIPO_RELAY_FRAME_BURST
    )


def connection_bucket() -> TokenBuckets:
    return _bucket(
        "connections",
        settings.PIPO_RELAY_CONNECTIONS_PER_MINUTE / 60.0,
        settings.PIPO_RELAY_CONNECTION_BURST,
    )


def encode_frame(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, message: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message, **extra}
    if ref is not None:
        frame["id"] = ref
    return frame


# --- Admission (shared with files.consumers) ----------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a socket is not admitted: its close code and, if there is more to
    say than the code, an error frame sent before closing."""

    code: int
    frame: dict[str, Any] | None = None


async def admit_socket(scope: Any) -> tuple[Tenant, str] | Refusal:
    """The tenant and username of a socket that may open (§4.4), else why not.

    The host names a tenant; the client address has a new-connection token
    left (shared by every websocket of this process); the session is of this
    tenant; the user is a current member of its trust chain.
    """
    tenant = scope.get("tenant")
    if tenant is None:
        return Refusal(close_codes.NO_TENANT)
    client = scope.get("client") or ["unknown"]
    retry_after = connection_bucket().take(str(client[0]))
    if retry_after:
        return Refusal(
            close_codes.RATE_LIMITED,
            error_frame(
                "rate_limited",
                "Too many new connections from this address; try again later.",
                retry_after_ms=retry_after,
            ),
        )
    user = scope.get("user")
    if user is None or not user.is_authenticated or user.tenant_id != tenant.pk:
        return Refusal(close_codes.SIGNED_OUT)
    username: str = user.username
    if not await database_sync_to_async(is_chain_member)(tenant, username):
        return Refusal(close_codes.NOT_A_MEMBER)
    return tenant, username


async def refuse_socket(consumer: AsyncWebsocketConsumer, refusal: Refusal) -> None:
    """No tenant: the handshake is refused (403). Otherwise accept, say why, close."""
    if refusal.code == close_codes.NO_TENANT:
        await consumer.close(code=refusal.code)
        return
    await consumer.accept()
    if refusal.frame is not None:
        await consumer.send(text_data=encode_frame(refusal.frame))
    await consumer.close(code=refusal.code)


def too_many_frames(retry_after_ms: int, ref: str | None) -> dict[str, Any]:
    """The answer to a frame over the per-user frame rate (both sockets)."""
    return error_frame(
        "rate_limited", "Too many frames; slow down.", ref, retry_after_ms=retry_after_ms
    )


# --- Group commit ---------------------------------------------------------------------


@dataclass(frozen=True)
class PendingSend:
    tenant: Tenant
    username: str
    envelope: object
    # Sends the ack (or the error) to the socket that sent it.
    answer: Callable[[SendResult], Awaitable[None]]
    done: "asyncio.Future[None]"


class SendBatcher:
    """Stores the `send` frames of every socket of this process, many per transaction.

    Frames queue up while a batch is in the database; the next batch takes
    them all (up to SEND_BATCH_MAX) in arrival order, in one trip to the
    database thread (rooms.message_actions.do_store_envelopes: one
    transaction per room, under its row lock). After the commit it answers
    each frame in that order (so each socket gets its acks in the order it
    sent) and then publishes the stored messages in seq order, before the
    next batch is stored: a sender's ack always precedes its own `message`
    frame, and nothing is published that is not committed.
    """

    def __init__(self) -> None:
        self.queue: deque[PendingSend] = deque()
        self.task: asyncio.Task[None] | None = None

    def submit(self, pending: PendingSend) -> None:
        self.queue.append(pending)
        if self.task is None:
            self.task = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        try:
            while self.queue:
                batch = [self.queue.popleft() for _ in range(min(len(self.queue), SEND_BATCH_MAX))]
                await self.store(batch)
        finally:
            self.task = None
            if self.queue:  # cancelled with work left (shutting down): fail it loudly
                for pending in self.queue:
                    if not pending.done.done():
                        pending.done.set_result(None)
                self.queue.clear()

    async def store(self, batch: list[PendingSend]) -> None:
        results: list[SendResult]
        try:
            results = await database_sync_to_async(do_store_envelopes)(
                [(pending.tenant, pending.username, pending.envelope) for pending in batch]
            )
        except Exception as error:
            results = [error] * len(batch)
        published: list[tuple[list[str], dict[str, Any]]] = []
        for pending, result in zip(batch, results, strict=True):
            try:
                await pending.answer(result)
            except Exception:
                logger.warning("relay: answering a send failed (socket closed?)")
            finally:
                pending.done.set_result(None)
            if isinstance(result, StoredEnvelope) and result.created:
                # The `message` frame encoded once here, not once per socket.
                text = encode_frame(
                    {
                        "type": "message",
                        "room": result.room,
                        "seq": result.seq,
                        "envelope": result.envelope,
                    }
                )
                event = {"type": "relay.message", "room": result.room, "seq": result.seq}
                event["frame"] = text
                groups = [user_group(pending.tenant.pk, name) for name in result.recipients]
                published.append((groups, event))
        await publish_many(published)


_batchers: dict[asyncio.AbstractEventLoop, SendBatcher] = {}


def send_batcher() -> SendBatcher:
    loop = asyncio.get_running_loop()
    batcher = _batchers.get(loop)
    if batcher is None:
        for old in [old for old in _batchers if old.is_closed()]:
            del _batchers[old]
        batcher = _batchers[loop] = SendBatcher()
    return batcher


class RelayConsumer(DirectDispatchConsumer):
    tenant: Tenant | None = None
    username: str | None = None

    # --- ASGI plumbing --------------------------------------------------------------

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """AsyncConsumer.__call__, but a channel layer that is down (Redis
        restarting) costs this socket its pushes, not its life: it can still
        send, and `sync` catches it up."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = None
        self.positions: dict[str, int] = {}
        # This socket's `send` frames handed to the batcher, not yet answered.
        self.sends: deque[asyncio.Future[None]] = deque()
        self.subscribed = False
        self.rejoin_task: asyncio.Task[None] | None = None
        sources = [receive]
        if self.channel_layer is not None:
            try:
                self.channel_name = await asyncio.wait_for(
                    self.channel_layer.new_channel(), LAYER_TIMEOUT_S
                )
            except Exception as error:  # the layer is down: serve without pushes
                logger.warning("relay: no channel for a socket (%s)", type(error).__name__)
            else:
                sources.append(functools.partial(self.channel_layer.receive, self.channel_name))
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch(sources, self.dispatch)

    # --- Connecting -----------------------------------------------------------------

    async def connect(self) -> None:
        admitted = await admit_socket(self.scope)
        if isinstance(admitted, Refusal):
            await refuse_socket(self, admitted)
            return
        self.tenant, self.username = admitted
        if not await self.join_groups():
            self.rejoin_task = asyncio.ensure_future(self.rejoin_groups())
        await self.accept()
        await self.presence_connected()

    def my_groups(self) -> list[str]:
        assert self.tenant is not None
        assert self.username is not None
        return [user_group(self.tenant.pk, self.username), tenant_group(self.tenant.pk)]

    async def join_groups(self) -> bool:
        if self.channel_layer is None or self.channel_name is None:
            return False
        try:
            for group in self.my_groups():
                await asyncio.wait_for(
                    self.channel_layer.group_add(group, self.channel_name), LAYER_TIMEOUT_S
                )
        except Exception as error:
            logger.warning("relay: joining groups failed (%s)", type(error).__name__)
            return False
        self.subscribed = True
        return True

    async def rejoin_groups(self) -> None:
        while self.channel_name is not None and not await self.join_groups():  # noqa: ASYNC110  (a retry, not a wait)
            await asyncio.sleep(REJOIN_INTERVAL_S)

    async def disconnect(self, code: int) -> None:
        if self.rejoin_task is not None:
            self.rejoin_task.cancel()
        if self.tenant is None or self.username is None:
            return
        if self.subscribed and self.channel_layer is not None:
            for group in self.my_groups():
                try:
                    await asyncio.wait_for(
                        self.channel_layer.group_discard(group, self.channel_name),
                        LAYER_TIMEOUT_S,
                    )
                except Exception:
                    logger.warning("relay: leaving a group failed")
        await self.presence_disconnected()

    # --- Presence -------------------------------------------------------------------

    def presence_key(self) -> tuple[int, str]:
        assert self.tenant is not None
        assert self.username is not None
        return (self.tenant.pk, self.username)

    def socket_name(self) -> str:
        return self.channel_name or f"unsubscribed-{id(self)}"

    @staticmethod
    def local_presence(key: tuple[int, str]) -> str:
        """This process's view of the user: offline, away (every socket said so), online."""
        local = _local_sockets.get(key)
        if not local:
            return "offline"
        return "away" if local <= _away_sockets.get(key, set()) else "online"

    async def change_presence(self, change: Callable[[tuple[int, str]], None]) -> None:
        """Apply `change` to this process's sockets of the user; announce the new state."""
        key = self.presence_key()
        before = self.local_presence(key)
        change(key)
        if not _local_sockets.get(key):
            _local_sockets.pop(key, None)
        if not _away_sockets.get(key):
            _away_sockets.pop(key, None)
        after = self.local_presence(key)
        if after != before:
            await self.announce_presence(after)

    async def presence_connected(self) -> None:
        await self.change_presence(
            lambda key: _local_sockets.setdefault(key, set()).add(self.socket_name())
        )

    async def presence_disconnected(self) -> None:
        def leave(key: tuple[int, str]) -> None:
            _local_sockets.get(key, set()).discard(self.socket_name())
            _away_sockets.get(key, set()).discard(self.socket_name())

        await self.change_presence(leave)

    async def on_presence(self, frame: Presence) -> None:
        def mark(key: tuple[int, str]) -> None:
            if frame.state == "away":
                _away_sockets.setdefault(key, set()).add(self.socket_name())
            else:
                _away_sockets.get(key, set()).discard(self.socket_name())

        await self.change_presence(mark)

    async def announce_presence(self, state: str) -> None:
        assert self.tenant is not None
        frame = {"type": "presence", "user": self.username, "state": state}
        await publish([tenant_group(self.tenant.pk)], {"type": "relay.presence", "frame": frame})

    async def relay_presence(self, event: dict[str, Any]) -> None:
        frame = event["frame"]
        await self.send_frame(frame)
        if frame["user"] == self.username and frame["state"] == "offline":
            # Another process's last socket of this user closed; this one is open.
            key = self.presence_key()
            local = _local_sockets.get(key, set())
            if local and self.socket_name() == min(local):
                await self.announce_presence(self.local_presence(key))

    # --- Client frames --------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if text_data is None:
                raise FrameError(
                    FrameErrorCode.BINARY_NOT_EXPECTED,
                    "binary frames are accepted only during a file upload",
                )
            frame = parse_text_frame(text_data, max_bytes=settings.PIPO_MAX_TEXT_FRAME_BYTES)
            await self.handle(frame)
        except FrameError as error:
            await self.settle_sends()
            await self.send_frame(error.to_frame())
        except Exception:
            # Never a stack trace to the client; the log gets the kind only,
            # not the frame (it may carry ciphertext or keys).
            logger.exception("relay: unexpected error while handling a frame")
            await self.send_internal_error()

    async def send_internal_error(self) -> None:
        await self.send_frame(
            FrameError(
                FrameErrorCode.INTERNAL_ERROR, "the server could not handle this frame"
            ).to_frame()
        )

    async def queue_send(self, frame: Send) -> None:
        """Hand a `send` to the batcher without waiting for its store (pipelining):
        the next frames are read meanwhile; the batcher answers it in order."""
        assert self.tenant is not None
        assert self.username is not None
        while len(self.sends) >= SENDS_IN_FLIGHT_MAX:
            await self.sends.popleft()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sends.append(done)
        send_batcher().submit(
            PendingSend(
                self.tenant,
                self.username,
                frame.envelope,
                functools.partial(self.answer_send, frame),
                done,
            )
        )

    async def settle_sends(self) -> None:
        """Wait until this socket's sends are answered: every other answer comes
        after the acks of the sends before it."""
        while self.sends:
            await self.sends.popleft()

    async def answer_send(self, frame: Send, result: SendResult) -> None:
        if isinstance(result, StoredEnvelope):
            await self.send_frame(
                {"type": "ack", "id": result.message_id, "room": result.room, "seq": result.seq}
            )
        elif isinstance(result, RoomError):
            await self.send_frame(error_frame(result.code, result.message, frame.id))
        else:
            logger.error("relay: unexpected error while storing an envelope", exc_info=result)
            await self.send_internal_error()

    async def handle(self, frame: ClientFrame) -> None:
        if not isinstance(frame, Send):
            await self.settle_sends()
        if isinstance(frame, Ping):
            await self.send_frame(
                {"type": "pong", "id": frame.id} if frame.id else {"type": "pong"}
            )
            return
        assert self.tenant is not None
        assert self.username is not None
        retry_after = frame_bucket().take((self.tenant.pk, self.username))
        if retry_after:
            await self.settle_sends()
            await self.send_frame(too_many_frames(retry_after, frame.id))
            return
        try:
            match frame:
                case Send():
                    await self.queue_send(frame)
                case Epoch():
                    await self.on_epoch(frame)
                case Share():
                    await self.on_share(frame)
                case Sync():
                    await self.on_sync(frame)
                case Typing():
                    await self.on_typing(frame)
                case Read():
                    await self.on_read(frame)
                case Presence():
                    await self.on_presence(frame)
        except RoomError as error:
            await self.send_frame(error_frame(error.code, error.message, frame.id))

    async def on_epoch(self, frame: Epoch) -> None:
        assert self.tenant is not None
        stored = await database_sync_to_async(do_store_epoch_record)(
            self.tenant, self.username, frame.record
        )
        ack: dict[str, Any] = {"type": "epoch_ack", "room": stored.room, "epoch": stored.epoch}
        await self.send_frame({**ack, "id": frame.id} if frame.id else ack)
        if stored.created:
            pushed = {"type": "epoch", "room": stored.room, "record": stored.record}
            await publish_to_users(
                self.tenant.pk, stored.recipients, {"type": "relay.frame", "frame": pushed}
            )

    async def on_share(self, frame: Share) -> None:
        assert self.tenant is not None
        stored = await database_sync_to_async(do_store_epoch_share)(
            self.tenant, self.username, frame.share
        )
        ack = {"type": "share_ack", "room": stored.room, "epoch": stored.epoch, "user": stored.user}
        await self.send_frame({**ack, "id": frame.id} if frame.id else ack)
        if stored.created:
            pushed = {"type": "share", "room": stored.room, "share": stored.share}
            await publish_to_users(
                self.tenant.pk, [stored.user], {"type": "relay.frame", "frame": pushed}
            )

    async def on_sync(self, frame: Sync) -> None:
        found = await database_sync_to_async(messages_after)(
            self.tenant, self.username, frame.rooms, limit=settings.PIPO_SYNC_PAGE
        )
        reached: dict[str, int] = {}
        for room, rows in found.items():
            for seq, envelope in rows:
                await self.send_message(room, seq, envelope)
            reached[room] = rows[-1][0] if rows else frame.rooms[room]
            self.positions[room] = max(self.positions.get(room, 0), reached[room])
        await self.send_frame({"type": "synced", "rooms": reached})

    async def on_typing(self, frame: Typing) -> None:
        assert self.tenant is not None
        members = await database_sync_to_async(room_members)(self.tenant, self.username, frame.room)
        pushed = {"type": "typing", "room": frame.room, "user": self.username}
        others = [name for name in members if name != self.username]
        await publish_to_users(self.tenant.pk, others, {"type": "relay.frame", "frame": pushed})

    async def on_read(self, frame: Read) -> None:
        assert self.tenant is not None
        members = await database_sync_to_async(room_members)(self.tenant, self.username, frame.room)
        pushed = {"type": "read", "room": frame.room, "user": self.username, "seq": frame.seq}
        await publish_to_users(
            self.tenant.pk,
            members,
            {"type": "relay.frame", "frame": pushed, "skip": self.channel_name},
        )

    # --- Channel-layer events -------------------------------------------------------

    async def relay_message(self, event: dict[str, Any]) -> None:
        """A stored message: delivered once and in order (gaps filled from the database)."""
        room: str = event["room"]
        seq: int = event["seq"]
        last = self.positions.get(room)
        if last is not None and seq <= last:
            return  # already delivered (by sync, or by filling a gap)
        if last is not None and seq > last + 1:
            if seq - last - 1 > settings.PIPO_SYNC_PAGE:
                # Too far behind to fill here: the client sees the gap and syncs.
                del self.positions[room]
            else:
                try:
                    missing = await database_sync_to_async(messages_between)(
                        self.tenant, self.username, room, after=last, before=seq
                    )
                except RoomError:
                    return  # no longer in the room
                for missing_seq, envelope in missing:
                    await self.send_message(room, missing_seq, envelope)
        if "frame" in event:
            await self.send(text_data=event["frame"])
        else:
            await self.send_message(room, seq, event["envelope"])
        self.positions[room] = seq

    async def relay_frame(self, event: dict[str, Any]) -> None:
        if event.get("skip") is not None and event.get("skip") == self.channel_name:
            return
        await self.send_frame(event["frame"])

    async def relay_revoke(self, event: dict[str, Any]) -> None:
        """The chain removed this member: the socket closes at once."""
        await self.close(code=close_codes.NOT_A_MEMBER)

    # --- Output ---------------------------------------------------------------------

    async def send_message(self, room: str, seq: int, envelope: dict[str, Any]) -> None:
        await self.send_frame({"type": "message", "room": room, "seq": seq, "envelope": envelope})

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=encode_frame(frame))
