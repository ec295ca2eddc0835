"""The encrypted-room relay through its full path, beside baselines measured in the same run.

Starts a live Daphne (`python -m config.serve`, as the test suite does) on the
PostgreSQL and Redis that `python -m tests.services` provides, makes a tenant
with a sender and 10 receivers, rooms with an epoch, and 1.7 KB send frames
(signed, encrypted envelopes, content padded to 1 KiB), then measures with one
sender socket and N = 1, 10, 50 receiver sockets (members of the room; at
N = 50 each receiver has 5 sockets):

- the full path (parse, verify, store with the room lock, ack, publish through
  the channel layer, deliver): messages acked per second and `message` frames
  delivered per second to all receivers, median of 3 runs; then the latency
  from send to delivery at half the peak rate;
- baselines: `ping` round trips on one socket (one at a time and pipelined:
  the server with no database and no channel layer), `read` markers fanned out
  to the same receivers (the same server and channel layer, no storage), and a
  trivial websockets broadcast server (no Django: the ceiling for this client).

Every run checks that each receiver got each message exactly once and in order
(and the `seq` its ack named), and fails loudly otherwise. The relay's rate
limits and the epoch's message budget are lifted for the bench server only.
MACHINE_NOTES.md ("The Channels relay on this machine") has the figures
measured before the project.
"""

import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect

REPOSITORY = Path(__file__).resolve().parent.parent
RECEIVER_COUNTS = (1, 10, 50)
RECEIVER_USERS = 10
RUNS = 3
RUN_SECONDS = 2.0
BASELINE_SECONDS = 1.0
BARE_SECONDS = 0.5  # thousands of frames even so
LATENCY_SECONDS = 2.0
WARMUP_MESSAGES = 50
IN_PROCESS_CALLS = 150
WINDOW = 64  # frames in flight from the sender (acks release them)
TEXT = "x" * 900  # padded to 1 KiB: a ~1.7 KB send frame (printed)
DRAIN_TIMEOUT_S = 30.0
TENANT = "relaybench"
SENDER = "sender"
LIFTED = str(10**9)
SERVER_ENVIRONMENT = {
    "PIPO_RELAY_FRAMES_PER_SECOND": LIFTED,
    "PIPO_RELAY_FRAME_BURST": LIFTED,
    "PIPO_RELAY_CONNECTIONS_PER_MINUTE": LIFTED,
    "PIPO_RELAY_CONNECTION_BURST": LIFTED,
    "PIPO_EPOCH_MAX_MESSAGES": LIFTED,
    "LOG_LEVEL": "WARNING",
}

Item = tuple[str, str]  # (key the answers name, frame text)


class BenchFailure(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(f"relay bench FAILED: {message}")


# --- What the sender sends --------------------------------------------------------------


class Supply:
    """Frames made ahead of a run (sealing is the client's work, not the server's)."""

    def __init__(self, make: Callable[[int], list[Item]]) -> None:
        self.make = make
        self.ready: collections.deque[Item] = collections.deque()

    def top_up(self, count: int) -> None:
        if len(self.ready) < count:
            self.ready.extend(self.make(count - len(self.ready)))

    def take(self) -> Item:
        if not self.ready:
            self.ready.extend(self.make(WINDOW))
        return self.ready.popleft()


def _compact(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))


def envelope_supply(world: Any, room: str) -> Supply:
    def make(count: int) -> list[Item]:
        items = []
        for _ in range(count):
            envelope = world.envelope(room, 0, SENDER, TEXT)
            items.append((envelope.id, _compact({"type": "send", "envelope": envelope.to_json()})))
        return items

    return Supply(make)


_counter = 0


def _next() -> int:
    global _counter
    _counter += 1
    return _counter


def read_supply(room: str) -> Supply:
    def make(count: int) -> list[Item]:
        items = []
        for _ in range(count):
            seq = _next()
            items.append((f"r{seq}", _compact({"type": "read", "room": room, "seq": seq})))
        return items

    return Supply(make)


def ping_supply() -> Supply:
    def make(count: int) -> list[Item]:
        items = []
        for _ in range(count):
            key = f"p{_next()}"
            items.append((key, _compact({"type": "ping", "id": key})))
        return items

    return Supply(make)


