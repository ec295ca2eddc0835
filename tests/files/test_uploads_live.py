"""Encrypted uploads through a real Daphne, PostgreSQL and Redis (PROTOCOL.md §8.3)."""

import os
import uuid
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from files.models import EncryptedFile
from protocol.file_stream import FILE_CHUNK_BYTES, chunk_count, decrypt_file_stream, stream_size
from tests.files.uploads import (
    MAX_FILE_BYTES,
    MIB,
    QUOTA_BYTES,
    FilesServer,
    chunk_frame,
    encrypted,
    finish,
    open_upload_socket,
    ping_pong,
    row,
    send_chunk,
    send_chunks,
    start,
    upload_file,
)
from tests.rooms.world import World, frame, make_world, nothing_more, request, send

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = ["alice", "bob"]


@pytest.fixture
def world(files_server: FilesServer) -> World:
    return make_world("files", [*MEMBERS, "dave"])


@pytest.fixture
def room(world: World) -> str:
    return world.create_room("alice", MEMBERS)


async def drop(socket: ClientConnection) -> None:
    """Cut the connection without a closing handshake (a network drop)."""
    socket.transport.abort()
    await socket.wait_closed()


def stored_bytes(files_server: FilesServer, world: World, upload: str) -> bytes:
    return files_server.stored_path(world.tenant.pk, upload).read_bytes()


@pytest.mark.parametrize("plain_size", [0, 1, FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES + 12_345])
async def test_an_upload_is_stored_byte_for_byte_and_marked_complete(
    files_server: FilesServer, world: World, room: str, plain_size: int
) -> None:
    file = encrypted(plain_size)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        started = await start(socket, room, len(file.stream), id="start-1")
        upload = started["upload"]
        assert started == {
            "type": "upload_started",
            "id": "start-1",
            "upload": upload,
            "chunks": file.chunks,
            "chunk_size": FILE_CHUNK_BYTES,
        }
        assert str(uuid.UUID(upload)) == upload
        assert files_server.part_path(upload).exists()
        await send_chunks(socket, upload, file, range(file.chunks))
        done = await request(
            socket, {"type": "upload_finish", "upload": upload, "id": "fin"}, "upload_done"
        )
        assert done == {"type": "upload_done", "id": "fin", "upload": upload, "file": upload}
        # Finishing or resuming a finished upload answers upload_done again.
        assert await finish(socket, upload) == {
            "type": "upload_done",
            "upload": upload,
            "file": upload,
        }
        resumed = await request(socket, {"type": "upload_resume", "upload": upload}, "upload_done")
        assert resumed == {"type": "upload_done", "upload": upload, "file": upload}
    stored = stored_bytes(files_server, world, upload)
    assert stored == file.stream
    assert decrypt_file_stream(file.key, stored, plain_size) == file.plaintext
    assert not files_server.part_path(upload).exists()
    found = row(upload)
    assert found is not None
    assert (found.state, found.stream_size, found.chunk_count) == (
        "complete",
        len(file.stream),
        file.chunks,
    )
    assert (found.uploader, found.room.room_id, found.tenant_id) == ("alice", room, world.tenant.pk)
    assert found.completed_at is not None


async def test_chunks_sent_without_waiting_are_answered_in_order_before_the_next_frame(
    files_server: FilesServer, world: World, room: str
) -> None:
    """A client sends ahead (the web client keeps 4 chunks unacknowledged;
    this one sends everything): each chunk gets its ack in order, a frame
    sent after the chunks is answered after their acks, and a bad chunk in
    the stream is refused in its place."""
    file = encrypted(4 * FILE_CHUNK_BYTES + 3)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        upload = (await start(socket, room, len(file.stream)))["upload"]
        for index in range(3):
            await socket.send(chunk_frame(upload, index, file.chunk(index)))
        await socket.send(chunk_frame(upload, 4, file.chunk(4)))  # out of order
        for index in range(3, file.chunks):
            await socket.send(chunk_frame(upload, index, file.chunk(index)))
        await send(socket, {"type": "upload_finish", "upload": upload, "id": "f"})
        answers = [await frame(socket) for _ in range(file.chunks + 2)]
    acks = [{"type": "chunk_ack", "upload": upload, "chunk": index} for index in range(5)]
    assert answers[:3] == acks[:3]
    assert (answers[3]["code"], answers[3]["next_chunk"]) == ("out_of_order", 3)
    assert answers[4:-1] == acks[3:]
    assert answers[-1] == {"type": "upload_done", "id": "f", "upload": upload, "file": upload}
    assert stored_bytes(files_server, world, upload) == file.stream


