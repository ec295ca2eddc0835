"""Downloads: `GET /api/files/<id>` (docs/PROTOCOL.md §8.4).

Members of the file's room only (now); a file that does not exist, is not
complete, belongs to another tenant or whose room the user is not in all get
the same 404. The bytes are the stored stream, exactly as uploaded.

Daphne serves an asynchronous iterator without buffering it, so the body is
an async iterator of 1 MiB blocks, each read in a worker thread (Django
would collect a synchronous iterator, FileResponse's included, into one list
in memory before sending anything under ASGI). With
PIPO_FILES_X_ACCEL_REDIRECT set, the answer has no body and nginx sends the
file (and answers ranges) from its internal location.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Iterable
from typing import IO, Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from accounts.errors import AccountError
from accounts.models import Tenant
from config.api import TenantAPIView
from files import store
from files.errors import FileError
from files.selectors import access_file

BLOCK_BYTES = 1024 * 1024
_RANGE = re.compile(r"\s*(\d{0,19})\s*-\s*(\d{0,19})\s*")


class UnsatisfiableRangeError(Exception):
    pass


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range (first, last) a Range header asks for, or None for the
    whole file (no header, another unit, several ranges, or a malformed one:
    RFC 9110 §14.2 lets a server ignore those). Raises UnsatisfiableRangeError."""
    if header is None:
        return None
    unit, equals, ranges = header.partition("=")
    if not equals or unit.strip().lower() != "bytes" or "," in ranges:
        return None
    match = _RANGE.fullmatch(ranges)
    if match is None or not (match[1] or match[2]):
        return None
    if match[1]:
        first = int(match[1])
        last = int(match[2]) if match[2] else size - 1
        if match[2] and last < first:
            return None  # malformed
        if first >= size:
            raise UnsatisfiableRangeError
        return first, min(last, size - 1)
    suffix = int(match[2])
    if suffix == 0:
        raise UnsatisfiableRangeError
    return max(0, size - suffix), size - 1


class FileBlocks:
    """The bytes first..first+length-1 of an open file, as an async iterator of
    blocks read in a worker thread; `close()` (Django calls it) closes the file."""

    def __init__(self, handle: IO[bytes], first: int, length: int) -> None:
        self.handle = handle
        self.first = first
        self.left = length
        self.started = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self.left <= 0:
            raise StopAsyncIteration
        if not self.started:
            self.started = True
            await asyncio.to_thread(self.handle.seek, self.first)
        block = await asyncio.to_thread(self.handle.read, min(BLOCK_BYTES, self.left))
        if not block:
            raise StopAsyncIteration  # shorter than recorded: the body ends early
        self.left -= len(block)
        return block

    def close(self) -> None:
        self.handle.close()


class AnyContent(BaseContentNegotiation):
    """Whatever the client accepts: the body is bytes, errors are JSON."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


def _headers(response: HttpResponse | StreamingHttpResponse) -> None:
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"


class FileView(TenantAPIView):
    permission_classes = (IsAuthenticated,)
    content_negotiation_class = AnyContent

    def get(self, request: Request, file_id: str) -> Any:
        tenant: Tenant = request._request.tenant  # type: ignore[attr-defined]
        try:
            found = access_file(tenant, request.user.get_username(), file_id)
        except FileError:
            raise AccountError("not_found", "Not found.", status=404) from None
        accel = settings.PIPO_FILES_X_ACCEL_REDIRECT
        if accel:
            response = HttpResponse(b"", content_type="application/octet-stream")
            response["X-Accel-Redirect"] = accel + store.stored_name(tenant.pk, found.id)
            _headers(response)
            return response
        handle = store.open_stored(tenant.pk, found.id)
        # The length on disk, not the recorded one: a file cut short on the
        # server must end the response cleanly, so the client can say that it
        # is truncated rather than wait for bytes that will never come.
        size = store.size_of(handle)
        try:
            wanted = requested_range(request.headers.get("Range"), size)
        except UnsatisfiableRangeError:
            handle.close()
            refused = HttpResponse(b"", status=416, content_type="application/octet-stream")
            refused["Content-Range"] = f"bytes */{size}"
            _headers(refused)
            return refused
        first, last = wanted if wanted is not None else (0, size - 1)
        streamed = StreamingHttpResponse(
            FileBlocks(handle, first, last - first + 1),
            status=206 if wanted is not None else 200,
            content_type="application/octet-stream",
        )
        streamed["Content-Length"] = str(last - first + 1)
        if wanted is not None:
            streamed["Content-Range"] = f"bytes {first}-{last}/{size}"
        _headers(streamed)
        return streamed