# --- One run ------------------------------------------------------------------------


@dataclass(eq=False)
class Run:
    receivers: int
    window: asyncio.Semaphore
    ack_from_first_receiver: bool
    sent: list[str] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    acks: dict[str, tuple[int, float]] = field(default_factory=dict)
    got: list[list[tuple[str, int, float]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    started: float = 0.0
    last_ack: float = 0.0
    delivered: int = 0
    last_delivery: float = 0.0
    finished: bool = False
    all_acked: asyncio.Event = field(default_factory=asyncio.Event)
    all_delivered: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.got = [[] for _ in range(self.receivers)]

    def acked(self, key: str, seq: int, now: float) -> None:
        if key not in self.sent_at or key in self.acks:
            self.problems.append(f"unexpected or repeated answer for {key}")
            return
        self.acks[key] = (seq, now)
        self.last_ack = now
        self.window.release()
        self._check()

    def deliver(self, index: int, key: str, seq: int, now: float) -> None:
        self.got[index].append((key, seq, now))
        self.delivered += 1
        self.last_delivery = now
        if index == 0 and self.ack_from_first_receiver:
            self.acked(key, seq, now)
        self._check()

    def finish(self) -> None:
        self.finished = True
        self._check()

    def _check(self) -> None:
        if not self.finished:
            return
        if len(self.acks) >= len(self.sent):
            self.all_acked.set()
        if self.delivered >= len(self.sent) * self.receivers:
            self.all_delivered.set()

    # Figures
    def messages_per_second(self) -> float:
        return len(self.sent) / (self.last_ack - self.started)

    def deliveries_per_second(self) -> float:
        return self.delivered / (self.last_delivery - self.started)

    def latencies_ms(self) -> list[float]:
        return [
            (at - self.sent_at[key]) * 1000 for received in self.got for key, _seq, at in received
        ]

    def round_trips_ms(self) -> list[float]:
        return [(at - self.sent_at[key]) * 1000 for key, (_seq, at) in self.acks.items()]


def _delivery(frame: dict[str, Any]) -> tuple[str, int] | None:
    kind = frame.get("type")
    if kind == "message":
        return str(frame["envelope"]["id"]), int(frame["seq"])
    if kind == "send":  # the bare broadcast server passes the send frame on
        return str(frame["envelope"]["id"]), 0
    if kind == "read":
        return f"r{frame['seq']}", int(frame["seq"])
    return None


class Harness:
    """One sender socket and a set of receiver sockets, each read by its own task."""

    def __init__(self, sender: ClientConnection) -> None:
        self.sender = sender
        self.receivers: list[ClientConnection] = []
        self.run: Run | None = None
        self.strays: list[str] = []
        self.sender_task = asyncio.ensure_future(self._read_sender())
        self.receiver_tasks: list[asyncio.Task[None]] = []

    async def _read_sender(self) -> None:
        async for raw in self.sender:
            now = time.perf_counter()
            frame = json.loads(raw)
            kind = frame.get("type")
            run = self.run
            if kind in {"ack", "pong"}:
                if run is None:
                    self.strays.append(f"{kind} outside a run")
                else:
                    run.acked(str(frame.get("id")), int(frame.get("seq", 0)), now)
            elif kind == "error":
                problem = f"error frame to the sender: {frame.get('code')} {frame.get('message')}"
                (run.problems if run is not None else self.strays).append(problem)

    async def _read_receiver(self, index: int, socket: ClientConnection) -> None:
        async for raw in socket:
            now = time.perf_counter()
            frame = json.loads(raw)
            found = _delivery(frame)
            run = self.run
            if found is None:
                if frame.get("type") == "error":
                    self.strays.append(f"error frame to a receiver: {frame.get('code')}")
                continue
            if run is None:
                self.strays.append(f"delivery of {found[0]} outside a run (a duplicate?)")
            else:
                run.deliver(index, found[0], found[1], now)

    async def attach(self, receivers: list[ClientConnection]) -> None:
        await self.detach()
        self.receivers = receivers
        self.receiver_tasks = [
            asyncio.ensure_future(self._read_receiver(index, socket))
            for index, socket in enumerate(receivers)
        ]

    async def detach(self) -> None:
        await asyncio.sleep(0.2)  # anything late (a duplicate) shows up as a stray
        self.check_strays()
        for task in self.receiver_tasks:
            task.cancel()
        await asyncio.gather(*(socket.close() for socket in self.receivers))
        self.receivers, self.receiver_tasks = [], []

    async def close(self) -> None:
        await self.detach()
        self.sender_task.cancel()
        await self.sender.close()

    def check_strays(self) -> None:
        if self.strays:
            raise BenchFailure("; ".join(self.strays[:5]))
        for task in [self.sender_task, *self.receiver_tasks]:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise BenchFailure(f"a socket failed: {task.exception()!r}")

    async def go(
        self,
        supply: Supply,
        seconds: float,
        *,
        window: int = WINDOW,
        rate: float | None = None,
        ack_from_first_receiver: bool = False,
        check_seq: bool = False,
        count: int | None = None,
    ) -> Run:
        """Send for `seconds` (or `count` frames), at most `window` unanswered
        (and `rate` per second if given), then wait for every answer and delivery."""
        run = Run(len(self.receivers), asyncio.Semaphore(window), ack_from_first_receiver)
        self.run = run
        run.started = time.perf_counter()
        deadline = run.started + seconds
        while (count is None and time.perf_counter() < deadline) or (
            count is not None and len(run.sent) < count
        ):
            if rate is not None:
                due = run.started + len(run.sent) / rate
                if (wait := due - time.perf_counter()) > 0:
                    await asyncio.sleep(wait)
            await run.window.acquire()
            key, text = supply.take()
            run.sent.append(key)
            run.sent_at[key] = time.perf_counter()
            await self.sender.send(text)
        run.finish()
        try:
            await asyncio.wait_for(
                asyncio.gather(run.all_acked.wait(), run.all_delivered.wait()), DRAIN_TIMEOUT_S
            )
        except TimeoutError:
            self.check_strays()
            raise BenchFailure(
                f"after {DRAIN_TIMEOUT_S:.0f} s, {len(run.acks):,} of {len(run.sent):,} answered"
                f" and {run.delivered:,} of {len(run.sent) * run.receivers:,} delivered"
                f" ({'; '.join(run.problems[:3]) or 'no error frames'})"
            ) from None
        finally:
            self.run = None
        verify(run, check_seq=check_seq)
        return run


def verify(run: Run, *, check_seq: bool) -> None:
    """Each receiver got each message exactly once and in order; each was answered once."""
    if run.problems:
        raise BenchFailure("; ".join(run.problems[:5]))
    if set(run.acks) != set(run.sent) or len(set(run.sent)) != len(run.sent):
        raise BenchFailure("not every frame was answered exactly once")
    for index, received in enumerate(run.got):
        keys = [key for key, _seq, _at in received]
        if keys != run.sent:
            missing = len(set(run.sent) - set(keys))
            repeated = len(keys) - len(set(keys))
            raise BenchFailure(
                f"receiver {index} got {len(keys):,} of {len(run.sent):,}: {missing} missing, "
                f"{repeated} repeated, {'in' if not missing and not repeated else 'out of'} order"
            )
        if check_seq and any(seq != run.acks[key][0] for key, seq, _at in received):
            raise BenchFailure(f"receiver {index} got a seq its ack did not name")
    if check_seq:
        seqs = [run.acks[key][0] for key in run.sent]
        if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
            raise BenchFailure("acks did not name consecutive seqs in send order")


# --- Where the time goes -------------------------------------------------------------


def _process_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_seconds() -> tuple[float, float]:
    """(busy, all) CPU seconds of the whole machine, every core."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / ticks, sum(values[:8]) / ticks


class CpuMeter:
    """CPU used by the server process, this client and the whole machine, as % of one core."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.started = time.perf_counter()
        self.server = _process_seconds(server_pid) if server_pid else 0.0
        self.client = time.process_time()
        self.machine = _machine_seconds()[0]

    def read(self) -> str:
        wall = time.perf_counter() - self.started
        server = (_process_seconds(self.server_pid) - self.server) if self.server_pid else 0.0
        client = time.process_time() - self.client
        machine = _machine_seconds()[0] - self.machine
        named = f"server {server / wall:.0%}, " if self.server_pid else ""
        rest = max(0.0, machine - server - client)
        return (
            f"cpu {named}bench client {client / wall:.0%}, "
            f"everything else {rest / wall:.0%} (of {os.cpu_count()} cores)"
        )


# --- Figures ------------------------------------------------------------------------


@dataclass
class Figures:
    messages: float = 0.0
    deliveries: float = 0.0
    cpu: str = ""


def _median_runs(runs: list[Run]) -> Figures:
    return Figures(
        statistics.median(run.messages_per_second() for run in runs),
        statistics.median(run.deliveries_per_second() for run in runs) if runs[0].receivers else 0,
    )


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def measure(
    harness: Harness,
    supply: Supply,
    *,
    seconds: float,
    server_pid: int | None,
    expected: float,
    **options: Any,
) -> tuple[Figures, list[Run]]:
    await harness.go(supply, 0, count=WARMUP_MESSAGES, **options)
    runs = []
    meter = CpuMeter(server_pid)
    for _ in range(RUNS):
        supply.top_up(int(expected * seconds * 1.5) + WINDOW)
        runs.append(await harness.go(supply, seconds, **options))
        expected = max(expected, runs[-1].messages_per_second())
    figures = _median_runs(runs)
    figures.cpu = meter.read()
    return figures, runs


# --- The servers and sockets ----------------------------------------------------------


def _prepare() -> tuple[Any, dict[int, str]]:
    """Migrate the throwaway database; a tenant, its people, and two rooms with an epoch."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from rooms.message_actions import do_store_epoch_record
    from tests.rooms.world import make_world

    receivers = [f"r{index}" for index in range(1, RECEIVER_USERS + 1)]
    world = make_world(TENANT, [SENDER, *receivers])
    rooms = {}
    for users in (1, RECEIVER_USERS):
        members = [SENDER, *receivers[:users]]
        room: str = world.create_room(SENDER, members)
        record = world.epoch_record(room, 0, SENDER, members)
        do_store_epoch_record(world.tenant, SENDER, record.to_json())
        rooms[users] = room
    return world, rooms


def _in_process_costs(world: Any) -> str:
    """What the relay's two database calls cost with no server around them (ms per call)."""
    from rooms.message_actions import do_store_envelope, do_store_epoch_record
    from rooms.message_selectors import room_members

    room = world.create_room(SENDER, [SENDER])  # outside the rooms the checks count
    record = world.epoch_record(room, 0, SENDER, [SENDER])
    do_store_epoch_record(world.tenant, SENDER, record.to_json())
    envelopes = [world.envelope(room, 0, SENDER, TEXT).to_json() for _ in range(IN_PROCESS_CALLS)]
    started = time.perf_counter()
    for envelope in envelopes:
        do_store_envelope(world.tenant, SENDER, envelope)
    store = (time.perf_counter() - started) / len(envelopes) * 1000
    started = time.perf_counter()
    for _ in range(IN_PROCESS_CALLS):
        room_members(world.tenant, SENDER, room)
    members = (time.perf_counter() - started) / IN_PROCESS_CALLS * 1000
    return (
        f"relay database calls in-process (no server, no sockets): store an envelope "
        f"{store:.2f} ms (at most {1000 / store:,.0f} msg/s for one sender), "
        f"a room's members (read, typing) {members:.2f} ms"
    )


def _start_bare_broadcast() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.relay_speed", "bare-broadcast"],
        cwd=REPOSITORY,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        raise BenchFailure("the bare broadcast server did not start")
    return process, int(line.split()[1])


async def _serve_bare_broadcast() -> None:
    """A trivial websockets server: /recv sockets get every frame /send sockets send."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    receivers: set[ServerConnection] = set()

    async def handler(socket: ServerConnection) -> None:
        if socket.request is not None and socket.request.path == "/recv":
            receivers.add(socket)
            await socket.send("ready")
            try:
                await socket.wait_closed()
            finally:
                receivers.discard(socket)
            return
        async for message in socket:
            broadcast(receivers, message)
            answer = {"type": "ack", "id": json.loads(message)["envelope"]["id"]}
            await socket.send(_compact(answer))

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"ready {port}", flush=True)
        await asyncio.Future()


async def _relay_socket(server: Any, session: str) -> ClientConnection:
    from tests.rooms.world import open_socket

    socket: ClientConnection = await open_socket(server, TENANT, session)
    return socket


async def _bare_socket(port: int, path: str) -> ClientConnection:
    socket = await connect(f"ws://127.0.0.1:{port}{path}", compression=None)
    if path == "/recv" and await socket.recv() != "ready":
        raise BenchFailure("the bare broadcast server did not register a receiver")
    return socket


# --- The bench ----------------------------------------------------------------------


@dataclass
class Results:
    ping_one: float = 0.0
    ping_pipelined: float = 0.0
    full: dict[int, Figures] = field(default_factory=dict)
    read: dict[int, Figures] = field(default_factory=dict)
    bare: dict[int, Figures] = field(default_factory=dict)
    latency: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    stored: int = 0


async def _bench(
    server: Any, layer: str, bare_pid: int, bare_port: int, world: Any, rooms: dict[int, str]
) -> Results:
    results = Results()
    pid = server.process.pid
    sender = await _relay_socket(server, world[SENDER].session)
    extensions = [type(extension).__name__ for extension in sender.protocol.extensions]
    frame_bytes = len(envelope_supply(world, rooms[1]).make(1)[0][1].encode())
    print(
        f"relay: Daphne + Channels {layer} + PostgreSQL, one worker; "
        f"{frame_bytes:,}-byte send frames, 1 sender ({WINDOW} in flight), "
        f"N receiver sockets; median of {RUNS} runs of {RUN_SECONDS:.0f} s "
        f"(baselines {BASELINE_SECONDS:g} s, bare {BARE_SECONDS:g} s); websocket extensions: "
        f"{', '.join(extensions) or 'none'}",
        flush=True,
    )
    relay = Harness(sender)
    pings = ping_supply()
    one, one_runs = await measure(
        relay, pings, seconds=BASELINE_SECONDS, server_pid=pid, expected=3000, window=1
    )
    pipelined, _runs = await measure(
        relay, pings, seconds=BASELINE_SECONDS, server_pid=pid, expected=10_000
    )
    rtt = _percentiles([ms for run in one_runs for ms in run.round_trips_ms()])
    results.ping_one, results.ping_pipelined = one.messages, pipelined.messages
    print(
        f"relay ping one at a time: {one.messages:,.0f} round trips/s "
        f"(p50 {rtt[0]:.2f} ms, p99 {rtt[1]:.2f} ms); {one.cpu}"
    )
    print(f"relay ping pipelined: {pipelined.messages:,.0f} pongs/s; {pipelined.cpu}", flush=True)

    bare = Harness(await _bare_socket(bare_port, "/send"))
    expected_full = 500.0
    for count in RECEIVER_COUNTS:
        users = min(count, RECEIVER_USERS)
        room = rooms[users]
        people = [world[f"r{index % users + 1}"].session for index in range(count)]
        await relay.attach([await _relay_socket(server, session) for session in people])
        envelopes = envelope_supply(world, room)
        full, full_runs = await measure(
            relay, envelopes, seconds=RUN_SECONDS, server_pid=pid, expected=expected_full,
            check_seq=True,
        )  # fmt: skip
        expected_full = full.messages
        results.full[count] = full
        results.stored += sum(len(run.sent) for run in full_runs) + WARMUP_MESSAGES
        ack_ms = _percentiles([ms for run in full_runs for ms in run.round_trips_ms()])
        print(
            f"relay full path N={count}: {full.messages:,.0f} msg/s acked "
            f"(ack p50 {ack_ms[0]:.0f} ms with {WINDOW} in flight), "
            f"{full.deliveries:,.0f} deliveries/s; "
            f"{full.cpu}",
            flush=True,
        )
        rate = full.messages / 2
        envelopes.top_up(int(rate * LATENCY_SECONDS) + WINDOW)
        paced = await relay.go(envelopes, LATENCY_SECONDS, rate=rate, check_seq=True)
        results.stored += len(paced.sent)
        p50, p99 = _percentiles(paced.latencies_ms())
        results.latency[count] = (rate, p50, p99)
        print(
            f"relay full path N={count} latency at {paced.messages_per_second():,.0f} msg/s "
            f"(half the peak), send to delivery: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"({paced.delivered:,} deliveries)",
            flush=True,
        )
        reads, _runs = await measure(
            relay, read_supply(room), seconds=BASELINE_SECONDS, server_pid=pid,
            expected=expected_full * 2, ack_from_first_receiver=True,
        )  # fmt: skip
        results.read[count] = reads
        print(
            f"relay read fan-out N={count}: {reads.messages:,.0f} reads/s, "
            f"{reads.deliveries:,.0f} deliveries/s; {reads.cpu}",
            flush=True,
        )
        await relay.detach()

        await bare.attach([await _bare_socket(bare_port, "/recv") for _ in range(count)])
        broadcast, _runs = await measure(
            bare, envelope_supply(world, room), seconds=BARE_SECONDS, server_pid=bare_pid,
            expected=expected_full * 10,
        )  # fmt: skip
        results.bare[count] = broadcast
        print(
            f"bare websockets broadcast N={count}: {broadcast.messages:,.0f} msg/s, "
            f"{broadcast.deliveries:,.0f} deliveries/s; {broadcast.cpu}",
            flush=True,
        )
        await bare.detach()
    await relay.close()
    await bare.close()
    return results


def _stored_messages(rooms: dict[int, str]) -> int:
    from rooms.models import Message

    return Message.objects.filter(room__room_id__in=rooms.values()).count()


def ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}" if baseline else "n/a"


def require_services(bench: str) -> None:
    """The live benches measure PostgreSQL and Redis, never the embedded default."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        raise SystemExit(
            f"the {bench} bench needs PostgreSQL and Redis: "
            "python -m tests.services -- python -m bench"
        )


def machine_load(seconds: float = 0.5) -> float:
    """How many cores the machine keeps busy now (over `seconds`), before a bench starts."""
    busy_before, all_before = _machine_seconds()
    time.sleep(seconds)
    busy_after, all_after = _machine_seconds()
    return (busy_after - busy_before) / (all_after - all_before) * (os.cpu_count() or 1)


def main() -> None:
    require_services("relay")
    idle_load = machine_load()
    started = time.perf_counter()
    world, rooms = _prepare()
    in_process = _in_process_costs(world)
    from django.conf import settings

    from tests.conftest import start_live_server

    server = start_live_server("bench-relay", **cast(dict[str, Any], SERVER_ENVIRONMENT))
    layer = str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).rsplit(".", 1)[-1]
    bare_process, bare_port = _start_bare_broadcast()
    print(
        f"relay: set up in {time.perf_counter() - started:.1f} s; before it, the machine was "
        f"busy {idle_load:.0%} (of {os.cpu_count()} cores)"
        + (": other work is running, expect lower figures" if idle_load > 0.2 else ""),
        flush=True,
    )
    print(in_process, flush=True)
    try:
        results = asyncio.run(_bench(server, layer, bare_process.pid, bare_port, world, rooms))
    finally:
        server.stop()
        bare_process.terminate()
        bare_process.wait(timeout=10)
    stored = _stored_messages(rooms)
    if stored != results.stored:
        raise BenchFailure(f"{stored:,} messages stored, {results.stored:,} acked")
    counts = "/".join(map(str, RECEIVER_COUNTS))
    print(
        f"relay checks: {stored:,} messages stored, each delivered exactly once and in order "
        f"to every receiver socket (N = {counts}), nothing lost"
    )
    for count in RECEIVER_COUNTS:
        full = results.full[count]
        if count == 1:
            print(
                f"relay full path N=1: {full.messages:,.0f} msg/s "
                f"({ratio(full.messages, results.ping_pipelined)} of pipelined ping, "
                f"{ratio(full.messages, results.ping_one)} of one-at-a-time ping)"
            )
        rate, p50, p99 = results.latency[count]
        print(
            f"relay full path N={count}: {full.deliveries:,.0f} deliveries/s "
            f"({ratio(full.deliveries, results.read[count].deliveries)} of read fan-out, "
            f"{ratio(full.deliveries, results.bare[count].deliveries)} of bare websockets "
            f"broadcast); p50/p99 {p50:.1f}/{p99:.1f} ms at {rate:,.0f} msg/s"
        )
    print(f"relay: {time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    if sys.argv[1:] == ["bare-broadcast"]:
        asyncio.run(_serve_bare_broadcast())
    else:
        main()
