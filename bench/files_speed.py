"""Encrypted files through their full path, beside baselines measured in the same run.

Starts a live Daphne (`python -m config.serve`, as the test suite does) on the
PostgreSQL and Redis that `python -m tests.services` provides, with DATA_DIR
a fresh directory under test-artifacts/ (removed afterwards) and the bare
pipe routed (`PIPO_BENCH_PIPE`), makes a tenant with one person and a room,
encrypts a 256 MiB file beforehand the way the browser does
(`protocol.file_stream`: secretstream, 1 MiB chunks; the client's work, not
timed), then measures, each a median of ROUNDS rounds interleaved:

- upload: `/ws/files/` (docs/PROTOCOL.md §8.3): `upload_start`, every chunk
  as a binary frame (`16-byte upload id ‖ uint32 BE index ‖ chunk`) with at
  most 4 unacknowledged, `upload_finish` until `upload_done`; the server
  appends to a `.part` file, records each chunk in PostgreSQL, fsyncs and
  renames at the end;
- download: `GET /api/files/<id>` with the session cookie, read in 1 MiB
  blocks and hashed (SHA-256) on the fly; the hash must equal the uploaded
  stream's;
- baselines: the bare websocket pipe `/ws/bench/pipe/` (bench/pipe.py) on
  the same server, driven with the very same frames and window (it acks each
  frame with a small text frame and drops the bytes), and a plain write of
  256 MiB in 1 MiB blocks with an fsync at the end into the same DATA_DIR.

It prints MB/s (1 MB = 10^6 stream bytes) and CPU use for each, the upload
split into its chunks (until the last `chunk_ack`) and its finish, the Daphne
process's RSS (VmRSS, and the peak VmHWM) before and after a 16 MiB and the
256 MiB uploads and downloads, and ends with `files upload/pipe: <ratio>` and
`files download/pipe: <ratio>`. The pipe is quick and noisy, so each round
drives it PIPE_RUNS times. The disk figure matters as much as the pipe: on a
virtual disk that absorbs bursts and then slows down, the upload follows the
disk (the server starts each chunk's write-back as it writes it).

Alone: `.venv/bin/python -m tests.services -- .venv/bin/python -c
'from bench import files_speed; files_speed.main()'`.
"""

import asyncio
import hashlib
import http.client
import json
import os
import secrets
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from websockets.asyncio.client import ClientConnection, connect

from bench.relay_speed import CpuMeter, machine_load, ratio, require_services

MIB = 1024 * 1024
CHUNK_BYTES = MIB  # docs/PROTOCOL.md §8.1
BIG_MIB = 256
SMALL_MIB = 16
WINDOW = 4  # unacknowledged chunks, as the web client (§8.3)
ROUNDS = 3
PIPE_RUNS = 3  # per round
DISK_BLOCK = MIB
READ_BLOCK = MIB
TIMEOUT_S = 120.0
TENANT = "filesbench"
OWNER = "owner"
LIFTED = str(10**12)
SERVER_ENVIRONMENT = {
    "PIPO_BENCH_PIPE": "true",
    "PIPO_MAX_FILE_BYTES": LIFTED,
    "PIPO_TENANT_QUOTA_BYTES": LIFTED,
    "PIPO_RELAY_FRAMES_PER_SECOND": LIFTED,
    "PIPO_RELAY_FRAME_BURST": LIFTED,
    "PIPO_RELAY_CONNECTIONS_PER_MINUTE": LIFTED,
    "PIPO_RELAY_CONNECTION_BURST": LIFTED,
    "LOG_LEVEL": "WARNING",
}

T = TypeVar("T")


class BenchFailure(SystemExit):
    def __init__(self, message: str) -> None:
        super().__init__(f"files bench FAILED: {message}")


# --- What the client has before it starts --------------------------------------------------


@dataclass
class Stream:
    """A file encrypted as the browser does: its stream cut at chunk boundaries (§8.1)."""

    plaintext_bytes: int
    pieces: list[bytes] = field(repr=False)  # chunk i's stream bytes (chunk 0 with the header)
    sha256: str = ""

    @property
    def size(self) -> int:
        return sum(len(piece) for piece in self.pieces)


