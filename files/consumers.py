"""The upload websocket at /ws/files/ (docs/PROTOCOL.md §8.3).

Thin by design: frames are parsed by files.frames, the work is done by
files.actions in a worker thread, and each frame is answered. Frames of one
socket take effect and are answered strictly in the order they came: text
frames one after the other (Channels awaits each handler before it takes
the next message), chunks through one ordered queue (below).

Admission is the relay's (relay.consumers.admit_socket: tenant, session,
chain member, per-address connection budget; the same close codes). Text
frames other than `ping` take a token of the relay's per-user frame budget;
chunk frames do not (the client's window of unacknowledged chunks bounds
them). A bad frame gets an error frame and the socket stays open.

Speed: chunks are pipelined. The consumer checks a chunk against what it
knows of the upload (open here, the next index, the right length), hands it
to this socket's ChunkWriter and reads the next frame at once; the writer
drains its queue in one worker thread, chunk after chunk, each written into
the .part file and recorded with one UPDATE, and the acks go out in order as
each is recorded (chunks that queued up meanwhile are written and recorded
together, one UPDATE for the lot). So the event loop reads and checks
frames while the thread writes, and nothing waits for a round trip between
them. Text frames first wait until every chunk before them is answered.
Failures are answered per chunk; after one, the writer skips the upload's
chunks still queued (answered `unknown_upload`) and the consumer forgets the
upload until it is resumed. At most CHUNKS_QUEUED_MAX chunks wait per
socket; then the consumer stops reading until one is written.

The worker threads are this module's own small pool rather than
`database_sync_to_async`, whose connection check before and after every
call would add a database round trip per chunk; a database error closes the
thread's broken connection instead (the next call opens a new one). An
upload socket needs no channel layer (nothing is pushed to it), so it does
not ask Redis for a channel either.
"""

import asyncio
import contextlib
import functools
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from channels.exceptions import StopConsumer
from channels.utils import await_many_dispatch
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from accounts.models import Tenant
from files.actions import (
    FinishedUpload,
    OpenedUpload,
    check_start_upload,
    do_cancel_upload,
    do_finish_upload,
    do_resume_upload,
    do_write_chunks,
)
from files.collector import start_collector
from files.errors import (
    BAD_CHUNK_FRAME,
    BAD_CHUNK_SIZE,
    DISK_FULL,
    OUT_OF_ORDER,
    UNKNOWN_UPLOAD,
    FileError,
    unknown_upload,
)
from files.frames import (
    ChunkFrameError,
    FrameError,
    Ping,
    UploadCancel,
    UploadFinish,
    UploadFrame,
    UploadResume,
    UploadStart,
    parse_chunk_frame,
    parse_upload_frame,
)
from protocol.file_stream import FILE_CHUNK_BYTES, chunk_stream_length
from relay.consumers import (
    Refusal,
    admit_socket,
    encode_frame,
    error_frame,
    frame_bucket,
    refuse_socket,
    too_many_frames,
)
from relay.direct_dispatch import DirectDispatchConsumer
from relay.frames import FrameErrorCode

logger = logging.getLogger(__name__)

_Result = TypeVar("_Result")

# Chunk writes and the other upload steps of every upload socket of this
# process. Each thread keeps its own database connection.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pipo-files")


def _run(function: Callable[..., _Result], *args: Any, **kwargs: Any) -> _Result:
    try:
        return function(*args, **kwargs)
    except DatabaseError:
        close_old_connections()  # drops this thread's connection if it broke
        raise


async def in_thread(function: Callable[..., _Result], *args: Any, **kwargs: Any) -> _Result:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(_run, function, *args, **kwargs))


@dataclass
class OpenUpload:
    """An upload open on this socket: what its next chunk must be."""

    plain_size: int
    chunk_count: int
    next_chunk: int

    @classmethod
    def of(cls, opened: OpenedUpload) -> "OpenUpload":
        return cls(opened.plain_size, opened.chunk_count, opened.next_chunk)


