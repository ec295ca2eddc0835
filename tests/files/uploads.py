"""Uploading and downloading the way clients do, against a live server.

Streams are made with protocol.file_stream (as the browser makes them);
sockets dial `/ws/files/` with a person's session; downloads are plain HTTP
GETs with the session cookie.
"""

import asyncio
import http.client
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from files.models import EncryptedFile
from protocol.file_stream import (
    chunk_count,
    chunk_stream_length,
    encrypt_file_stream,
    new_file_key,
    stream_size,
)
from tests.conftest import LiveServer
from tests.rooms.world import frame, request, send

MIB = 1024 * 1024
# The files server's limits (tests/files/conftest.py).
MAX_FILE_BYTES = 5 * MIB
QUOTA_BYTES = 16 * MIB


@dataclass
class FilesServer:
    server: LiveServer
    data_dir: Path

    @property
    def port(self) -> int:
        return self.server.port

    def part_path(self, upload: str) -> Path:
        return self.data_dir / "uploads" / f"{upload}.part"

    def stored_path(self, tenant_id: int, upload: str) -> Path:
        return self.data_dir / "files" / str(tenant_id) / upload


@dataclass
class EncryptedUpload:
    """A file as its uploader's browser holds it: the key, the plaintext, the stream."""

    key: bytes
    plaintext: bytes
    stream: bytes

    @property
    def plain_size(self) -> int:
        return len(self.plaintext)

    @property
    def chunks(self) -> int:
        return chunk_count(self.plain_size)

    def chunk(self, index: int) -> bytes:
        start = sum(chunk_stream_length(self.plain_size, i) for i in range(index))
        return self.stream[start : start + chunk_stream_length(self.plain_size, index)]


def encrypted(plain_size: int) -> EncryptedUpload:
    key = new_file_key()
    plaintext = os.urandom(plain_size)
    stream = encrypt_file_stream(key, plaintext)
    assert len(stream) == stream_size(plain_size)
    return EncryptedUpload(key, plaintext, stream)


def open_upload_socket(server: FilesServer | LiveServer, slug: str, session: str | None) -> Any:
    host = f"{slug}.localhost:{server.port}"
    headers = {"Cookie": f"sessionid={session}"} if session else {}
    return connect(
        f"ws://{host}/ws/files/",
        origin=f"http://{host}",  # type: ignore[arg-type]
        host="127.0.0.1",
        port=server.port,
        additional_headers=headers,
        max_size=None,
    )


def chunk_frame(upload: str, index: int, data: bytes) -> bytes:
    return uuid.UUID(upload).bytes + index.to_bytes(4, "big") + data


async def start(socket: ClientConnection, room: str, size: int, **extra: Any) -> dict[str, Any]:
    body = {"type": "upload_start", "room": room, "size": size, **extra}
    return await request(socket, body, "upload_started")


async def send_chunk(
    socket: ClientConnection, upload: str, index: int, data: bytes
) -> dict[str, Any]:
    """Send one chunk frame; its answer (chunk_ack or an error frame)."""
    await socket.send(chunk_frame(upload, index, data))
    return await frame(socket)


async def send_chunks(
    socket: ClientConnection, upload: str, file: EncryptedUpload, indices: range
) -> None:
    for index in indices:
        answer = await send_chunk(socket, upload, index, file.chunk(index))
        assert answer == {"type": "chunk_ack", "upload": upload, "chunk": index}


async def finish(socket: ClientConnection, upload: str) -> dict[str, Any]:
    return await request(socket, {"type": "upload_finish", "upload": upload}, "upload_done")


async def upload_file(socket: ClientConnection, room: str, file: EncryptedUpload) -> str:
    """The whole upload, every answer checked; the file id."""
    started = await start(socket, room, len(file.stream))
    upload: str = started["upload"]
    await send_chunks(socket, upload, file, range(file.chunks))
    done = await finish(socket, upload)
    assert done == {"type": "upload_done", "upload": upload, "file": upload}
    return upload


async def ping_pong(socket: ClientConnection) -> None:
    """The socket is still open and answering."""
    await send(socket, {"type": "ping", "id": "still-there"})
    assert await frame(socket) == {"type": "pong", "id": "still-there"}


def row(upload: str) -> EncryptedFile | None:
    return EncryptedFile.objects.filter(id=upload).first()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _get(port: int, slug: str, path: str, session: str | None, headers: dict[str, str]) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        sent = {"Host": f"{slug}.localhost:{port}", **headers}
        if session:
            sent["Cookie"] = f"sessionid={session}"
        connection.request("GET", path, headers=sent)
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        connection.close()


async def download(
    server: FilesServer | LiveServer,
    slug: str,
    file_id: str,
    session: str | None,
    **headers: str,
) -> Answer:
    return await asyncio.to_thread(
        _get, server.port, slug, f"/api/files/{file_id}", session, headers
    )


def error_body(answer: Answer) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(answer.body)
    return parsed
