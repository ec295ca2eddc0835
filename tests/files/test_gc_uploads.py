"""Collecting unfinished uploads: `manage.py gc_uploads` and the server's own runs."""

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from files.models import EncryptedFile
from protocol.file_stream import FILE_CHUNK_BYTES
from tests.conftest import REPOSITORY
from tests.files.conftest import start_files_server
from tests.files.uploads import (
    FilesServer,
    download,
    encrypted,
    finish,
    open_upload_socket,
    row,
    send_chunks,
    start,
    upload_file,
)
from tests.rooms.world import World, make_world, request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(files_server: FilesServer) -> World:
    return make_world("janitor", ["alice", "bob"])


@pytest.fixture
def room(world: World) -> str:
    return world.create_room("alice", ["alice", "bob"])


def age(upload: str, days: int = 2) -> None:
    """Pretend the upload started `days` ago (the default limit is one day)."""
    EncryptedFile.objects.filter(id=upload).update(created_at=timezone.now() - timedelta(days=days))


def gc_uploads(files_server: FilesServer) -> str:
    finished = subprocess.run(
        [sys.executable, "manage.py", "gc_uploads"],
        cwd=REPOSITORY,
        env=files_server.server.environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return finished.stdout


async def test_gc_uploads_removes_old_unfinished_uploads_and_nothing_else(
    files_server: FilesServer, world: World, room: str
) -> None:
    file = encrypted(2 * FILE_CHUNK_BYTES)
    async with open_upload_socket(files_server, "janitor", world["alice"].session) as socket:
        old = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, old, file, range(1))
        recent = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, recent, file, range(1))
        finished = await upload_file(socket, room, file)
    age(old)
    age(finished)  # an old finished file is a file: never collected
    stray = files_server.part_path(str(uuid.uuid4()))
    stray.write_bytes(b"left behind by a crash")
    output = await asyncio.to_thread(gc_uploads, files_server)
    assert f"removed upload {old} " in output
    assert f"removed stray {stray}" in output
    assert recent not in output
    assert finished not in output
    assert row(old) is None
    assert not files_server.part_path(old).exists()
    assert not stray.exists()
    kept = row(recent)
    assert kept is not None
    assert (kept.state, kept.next_chunk) == ("uploading", 1)
    assert files_server.part_path(recent).stat().st_size == len(file.chunk(0))
    assert files_server.stored_path(world.tenant.pk, finished).read_bytes() == file.stream
    answer = await download(files_server, "janitor", finished, world["bob"].session)
    assert (answer.status, answer.body) == (200, file.stream)
    # The recent upload carries on and finishes.
    async with open_upload_socket(files_server, "janitor", world["alice"].session) as socket:
        resumed = await request(
            socket, {"type": "upload_resume", "upload": recent}, "upload_resumed"
        )
        assert resumed["next_chunk"] == 1
        await send_chunks(socket, recent, file, range(1, file.chunks))
        await finish(socket, recent)
    # Run again: nothing left to remove.
    again = await asyncio.to_thread(gc_uploads, files_server)
    assert "removed upload" not in again


@pytest.fixture
def collecting_server(
    files_server: FilesServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FilesServer]:
    """A server process that collects every second by itself."""
    started = start_files_server(
        "files-collecting-server",
        tmp_path_factory.mktemp("collecting-data"),
        PIPO_UPLOAD_GC_INTERVAL_S="1",
    )
    yield started
    started.server.stop()


async def test_the_server_collects_expired_uploads_by_itself(
    collecting_server: FilesServer, world: World, room: str
) -> None:
    file = encrypted(FILE_CHUNK_BYTES + 1)
    async with open_upload_socket(collecting_server, "janitor", world["alice"].session) as socket:
        old = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, old, file, range(1))
        recent = (await start(socket, room, len(file.stream)))["upload"]
        age(old)
        for _ in range(300):
            if row(old) is None:
                break
            await asyncio.sleep(0.1)
        assert row(old) is None
        assert not collecting_server.part_path(old).exists()
        assert row(recent) is not None
        assert collecting_server.part_path(recent).exists()