def encrypt(size: int) -> Stream:
    """`size` random bytes encrypted with a fresh key, cut as the upload sends them."""
    from protocol.file_stream import encrypt_file_chunks, new_file_key

    plaintext = [os.urandom(min(CHUNK_BYTES, size - at)) for at in range(0, size, CHUNK_BYTES)]
    encrypted = list(encrypt_file_chunks(new_file_key(), plaintext or [b""]))
    chunks = max(1, len(plaintext))
    if len(encrypted) == chunks + 1:  # the header on its own: it travels with chunk 0
        encrypted = [encrypted[0] + encrypted[1], *encrypted[2:]]
    if len(encrypted) != chunks:
        raise BenchFailure(f"encrypt_file_chunks gave {len(encrypted)} pieces for {chunks} chunks")
    stream = Stream(size, encrypted)
    expected = 24 + size + 17 * chunks
    if stream.size != expected or len(encrypted[0]) != 24 + len(plaintext[0]) + 17:
        raise BenchFailure(f"a {size}-byte file made a {stream.size}-byte stream, not {expected}")
    digest = hashlib.sha256()
    for piece in encrypted:
        digest.update(piece)
    stream.sha256 = digest.hexdigest()
    return stream


# --- Sockets ---------------------------------------------------------------------------------


async def _socket(port: int, path: str, session: str) -> ClientConnection:
    host = f"{TENANT}.localhost:{port}"
    try:
        return await connect(
            f"ws://{host}{path}",
            origin=f"http://{host}",  # type: ignore[arg-type]
            host="127.0.0.1",
            port=port,
            additional_headers={"Cookie": f"sessionid={session}"},
            compression=None,
            max_size=None,
        )
    except Exception as error:
        raise BenchFailure(f"could not open {path}: {error!r}") from None


async def _answer(socket: ClientConnection, wanted: str) -> dict[str, Any]:
    raw = await asyncio.wait_for(socket.recv(), TIMEOUT_S)
    frame: dict[str, Any] = json.loads(raw)
    if frame.get("type") != wanted:
        raise BenchFailure(f"expected {wanted}, got {str(frame)[:300]}")
    return frame


async def push(socket: ClientConnection, upload: uuid.UUID, pieces: Sequence[bytes]) -> None:
    """Send every piece as a chunk frame, at most WINDOW unacknowledged; wait for every ack."""
    window = asyncio.Semaphore(WINDOW)
    prefix = upload.bytes
    name = str(upload)

    async def send() -> None:
        for index, piece in enumerate(pieces):
            await window.acquire()
            await socket.send(b"".join((prefix, index.to_bytes(4, "big"), piece)))

    async def acks() -> None:
        for index in range(len(pieces)):
            frame = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT_S))
            if frame.get("type") != "chunk_ack" or frame.get("upload") != name:
                raise BenchFailure(f"chunk {index}: expected its chunk_ack, got {str(frame)[:300]}")
            if frame.get("chunk") != index:
                raise BenchFailure(f"chunk {index}: acked as chunk {frame.get('chunk')}")
            window.release()

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(send())
        tasks.create_task(acks())


@dataclass
class Upload:
    seconds: float  # upload_start sent .. upload_done received
    finish_seconds: float  # upload_finish sent .. upload_done received (fsync, rename, commit)
    file: str


async def upload(port: int, session: str, room: str, stream: Stream) -> Upload:
    """One file through /ws/files/, from upload_start to upload_done (§8.3)."""
    socket = await _socket(port, "/ws/files/", session)
    try:
        started_at = time.perf_counter()
        start = {"type": "upload_start", "id": "start", "room": room, "size": stream.size}
        await socket.send(json.dumps(start))
        started = await _answer(socket, "upload_started")
        if started.get("chunks") != len(stream.pieces):
            raise BenchFailure(f"{started.get('chunks')} chunks, not {len(stream.pieces)}")
        upload_id = uuid.UUID(started["upload"])
        await push(socket, upload_id, stream.pieces)
        finish_at = time.perf_counter()
        await socket.send(
            json.dumps({"type": "upload_finish", "id": "end", "upload": str(upload_id)})
        )
        done = await _answer(socket, "upload_done")
        ended_at = time.perf_counter()
    finally:
        await socket.close()
    return Upload(ended_at - started_at, ended_at - finish_at, str(done["file"]))


async def pipe(port: int, session: str, stream: Stream) -> float:
    """The same frames through the bare pipe: seconds from the first frame to the last ack."""
    socket = await _socket(port, "/ws/bench/pipe/", session)
    try:
        started_at = time.perf_counter()
        await push(socket, uuid.uuid4(), stream.pieces)
        return time.perf_counter() - started_at
    finally:
        await socket.close()


