"""Downloads through a real Daphne: `GET /api/files/<id>` (PROTOCOL.md §8.4)."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.file_stream import FILE_CHUNK_BYTES, FileStreamError, decrypt_file_stream
from tests.files.conftest import start_files_server
from tests.files.uploads import (
    EncryptedUpload,
    FilesServer,
    download,
    encrypted,
    error_body,
    open_upload_socket,
    send_chunks,
    start,
    upload_file,
)
from tests.rooms.world import World, make_world

pytestmark = pytest.mark.django_db(transaction=True)

MIB = FILE_CHUNK_BYTES

MEMBERS = ["alice", "bob"]


@pytest.fixture
def world(files_server: FilesServer) -> World:
    # carol is in another room of the tenant; dave is in none.
    return make_world("downloads", [*MEMBERS, "carol", "dave"])


@pytest.fixture
def room(world: World) -> str:
    world.create_room("carol", ["carol", "dave"])  # a room that is not the file's
    return world.create_room("alice", MEMBERS)


@pytest.fixture
def file() -> EncryptedUpload:
    return encrypted(2 * FILE_CHUNK_BYTES + 4321)


async def uploaded(
    files_server: FilesServer, world: World, room: str, file: EncryptedUpload
) -> str:
    async with open_upload_socket(files_server, "downloads", world["alice"].session) as socket:
        return await upload_file(socket, room, file)


async def test_a_member_downloads_the_stream_exactly_as_uploaded(
    files_server: FilesServer, world: World, room: str, file: EncryptedUpload
) -> None:
    file_id = await uploaded(files_server, world, room, file)
    answer = await download(files_server, "downloads", file_id, world["bob"].session)
    assert answer.status == 200
    assert answer.body == file.stream
    assert decrypt_file_stream(file.key, answer.body, file.plain_size) == file.plaintext
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-length"] == str(len(file.stream))
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["cache-control"] == "private, no-store"
    assert "x-accel-redirect" not in answer.headers


async def test_a_file_cut_short_on_disk_is_served_as_it_is_and_fails_to_decrypt(
    files_server: FilesServer, world: World, room: str, file: EncryptedUpload
) -> None:
    """The response ends where the bytes on disk end (not at the recorded
    size, which would leave the client waiting), and the client's reader
    says the stream is truncated."""
    file_id = await uploaded(files_server, world, room, file)
    stored = files_server.stored_path(world.tenant.pk, file_id)
    with stored.open("r+b") as handle:
        handle.truncate(len(file.stream) - 1000)
    answer = await download(files_server, "downloads", file_id, world["bob"].session)
    assert answer.status == 200
    assert answer.body == file.stream[:-1000]
    assert answer.headers["content-length"] == str(len(file.stream) - 1000)
    with pytest.raises(FileStreamError) as refused:
        decrypt_file_stream(file.key, answer.body, file.plain_size)
    assert refused.value.code == "file_truncated"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        # Across the boundary of chunks 0 and 1, and past the end (clipped).
        (
            f"bytes={FILE_CHUNK_BYTES}-{FILE_CHUNK_BYTES + 100}",
            FILE_CHUNK_BYTES,
            FILE_CHUNK_BYTES + 100,
        ),
        ("bytes=2097000-", 2_097_000, None),
        ("bytes=2097000-99999999999", 2_097_000, None),
        ("bytes=-50", -50, None),
        ("bytes=-99999999999", 0, None),
    ],
)
async def test_a_single_range_is_answered_206_with_those_bytes(
    files_server: FilesServer,
    world: World,
    room: str,
    file: EncryptedUpload,
    header: str,
    first: int,
    last: int | None,
) -> None:
    file_id = await uploaded(files_server, world, room, file)
    size = len(file.stream)
    start_at = first % size if first < 0 else first
    end_at = size - 1 if last is None else last
    answer = await download(files_server, "downloads", file_id, world["bob"].session, Range=header)
    assert answer.status == 206
    assert answer.body == file.stream[start_at : end_at + 1]
    assert answer.headers["content-range"] == f"bytes {start_at}-{end_at}/{size}"
    assert answer.headers["content-length"] == str(end_at - start_at + 1)
    assert answer.headers["cache-control"] == "private, no-store"


async def test_unsatisfiable_and_multiple_ranges(
    files_server: FilesServer, world: World, room: str, file: EncryptedUpload
) -> None:
    file_id = await uploaded(files_server, world, room, file)
    size = len(file.stream)
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        answer = await download(
            files_server, "downloads", file_id, world["bob"].session, Range=header
        )
        assert answer.status == 416, header
        assert answer.headers["content-range"] == f"bytes */{size}"
        assert answer.body == b""
    # Several ranges, another unit or nonsense: the whole stream.
    for header in ("bytes=0-9,20-29", "items=0-5", "bytes=9-2", "bytes=abc", "bytes=-"):
        answer = await download(
            files_server, "downloads", file_id, world["bob"].session, Range=header
        )
        assert answer.status == 200, header
        assert answer.body == file.stream


async def test_everyone_but_current_members_gets_the_same_404(
    files_server: FilesServer, world: World, room: str, file: EncryptedUpload
) -> None:
    file_id = await uploaded(files_server, world, room, file)
    async with open_upload_socket(files_server, "downloads", world["alice"].session) as socket:
        unfinished = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, unfinished, file, range(file.chunks))  # all but the finish
    other = make_world("otherco", ["olga"])
    answers = [
        # Members of the tenant not in the file's room (one in another room).
        await download(files_server, "downloads", file_id, world["dave"].session),
        await download(files_server, "downloads", file_id, world["carol"].session),
        # Someone of another tenant, on their own host.
        await download(files_server, "otherco", file_id, other["olga"].session),
        # The uploader: a file not finished, one that does not exist, not an id.
        await download(files_server, "downloads", unfinished, world["alice"].session),
        await download(files_server, "downloads", str(uuid.uuid4()), world["alice"].session),
        await download(files_server, "downloads", file_id.upper(), world["alice"].session),
        await download(files_server, "downloads", "not-a-file", world["alice"].session),
    ]
    for answer in answers:
        assert answer.status == 404
        assert answer.body == answers[0].body
    assert error_body(answers[0]) == {"error": "not_found", "message": "Not found."}
    signed_out = await download(files_server, "downloads", file_id, None)
    assert signed_out.status == 401
    assert file.stream[:64] not in signed_out.body


async def test_someone_removed_from_the_room_can_no_longer_download(
    files_server: FilesServer, world: World, room: str, file: EncryptedUpload
) -> None:
    file_id = await uploaded(files_server, world, room, file)
    assert (await download(files_server, "downloads", file_id, world["bob"].session)).status == 200
    world.append("room_remove", {"room": room, "user": "bob"}, "alice")
    assert (await download(files_server, "downloads", file_id, world["bob"].session)).status == 404
    assert (
        await download(files_server, "downloads", file_id, world["alice"].session)
    ).status == 200


@pytest.fixture
def accel_server(
    files_server: FilesServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FilesServer]:
    """The same database behind nginx: downloads are handed to its internal location."""
    started = start_files_server(
        "files-accel-server",
        files_server.data_dir,
        PIPO_FILES_X_ACCEL_REDIRECT="/_pipo_files/",
    )
    yield started
    started.server.stop()


async def test_behind_nginx_the_answer_is_an_x_accel_redirect(
    files_server: FilesServer,
    accel_server: FilesServer,
    world: World,
    room: str,
    file: EncryptedUpload,
) -> None:
    file_id = await uploaded(files_server, world, room, file)
    answer = await download(
        accel_server, "downloads", file_id, world["bob"].session, Range="bytes=0-9"
    )
    assert answer.status == 200
    assert answer.body == b""
    assert answer.headers["x-accel-redirect"] == f"/_pipo_files/{world.tenant.pk}/{file_id}"
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["cache-control"] == "private, no-store"
    # The location names the file where the store keeps it.
    stored = Path(files_server.data_dir, "files", str(world.tenant.pk), file_id)
    assert await asyncio.to_thread(stored.read_bytes) == file.stream
    # Access is still checked first.
    refused = await download(accel_server, "downloads", file_id, world["dave"].session)
    assert refused.status == 404
    assert "x-accel-redirect" not in refused.headers