CHUNKS_QUEUED_MAX = 8


@dataclass(frozen=True)
class QueuedChunk:
    upload: uuid.UUID
    index: int
    data: memoryview


# What became of a chunk: None (recorded), a FileError, or another exception.
ChunkOutcome = FileError | Exception | None


class ChunkWriter:
    """One socket's chunks, written and recorded in order by one worker thread
    at a time, while the socket goes on reading (see the module docstring).

    `submit` and `settle` run on the event loop; `_drain` in a worker thread.
    `pending` and `busy` are shared and guarded by `lock`; `failed` belongs
    to the draining thread (and is cleared by `settle` when none drains).
    """

    def __init__(
        self,
        tenant: Tenant,
        holder: uuid.UUID,
        answer: Callable[[QueuedChunk, ChunkOutcome], Any],
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.tenant = tenant
        self.holder = holder
        self.lock = threading.Lock()
        self.pending: deque[QueuedChunk] = deque()
        self.busy = False
        self.failed: set[uuid.UUID] = set()
        # Loop side: outcomes waiting to be answered, and how many chunks
        # were submitted but not answered yet.
        self.outcomes: asyncio.Queue[tuple[QueuedChunk, ChunkOutcome]] = asyncio.Queue()
        self.unanswered = 0
        self.changed = asyncio.Event()
        self.answerer = asyncio.ensure_future(self._answer_all(answer))

    async def submit(self, chunk: QueuedChunk) -> None:
        while self.unanswered >= CHUNKS_QUEUED_MAX:
            await self._wait_for_change()
        self.unanswered += 1
        with self.lock:
            self.pending.append(chunk)
            start = not self.busy
            self.busy = True
        if start:
            self.loop.run_in_executor(_executor, self._drain)

    async def settle(self) -> None:
        """Wait until every chunk submitted so far is answered."""
        while self.unanswered:
            await self._wait_for_change()
        self.failed.clear()  # nothing drains now; reopened uploads start clean

    def close(self) -> None:
        self.answerer.cancel()

    async def _wait_for_change(self) -> None:
        self.changed.clear()
        await self.changed.wait()

    def _drain(self) -> None:
        while True:
            with self.lock:
                if not self.pending:
                    self.busy = False
                    return
                batch = list(self.pending)
                self.pending.clear()
            # Consecutive chunks of one upload are written and recorded
            # together (one UPDATE): when chunks queue up because the disk or
            # the database is slower than the socket, each batch grows and
            # the database work per chunk shrinks.
            while batch:
                run = [batch[0]]
                while len(run) < len(batch) and batch[len(run)].upload == run[0].upload:
                    run.append(batch[len(run)])
                del batch[: len(run)]
                outcome = self._write(run)
                if outcome is not None:
                    self.failed.add(run[0].upload)
                for chunk in run:
                    self.loop.call_soon_threadsafe(self.outcomes.put_nowait, (chunk, outcome))

    def _write(self, run: list[QueuedChunk]) -> ChunkOutcome:
        if run[0].upload in self.failed:
            return unknown_upload()
        try:
            _run(
                do_write_chunks,
                self.tenant,
                upload_id=run[0].upload,
                holder=self.holder,
                first=run[0].index,
                chunks=[chunk.data for chunk in run],
            )
        except Exception as error:  # answered on the loop (FileError) or logged there
            return error
        return None

    async def _answer_all(self, answer: Callable[[QueuedChunk, ChunkOutcome], Any]) -> None:
        while True:
            chunk, outcome = await self.outcomes.get()
            try:
                await answer(chunk, outcome)
            except Exception:
                logger.warning("files: answering a chunk failed (socket closed?)")
            finally:
                self.unanswered -= 1
                self.changed.set()


_INTERNAL_ERROR = FrameError(
    FrameErrorCode.INTERNAL_ERROR, "the server could not handle this frame"
).to_frame()


def _with_id(frame: dict[str, Any], ref: str | None) -> dict[str, Any]:
    return {**frame, "id": ref} if ref is not None else frame


class UploadConsumer(DirectDispatchConsumer):
    tenant: Tenant | None = None
    username: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """AsyncConsumer.__call__ without a channel layer (see the module docstring)."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = None
        self.channel_name = None
        # This socket's id: the `holder` of the uploads opened on it.
        self.holder = uuid.uuid4()
        self.uploads: dict[uuid.UUID, OpenUpload] = {}
        self.writer: ChunkWriter | None = None
        with contextlib.suppress(StopConsumer):
            await await_many_dispatch([receive], self.dispatch)

    async def connect(self) -> None:
        admitted = await admit_socket(self.scope)
        if isinstance(admitted, Refusal):
            await refuse_socket(self, admitted)
            return
        self.tenant, self.username = admitted
        self.writer = ChunkWriter(self.tenant, self.holder, self.answer_chunk)
        await self.accept()
        start_collector()

    async def disconnect(self, code: int) -> None:
        # Chunks still queued are written and recorded all the same (the
        # client resumes from what was recorded); nobody hears the answers.
        if self.writer is not None:
            self.writer.close()

    # --- Frames -------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if bytes_data is not None:
                await self.on_chunk(bytes_data)
            else:
                await self.on_text(text_data or "")
        except Exception:
            # Never a stack trace to the client, never a frame in the log.
            logger.exception("files: unexpected error while handling a frame")
            await self.send_frame(_INTERNAL_ERROR)

    async def on_text(self, text: str) -> None:
        assert self.tenant is not None
        assert self.writer is not None
        await self.writer.settle()  # every chunk before this frame is answered first
        try:
            frame = parse_upload_frame(text, max_bytes=settings.PIPO_MAX_TEXT_FRAME_BYTES)
        except FrameError as error:
            await self.send_frame(error.to_frame())
            return
        if isinstance(frame, Ping):
            await self.send_frame(_with_id({"type": "pong"}, frame.id))
            return
        retry_after = frame_bucket().take((self.tenant.pk, self.username))
        if retry_after:
            await self.send_frame(too_many_frames(retry_after, frame.id))
            return
        try:
            await self.handle(frame)
        except FileError as error:
            await self.send_frame(error_frame(error.code, error.message, frame.id, **error.extra))
        except Exception:
            logger.exception("files: unexpected error handling a %s frame", type(frame).__name__)
            await self.send_frame(_with_id(_INTERNAL_ERROR, frame.id))

    async def handle(self, frame: UploadFrame) -> None:
        match frame:
            case UploadStart():
                await self.on_start(frame)
            case UploadResume():
                await self.on_resume(frame)
            case UploadFinish():
                await self.on_finish(frame)
            case UploadCancel():
                await self.on_cancel(frame)

    async def on_start(self, frame: UploadStart) -> None:
        opened = await in_thread(
            check_start_upload,
            self.tenant,
            self.username,
            room_id=frame.room,
            stream_size=frame.size,
            holder=self.holder,
        )
        self.uploads[opened.id] = OpenUpload.of(opened)
        started = {
            "type": "upload_started",
            "upload": str(opened.id),
            "chunks": opened.chunk_count,
            "chunk_size": FILE_CHUNK_BYTES,
        }
        await self.send_frame(_with_id(started, frame.id))

    async def on_resume(self, frame: UploadResume) -> None:
        try:
            result = await in_thread(
                do_resume_upload,
                self.tenant,
                self.username,
                upload_id=frame.upload,
                holder=self.holder,
            )
        except FileError:
            self.uploads.pop(frame.upload, None)
            raise
        if isinstance(result, FinishedUpload):
            self.uploads.pop(frame.upload, None)
            await self.send_done(result, frame.id)
            return
        self.uploads[result.id] = OpenUpload.of(result)
        resumed = {
            "type": "upload_resumed",
            "upload": str(result.id),
            "next_chunk": result.next_chunk,
            "chunks": result.chunk_count,
        }
        await self.send_frame(_with_id(resumed, frame.id))

    async def on_finish(self, frame: UploadFinish) -> None:
        try:
            result = await in_thread(
                do_finish_upload,
                self.tenant,
                self.username,
                upload_id=frame.upload,
                holder=self.holder,
            )
        except FileError as error:
            if error.code in {UNKNOWN_UPLOAD, DISK_FULL}:
                self.uploads.pop(frame.upload, None)
            raise
        self.uploads.pop(frame.upload, None)
        await self.send_done(result, frame.id)

    async def on_cancel(self, frame: UploadCancel) -> None:
        self.uploads.pop(frame.upload, None)
        await in_thread(
            do_cancel_upload,
            self.tenant,
            self.username,
            upload_id=frame.upload,
            holder=self.holder,
        )
        await self.send_frame(
            _with_id({"type": "upload_cancelled", "upload": str(frame.upload)}, frame.id)
        )

    async def on_chunk(self, data: bytes) -> None:
        assert self.writer is not None
        try:
            chunk = parse_chunk_frame(data)
        except ChunkFrameError as error:
            await self.refuse_chunk(error_frame(BAD_CHUNK_FRAME, str(error)))
            return
        name = str(chunk.upload)
        upload = self.uploads.get(chunk.upload)
        if upload is None:
            refused = unknown_upload()
            await self.refuse_chunk(error_frame(refused.code, refused.message, upload=name))
            return
        if chunk.index != upload.next_chunk or upload.next_chunk >= upload.chunk_count:
            wanted = (
                f"the next chunk is {upload.next_chunk}"
                if upload.next_chunk < upload.chunk_count
                else "every chunk arrived; send upload_finish"
            )
            await self.refuse_chunk(
                error_frame(
                    OUT_OF_ORDER,
                    f"chunk {chunk.index} is out of order: {wanted}",
                    upload=name,
                    next_chunk=upload.next_chunk,
                )
            )
            return
        expected = chunk_stream_length(upload.plain_size, chunk.index)
        if len(chunk.data) != expected:
            await self.refuse_chunk(
                error_frame(
                    BAD_CHUNK_SIZE,
                    f"chunk {chunk.index} must be {expected} bytes, not {len(chunk.data)}",
                    upload=name,
                )
            )
            return
        upload.next_chunk += 1
        await self.writer.submit(QueuedChunk(chunk.upload, chunk.index, chunk.data))

    async def refuse_chunk(self, frame: dict[str, Any]) -> None:
        """Answer a chunk refused on sight, after the chunks before it (in order)."""
        assert self.writer is not None
        await self.writer.settle()
        await self.send_frame(frame)

    async def answer_chunk(self, chunk: QueuedChunk, outcome: ChunkOutcome) -> None:
        name = str(chunk.upload)
        if outcome is None:
            await self.send(
                text_data=f'{{"type":"chunk_ack","upload":"{name}","chunk":{chunk.index}}}'
            )
            return
        # The upload is gone, taken over, or in an unknown state: forgotten
        # here until it is resumed (resuming re-reads it from the database).
        self.uploads.pop(chunk.upload, None)
        if isinstance(outcome, FileError):
            await self.send_frame(error_frame(outcome.code, outcome.message, upload=name))
            return
        logger.error(
            "files: unexpected error while writing a chunk",
            exc_info=(type(outcome), outcome, outcome.__traceback__),
        )
        await self.send_frame({**_INTERNAL_ERROR, "upload": name})

    # --- Output -----------------------------------------------------------------------

    async def send_done(self, result: FinishedUpload, ref: str | None) -> None:
        done = {"type": "upload_done", "upload": str(result.id), "file": str(result.id)}
        await self.send_frame(_with_id(done, ref))

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=encode_frame(frame))