@dataclass
class Download:
    seconds: float
    size: int
    sha256: str


def download(port: int, session: str, file: str) -> Download:
    """GET /api/files/<id>, read in 1 MiB blocks and hashed as they arrive."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    digest = hashlib.sha256()
    size = 0
    buffer = bytearray(READ_BLOCK)
    view = memoryview(buffer)
    try:
        started_at = time.perf_counter()
        connection.request(
            "GET",
            f"/api/files/{file}",
            headers={"Host": f"{TENANT}.localhost:{port}", "Cookie": f"sessionid={session}"},
        )
        response = connection.getresponse()
        if response.status != 200:
            raise BenchFailure(
                f"GET /api/files/{file}: {response.status} {response.read()[:300]!r}"
            )
        while read := response.readinto(buffer):
            digest.update(view[:read])
            size += read
        seconds = time.perf_counter() - started_at
    finally:
        connection.close()
    return Download(seconds, size, digest.hexdigest())


# --- The disk ----------------------------------------------------------------------------


def disk_write(directory: Path, size: int) -> float:
    """Seconds to write `size` bytes in 1 MiB blocks and fsync, into `directory`."""
    block = os.urandom(DISK_BLOCK)
    path = directory / f"disk-write-{secrets.token_hex(4)}"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        started_at = time.perf_counter()
        for _ in range(size // DISK_BLOCK):
            if os.write(descriptor, block) != DISK_BLOCK:
                raise BenchFailure("a short write")
        os.fsync(descriptor)
        seconds = time.perf_counter() - started_at
    finally:
        os.close(descriptor)
        path.unlink()
    return seconds


def _filesystem(directory: Path) -> str:
    """The device and type of the filesystem holding `directory` (from /proc/mounts)."""
    best = ("", "?", "?")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, kind = line.split()[:3]
        if str(directory).startswith(mount) and len(mount) >= len(best[0]):
            best = (mount, device, kind)
    return f"{best[1]} {best[2]}"


# --- The server process ------------------------------------------------------------------


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of process `pid`, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0])
    return found


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


# --- The bench ---------------------------------------------------------------------------


def _prepare() -> tuple[Any, str]:
    """Migrate the throwaway database; a tenant with one person and a room."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.rooms.world import make_world

    world = make_world(TENANT, [OWNER])
    room: str = world.create_room(OWNER, [OWNER])
    return world, room


def _mb_per_second(size: int, seconds: float) -> float:
    return size / seconds / 1e6


@dataclass
class Results:
    disk: list[float] = field(default_factory=list)
    pipe: list[float] = field(default_factory=list)
    upload: list[float] = field(default_factory=list)
    chunks: list[float] = field(default_factory=list)  # the upload until its last chunk_ack
    finish: list[float] = field(default_factory=list)  # upload_finish .. upload_done, seconds
    download: list[float] = field(default_factory=list)
    cpu: dict[str, list[str]] = field(default_factory=dict)
    memory: list[str] = field(default_factory=list)


async def _measured(results: Results, what: str, pid: int, action: Awaitable[T]) -> T:
    """Await `action` (not started before), noting the CPU it took."""
    meter = CpuMeter(pid)
    outcome = await action
    results.cpu.setdefault(what, []).append(meter.read())
    return outcome


def _rss(label: str, before: dict[str, int], after: dict[str, int]) -> str:
    return (
        f"{label} {_mib(before['VmRSS'])} before, {_mib(after['VmRSS'])} after "
        f"(peak so far {_mib(after['VmHWM'])})"
    )