async def test_one_socket_carries_several_uploads_interleaved(
    files_server: FilesServer, world: World, room: str
) -> None:
    first, second = encrypted(FILE_CHUNK_BYTES + 5), encrypted(FILE_CHUNK_BYTES + 7)
    async with open_upload_socket(files_server, "files", world["bob"].session) as socket:
        one = (await start(socket, room, len(first.stream)))["upload"]
        two = (await start(socket, room, len(second.stream)))["upload"]
        for index in range(2):
            await send_chunks(socket, one, first, range(index, index + 1))
            await send_chunks(socket, two, second, range(index, index + 1))
        await finish(socket, two)
        await finish(socket, one)
    assert stored_bytes(files_server, world, one) == first.stream
    assert stored_bytes(files_server, world, two) == second.stream


async def test_an_upload_resumes_on_a_new_socket_without_a_chunk_twice_or_missing(
    files_server: FilesServer, world: World, room: str
) -> None:
    """The socket is cut after two chunks; the .part file then also holds part
    of a chunk the server never recorded (written when the socket dropped).
    The new socket resumes at chunk 2, the stray bytes are cut away, and the
    stored file is exactly the stream."""
    file = encrypted(4 * FILE_CHUNK_BYTES + 999)
    first = await open_upload_socket(files_server, "files", world["alice"].session)
    upload = (await start(first, room, len(file.stream)))["upload"]
    await send_chunks(first, upload, file, range(2))
    await drop(first)
    part = files_server.part_path(upload)
    recorded = len(file.chunk(0)) + len(file.chunk(1))
    assert part.stat().st_size == recorded
    with part.open("ab") as handle:  # half of chunk 2, written but not recorded
        handle.write(file.chunk(2)[: FILE_CHUNK_BYTES // 2])
    async with open_upload_socket(files_server, "files", world["alice"].session) as second:
        resumed = await request(
            second, {"type": "upload_resume", "upload": upload, "id": "r"}, "upload_resumed"
        )
        assert resumed == {
            "type": "upload_resumed",
            "id": "r",
            "upload": upload,
            "next_chunk": 2,
            "chunks": file.chunks,
        }
        assert part.stat().st_size == recorded
        await send_chunks(second, upload, file, range(2, file.chunks))
        await finish(second, upload)
    stored = stored_bytes(files_server, world, upload)
    assert stored == file.stream
    assert decrypt_file_stream(file.key, stored, file.plain_size) == file.plaintext


async def test_a_socket_cut_right_after_a_chunk_resumes_where_the_server_got_to(
    files_server: FilesServer, world: World, room: str
) -> None:
    """Chunk 1 is sent and the socket dropped without waiting for its ack: the
    server recorded it or not, and the resume says which."""
    file = encrypted(3 * FILE_CHUNK_BYTES)
    first = await open_upload_socket(files_server, "files", world["alice"].session)
    upload = (await start(first, room, len(file.stream)))["upload"]
    await send_chunks(first, upload, file, range(1))
    await first.send(chunk_frame(upload, 1, file.chunk(1)))
    await drop(first)
    async with open_upload_socket(files_server, "files", world["alice"].session) as second:
        resumed = await request(
            second, {"type": "upload_resume", "upload": upload}, "upload_resumed"
        )
        assert resumed["next_chunk"] in {1, 2}
        await send_chunks(second, upload, file, range(resumed["next_chunk"], file.chunks))
        await finish(second, upload)
    stored = stored_bytes(files_server, world, upload)
    assert decrypt_file_stream(file.key, stored, file.plain_size) == file.plaintext
    assert stored == file.stream


async def test_an_upload_is_open_on_one_socket_at_a_time(
    files_server: FilesServer, world: World, room: str
) -> None:
    """Resuming elsewhere takes the upload over: the old socket's chunks,
    finish and cancel change nothing."""
    file = encrypted(3 * FILE_CHUNK_BYTES)
    async with (
        open_upload_socket(files_server, "files", world["alice"].session) as old,
        open_upload_socket(files_server, "files", world["alice"].session) as new,
    ):
        upload = (await start(old, room, len(file.stream)))["upload"]
        await send_chunks(old, upload, file, range(1))
        # Not open on the new socket until it resumes it.
        refused = await send_chunk(new, upload, 1, file.chunk(1))
        assert (refused["code"], refused["upload"]) == ("unknown_upload", upload)
        resumed = await request(new, {"type": "upload_resume", "upload": upload}, "upload_resumed")
        assert resumed["next_chunk"] == 1
        stale = await send_chunk(old, upload, 1, file.chunk(1))
        assert (stale["code"], stale["upload"]) == ("unknown_upload", upload)
        for body in (
            {"type": "upload_finish", "upload": upload},
            {"type": "upload_cancel", "upload": upload},
        ):
            assert (await request(old, body, "never"))["code"] == "unknown_upload"
        await send_chunks(new, upload, file, range(1, file.chunks))
        await finish(new, upload)
    assert stored_bytes(files_server, world, upload) == file.stream


# --- Refusals (the §8.3 error table) -----------------------------------------------------


async def assert_refused(
    socket: ClientConnection, body: dict[str, Any], code: str
) -> dict[str, Any]:
    """The frame is answered with one error of `code` (echoing its id) and the
    socket stays open."""
    await send(socket, {**body, "id": "req"})
    answer = await frame(socket)
    assert answer["type"] == "error", answer
    assert (answer["code"], answer["id"]) == (code, "req"), answer
    assert "Traceback" not in str(answer["message"])
    await ping_pong(socket)
    return answer


async def test_upload_start_refusals_store_nothing(
    files_server: FilesServer, world: World, room: str
) -> None:
    other_room = world.create_room("bob", ["bob", "dave"])
    too_large = stream_size(MAX_FILE_BYTES + 1)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        for room_id in (other_room, str(uuid.uuid4())):
            await assert_refused(
                socket, {"type": "upload_start", "room": room_id, "size": 100}, "not_in_room"
            )
        # Sizes no file has: under 41 bytes, or a last chunk under 17 bytes.
        for size in (-1, 0, 40, 24 + FILE_CHUNK_BYTES + 17 + 16, 2**53):
            await assert_refused(
                socket, {"type": "upload_start", "room": room, "size": size}, "invalid_size"
            )
        refused = await assert_refused(
            socket, {"type": "upload_start", "room": room, "size": too_large}, "file_too_large"
        )
        assert str(MAX_FILE_BYTES) in str(refused["message"])
        for body in (
            {"type": "upload_start", "room": room, "size": "100"},
            {"type": "upload_start", "room": room, "size": 100.5},
            {"type": "upload_start", "room": room, "size": True},
            {"type": "upload_start", "room": room},
            {"type": "upload_start", "size": 100},
            {"type": "upload_start", "room": room.upper(), "size": 100},
            {"type": "upload_start", "room": room, "size": 100, "name": "secret.pdf"},
            {"type": "upload_resume", "upload": "not-a-uuid"},
            {"type": "upload_finish", "upload": str(uuid.uuid4()).upper()},
            {"type": "upload_cancel"},
        ):
            await assert_refused(socket, body, "invalid_field")
        await assert_refused(socket, {"type": "upload_pause", "upload": room}, "unknown_type")
        await socket.send('{"type":"upload_start","room":"a","room":"b"}')
        assert (await frame(socket))["code"] == "invalid_json"
        await ping_pong(socket)
    assert EncryptedFile.objects.count() == 0
    assert not any((files_server.data_dir / "files" / str(world.tenant.pk)).glob("*"))


async def test_the_quota_counts_stored_and_unfinished_uploads_of_the_tenant(
    files_server: FilesServer, world: World, room: str
) -> None:
    small = encrypted(MIB)
    big = stream_size(MAX_FILE_BYTES)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        stored = await upload_file(socket, room, small)
        first = (await start(socket, room, big))["upload"]
        second = (await start(socket, room, big))["upload"]
        left = QUOTA_BYTES - len(small.stream) - 2 * big
        assert 0 < left < big
        refused = await assert_refused(
            socket, {"type": "upload_start", "room": room, "size": big}, "quota_exceeded"
        )
        assert str(left) in str(refused["message"])
        # Exactly what is left still fits; then nothing does.
        exact = stream_size(left - 24 - 17 * chunk_count(left))
        assert exact == left
        await start(socket, room, exact)
        await assert_refused(
            socket, {"type": "upload_start", "room": room, "size": 41}, "quota_exceeded"
        )
        # Cancelling an upload gives its bytes back.
        cancelled = await request(
            socket, {"type": "upload_cancel", "upload": first}, "upload_cancelled"
        )
        assert cancelled == {"type": "upload_cancelled", "upload": first}
        await start(socket, room, big)
    assert row(stored) is not None
    assert row(second) is not None
    # Another tenant has its own quota.
    other = make_world("elsewhere", ["erin"])
    other_room = other.create_room("erin", ["erin"])
    async with open_upload_socket(files_server, "elsewhere", other["erin"].session) as socket:
        await start(socket, other_room, big)


async def test_chunk_refusals_leave_the_upload_as_it_was(
    files_server: FilesServer, world: World, room: str
) -> None:
    file = encrypted(2 * FILE_CHUNK_BYTES + 100)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        upload = (await start(socket, room, len(file.stream)))["upload"]

        async def refused(data: bytes, code: str) -> dict[str, object]:
            await socket.send(data)
            answer = await frame(socket)
            assert answer["type"] == "error"
            assert answer["code"] == code, answer
            await ping_pong(socket)
            found = row(upload)
            assert found is not None
            assert found.state == "uploading"
            return answer

        for short in (b"", b"\x00" * 19):
            answer = await refused(short, "bad_chunk_frame")
            assert "upload" not in answer
        answer = await refused(chunk_frame(upload, 1, file.chunk(1)), "out_of_order")
        assert (answer["upload"], answer["next_chunk"]) == (upload, 0)
        for wrong in (file.chunk(0)[:-1], file.chunk(0) + b"\x00", b""):
            answer = await refused(chunk_frame(upload, 0, wrong), "bad_chunk_size")
            assert answer["upload"] == upload
        stranger = str(uuid.uuid4())
        answer = await refused(chunk_frame(stranger, 0, file.chunk(0)), "unknown_upload")
        assert answer["upload"] == stranger
        assert files_server.part_path(upload).stat().st_size == 0
        await send_chunks(socket, upload, file, range(1))
        # The same chunk again is out of order, and not written twice.
        answer = await refused(chunk_frame(upload, 0, file.chunk(0)), "out_of_order")
        assert answer["next_chunk"] == 1
        answer = await refused(chunk_frame(upload, 2**32 - 1, b"x"), "out_of_order")
        assert answer["next_chunk"] == 1
        await assert_refused(
            socket, {"type": "upload_finish", "upload": upload}, "incomplete_upload"
        )
        found = row(upload)
        assert found is not None
        assert (found.state, found.next_chunk) == ("uploading", 1)
        assert files_server.part_path(upload).stat().st_size == len(file.chunk(0))
        await send_chunks(socket, upload, file, range(1, file.chunks))
        # Every chunk is in: one more is out of order, pointing past the last.
        answer = await refused(chunk_frame(upload, file.chunks, b"x"), "out_of_order")
        assert answer["next_chunk"] == file.chunks
        await finish(socket, upload)
        # A finished upload takes no chunk.
        answer = await send_chunk(socket, upload, 0, file.chunk(0))
        assert (answer["code"], answer["upload"]) == ("unknown_upload", upload)
    assert stored_bytes(files_server, world, upload) == file.stream


async def test_uploads_of_others_are_unknown(
    files_server: FilesServer, world: World, room: str
) -> None:
    file = encrypted(FILE_CHUNK_BYTES + 1)
    async with (
        open_upload_socket(files_server, "files", world["alice"].session) as alice,
        open_upload_socket(files_server, "files", world["bob"].session) as bob,
    ):
        upload = (await start(alice, room, len(file.stream)))["upload"]
        await send_chunks(alice, upload, file, range(1))
        for kind in ("upload_resume", "upload_finish", "upload_cancel"):
            await assert_refused(bob, {"type": kind, "upload": upload}, "unknown_upload")
            await assert_refused(bob, {"type": kind, "upload": str(uuid.uuid4())}, "unknown_upload")
        answer = await send_chunk(bob, upload, 1, file.chunk(1))
        assert answer["code"] == "unknown_upload"
        await send_chunks(alice, upload, file, range(1, 2))
        await finish(alice, upload)
        # Not even a finished one is bob's to learn about.
        await assert_refused(bob, {"type": "upload_resume", "upload": upload}, "unknown_upload")
        # Nor is a finished upload cancelled (it is a file now).
        await assert_refused(alice, {"type": "upload_cancel", "upload": upload}, "unknown_upload")
    assert stored_bytes(files_server, world, upload) == file.stream


async def test_an_expired_upload_is_refused(
    files_server: FilesServer, world: World, room: str
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    file = encrypted(FILE_CHUNK_BYTES + 1)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        upload = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, upload, file, range(1))
        EncryptedFile.objects.filter(id=upload).update(
            created_at=timezone.now() - timedelta(days=2)
        )
        answer = await send_chunk(socket, upload, 1, file.chunk(1))
        assert answer["code"] == "unknown_upload"
        await assert_refused(socket, {"type": "upload_resume", "upload": upload}, "unknown_upload")
        # Nor does it count against the quota any more.
        await start(socket, room, stream_size(MAX_FILE_BYTES))
        await start(socket, room, stream_size(MAX_FILE_BYTES))
        await start(socket, room, stream_size(MAX_FILE_BYTES))


async def test_the_disk_running_full_deletes_the_upload(
    files_server: FilesServer, world: World, room: str
) -> None:
    """A real ENOSPC: the .part file is replaced by a link to /dev/full."""
    file = encrypted(FILE_CHUNK_BYTES + 1)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        upload = (await start(socket, room, len(file.stream)))["upload"]
        part = files_server.part_path(upload)
        part.unlink()
        os.symlink("/dev/full", part)
        answer = await send_chunk(socket, upload, 0, file.chunk(0))
        assert answer["type"] == "error"
        assert (answer["code"], answer["upload"]) == ("disk_full", upload)
        assert not part.is_symlink()
        assert not part.exists()
        assert row(upload) is None
        await ping_pong(socket)
        await assert_refused(socket, {"type": "upload_resume", "upload": upload}, "unknown_upload")
        assert not files_server.stored_path(world.tenant.pk, upload).exists()
        # The socket goes on: another upload works.
        again = await upload_file(socket, room, file)
    assert stored_bytes(files_server, world, again) == file.stream


async def test_a_cancelled_upload_is_gone_with_its_part_file(
    files_server: FilesServer, world: World, room: str
) -> None:
    file = encrypted(2 * FILE_CHUNK_BYTES)
    async with open_upload_socket(files_server, "files", world["alice"].session) as socket:
        upload = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, upload, file, range(1))
        answer = await request(
            socket, {"type": "upload_cancel", "upload": upload, "id": "c"}, "upload_cancelled"
        )
        assert answer == {"type": "upload_cancelled", "id": "c", "upload": upload}
        assert row(upload) is None
        assert not files_server.part_path(upload).exists()
        assert (await send_chunk(socket, upload, 1, file.chunk(1)))["code"] == "unknown_upload"
        await assert_refused(socket, {"type": "upload_resume", "upload": upload}, "unknown_upload")
        await assert_refused(socket, {"type": "upload_cancel", "upload": upload}, "unknown_upload")


async def test_someone_removed_from_the_room_cannot_resume_or_finish(
    files_server: FilesServer, world: World, room: str
) -> None:
    file = encrypted(FILE_CHUNK_BYTES)
    async with open_upload_socket(files_server, "files", world["bob"].session) as socket:
        upload = (await start(socket, room, len(file.stream)))["upload"]
        await send_chunks(socket, upload, file, range(file.chunks))
        world.append("room_remove", {"room": room, "user": "bob"}, "alice")
        await assert_refused(socket, {"type": "upload_finish", "upload": upload}, "not_in_room")
        await assert_refused(socket, {"type": "upload_resume", "upload": upload}, "not_in_room")
    found = row(upload)
    assert found is not None
    assert found.state == "uploading"


async def test_only_signed_in_members_get_an_upload_socket(
    files_server: FilesServer, world: World
) -> None:
    async with open_upload_socket(files_server, "files", None) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_the_chat_socket_still_refuses_chunks(
    files_server: FilesServer, world: World, room: str
) -> None:
    from tests.rooms.world import open_socket

    async with open_socket(files_server.server, "files", world["alice"].session) as chat:
        await chat.send(chunk_frame(str(uuid.uuid4()), 0, b"x" * 64))
        answers = await nothing_more(chat, 1.0)
        assert [answer["code"] for answer in answers] == ["binary_not_expected"]
