"""Where the bytes of uploads and files live, and every disk operation on them.

No database here (files.actions decides when each step happens):

- an upload in progress is `PIPO_UPLOADS_DIR/<id>.part`, created empty when
  the upload starts; each chunk is written at its own offset in the stream
  (docs/PROTOCOL.md §8.1), so writing the same chunk twice writes the same
  bytes to the same place, never a second copy;
- a finished file is `<tenant id>/<id>` in the `pipo_files` storage
  (settings.STORAGES). With the local FileSystemStorage the .part file is
  fsynced and renamed there (os.replace, then an fsync of the directory): a
  file is either wholly in the store or not at all. With any other storage
  (S3 through django-storages, say) the .part file is streamed into it with
  `storage.save` and then removed; that path holds one block in memory at a
  time too.

Nothing reads a whole file into memory: chunks are written as they come,
downloads read blocks.
"""

import errno
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages

from protocol.file_stream import (
    FILE_CHUNK_BYTES,
    FILE_CHUNK_OVERHEAD_BYTES,
    FILE_STREAM_HEADER_BYTES,
)

# docs/PROTOCOL.md §8.1: a 24-byte secretstream header, then chunks of
# `plaintext + 17` bytes.
HEADER_BYTES = FILE_STREAM_HEADER_BYTES
FULL_CHUNK_BYTES = FILE_CHUNK_BYTES + FILE_CHUNK_OVERHEAD_BYTES
# Errors that mean "no room left": the upload is given up, not retried.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: OSError) -> bool:
    return error.errno in DISK_FULL_ERRNOS


def chunk_offset(index: int) -> int:
    """Where chunk `index` starts in the stream (chunk 0 includes the header)."""
    return 0 if index == 0 else HEADER_BYTES + index * FULL_CHUNK_BYTES


def chunks_within(length: int, *, stream_size: int, chunk_count: int) -> int:
    """How many whole chunks the first `length` bytes of a stream hold."""
    if length >= stream_size:
        return chunk_count
    if length < chunk_offset(1):
        return 0
    return min(chunk_count - 1, (length - HEADER_BYTES) // FULL_CHUNK_BYTES)


# --- Uploads in progress ---------------------------------------------------------------


def uploads_dir() -> Path:
    return Path(settings.PIPO_UPLOADS_DIR)


def part_path(upload_id: uuid.UUID) -> Path:
    return uploads_dir() / f"{upload_id}.part"


def create_part(upload_id: uuid.UUID) -> None:
    directory = uploads_dir()
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(part_path(upload_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    os.close(descriptor)


def write_chunks(upload_id: uuid.UUID, pieces: Sequence[tuple[int, bytes | memoryview]]) -> None:
    """Write each (offset, bytes) piece into the upload's .part file.

    Opened without O_CREAT: an upload collected or cancelled meanwhile raises
    FileNotFoundError instead of leaving a stray file behind. Each piece's
    write-back to the disk is started at once (POSIX_FADV_DONTNEED starts it
    and lets the kernel drop the pages once written), so the fsync at the
    finish has little left to do and uploads do not crowd the page cache.
    """
    descriptor = os.open(part_path(upload_id), os.O_WRONLY)
    try:
        for offset, data in pieces:
            view = memoryview(data)
            written = 0
            while written < len(view):
                written += os.pwrite(descriptor, view[written:], offset + written)
            os.posix_fadvise(descriptor, offset, len(view), os.POSIX_FADV_DONTNEED)
    finally:
        os.close(descriptor)


def cut_part(upload_id: uuid.UUID, length: int) -> int | None:
    """Cut the .part file back to `length` bytes; its length now (None: no file).

    A chunk written but not recorded (the socket dropped in between) is cut
    away; a file shorter than recorded (a crash lost unsynced writes) is left
    as it is, and the caller records what it really holds.
    """
    path = part_path(upload_id)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size > length:
        os.truncate(path, length)
        return length
    return size


def part_size(upload_id: uuid.UUID) -> int | None:
    try:
        return part_path(upload_id).stat().st_size
    except FileNotFoundError:
        return None


def remove_part(upload_id: uuid.UUID) -> bool:
    try:
        part_path(upload_id).unlink()
    except FileNotFoundError:
        return False
    return True


def part_files() -> dict[uuid.UUID, Path]:
    """Every `<uuid>.part` file in the uploads directory, by upload id."""
    found: dict[uuid.UUID, Path] = {}
    try:
        entries = list(os.scandir(uploads_dir()))
    except FileNotFoundError:
        return found
    for entry in entries:
        stem, dot, suffix = entry.name.partition(".")
        if not dot or suffix != "part":
            continue
        try:
            upload_id = uuid.UUID(stem)
        except ValueError:
            continue
        if str(upload_id) == stem:
            found[upload_id] = Path(entry.path)
    return found


# --- Stored files ------------------------------------------------------------------


def file_storage() -> Storage:
    return storages["pipo_files"]


def stored_name(tenant_id: int, file_id: uuid.UUID) -> str:
    return f"{tenant_id}/{file_id}"


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_file(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def commit_part(tenant_id: int, upload_id: uuid.UUID) -> None:
    """Make the finished .part file the stored file `<tenant id>/<id>`, durably.

    Raises FileNotFoundError if there is no .part file, OSError if the disk
    fails (ENOSPC/EDQUOT included: see is_disk_full).
    """
    source = part_path(upload_id)
    name = stored_name(tenant_id, upload_id)
    storage = file_storage()
    if isinstance(storage, FileSystemStorage):
        target = Path(storage.path(name))
        _fsync_file(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            # The store is on another file system: copy, sync, rename there.
            staging = target.with_name(f"{target.name}.incoming")
            try:
                shutil.copyfile(source, staging)
                _fsync_file(staging)
                os.replace(staging, target)
            except BaseException:
                staging.unlink(missing_ok=True)
                raise
            source.unlink()
        _fsync_directory(target.parent)
        return
    # Any other storage: stream the file into it (File.chunks reads in blocks).
    with source.open("rb") as handle:
        if storage.exists(name):
            storage.delete(name)  # a half-finished earlier attempt
        saved = storage.save(name, File(handle))
    if saved != name:
        storage.delete(saved)
        raise OSError(errno.EEXIST, "the storage renamed a stored file")
    source.unlink()


def stored_size(tenant_id: int, file_id: uuid.UUID) -> int | None:
    storage = file_storage()
    name = stored_name(tenant_id, file_id)
    try:
        return int(storage.size(name))
    except (FileNotFoundError, OSError):
        return None


def delete_stored(tenant_id: int, file_id: uuid.UUID) -> bool:
    storage = file_storage()
    name = stored_name(tenant_id, file_id)
    if not storage.exists(name):
        return False
    storage.delete(name)
    return True


def open_stored(tenant_id: int, file_id: uuid.UUID) -> IO[bytes]:
    """The stored file, open for reading (the caller closes it)."""
    handle: IO[bytes] = file_storage().open(stored_name(tenant_id, file_id), "rb")
    return handle


def size_of(handle: IO[bytes]) -> int:
    """The bytes an open stored file really has (Django's File.size: fstat, or
    the storage's own answer), whatever the database recorded."""
    size: int = getattr(handle, "size", None) or handle.seek(0, os.SEEK_END)
    handle.seek(0)
    return size