async def _bench(server: Any, data_dir: Path, session: str, room: str) -> Results:
    pid: int = server.process.pid
    port: int = server.port
    results = Results()
    print("files: encrypting the test files (client side, not timed) ...", flush=True)
    small, big = encrypt(SMALL_MIB * MIB), encrypt(BIG_MIB * MIB)

    await pipe(port, session, small)  # warm up the socket path and the pipe
    before = memory(pid)
    first = await upload(port, session, room, small)
    after = memory(pid)
    got = await asyncio.to_thread(download, port, session, first.file)
    if (got.size, got.sha256) != (small.size, small.sha256):
        raise BenchFailure(f"the {SMALL_MIB} MiB file came back different")
    results.memory.append(_rss(f"files server RSS, {SMALL_MIB} MiB upload:", before, after))

    for round_ in range(1, ROUNDS + 1):
        results.disk.append(_mb_per_second(BIG_MIB * MIB, disk_write(data_dir, BIG_MIB * MIB)))
        for _ in range(PIPE_RUNS):
            seconds = await _measured(results, "pipe", pid, pipe(port, session, big))
            results.pipe.append(_mb_per_second(big.size, seconds))
        before = memory(pid)
        done = await _measured(results, "upload", pid, upload(port, session, room, big))
        after = memory(pid)
        results.upload.append(_mb_per_second(big.size, done.seconds))
        results.chunks.append(_mb_per_second(big.size, done.seconds - done.finish_seconds))
        results.finish.append(done.finish_seconds)
        got = await _measured(
            results, "download", pid, asyncio.to_thread(download, port, session, done.file)
        )
        downloaded = memory(pid)
        if (got.size, got.sha256) != (big.size, big.sha256):
            raise BenchFailure(f"the {BIG_MIB} MiB file came back different")
        results.download.append(_mb_per_second(got.size, got.seconds))
        results.memory.append(
            _rss(f"files server RSS, {BIG_MIB} MiB upload #{round_}:", before, after)
            + "; "
            + _rss("its download:", after, downloaded)
        )
        print(
            f"files round {round_}: disk write {results.disk[-1]:,.0f}, "
            f"pipe {statistics.median(results.pipe[-PIPE_RUNS:]):,.0f}, "
            f"upload {results.upload[-1]:,.0f} "
            f"(chunks {results.chunks[-1]:,.0f}, "
            f"then finish {done.finish_seconds * 1000:,.0f} ms), "
            f"download {results.download[-1]:,.0f} MB/s",
            flush=True,
        )
    return results


def main() -> None:
    require_services("files")
    idle_load = machine_load()
    started = time.perf_counter()
    world, room = _prepare()
    from django.conf import settings

    from tests.conftest import ARTIFACTS, start_live_server

    ARTIFACTS.mkdir(exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-files-", dir=ARTIFACTS))
    # The server's sessions must be this process's: the same SECRET_KEY, whatever DATA_DIR.
    overrides = {**SERVER_ENVIRONMENT, "DATA_DIR": str(data_dir), "SECRET_KEY": settings.SECRET_KEY}
    try:
        server = start_live_server("bench-files", **cast(dict[str, Any], overrides))
        print(
            f"files: Daphne + Channels + PostgreSQL, one worker; DATA_DIR {data_dir} "
            f"({_filesystem(data_dir)}); a {BIG_MIB} MiB file in 1 MiB chunks, "
            f"{WINDOW} unacknowledged; median of {ROUNDS} rounds; 1 MB = 10^6 stream bytes; "
            f"set up in {time.perf_counter() - started:.1f} s; before it, the machine was "
            f"busy {idle_load:.0%} (of {os.cpu_count()} cores)"
            + (": other work is running, expect lower figures" if idle_load > 0.2 else ""),
            flush=True,
        )
        try:
            results = asyncio.run(_bench(server, data_dir, world[OWNER].session, room))
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    disk, piped = statistics.median(results.disk), statistics.median(results.pipe)
    up, down = statistics.median(results.upload), statistics.median(results.download)
    size = f"{BIG_MIB} MiB"
    print(f"files disk write ({size} in 1 MiB blocks, fsync at the end): {disk:,.0f} MB/s")
    print(
        f"files pipe (/ws/bench/pipe/: the same frames and window, acked and dropped; "
        f"median of {len(results.pipe)}): {piped:,.0f} MB/s; {results.cpu['pipe'][-1]}"
    )
    print(
        f"files upload {size} (/ws/files/: upload_start .. upload_done; to disk, PostgreSQL): "
        f"{up:,.0f} MB/s; {results.cpu['upload'][-1]}"
    )
    print(
        f"files upload {size} until the last chunk_ack (chunks written, not yet synced): "
        f"{statistics.median(results.chunks):,.0f} MB/s; upload_finish .. upload_done "
        f"(fsync, rename, commit): {statistics.median(results.finish) * 1000:,.0f} ms"
    )
    print(
        f"files download {size} (GET /api/files/<id>, SHA-256 on the fly): "
        f"{down:,.0f} MB/s; {results.cpu['download'][-1]}"
    )
    for line in results.memory:
        print(line)
    print(f"files upload/disk write: {ratio(up, disk)}")
    print(f"files: {time.perf_counter() - started:.0f} s in all")
    print(f"files upload/pipe: {ratio(up, piped)}")
    print(f"files download/pipe: {ratio(down, piped)}")


if __name__ == "__main__":
    main()
