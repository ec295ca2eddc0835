"""Encrypted files: the stream the server stores (PROTOCOL.md §8.1).

A file is cut into plaintext chunks of ``chunk_bytes`` (1 MiB on the wire; the
test vectors use smaller chunks so that streams of many chunks stay small) and
encrypted with libsodium's secretstream (XChaCha20-Poly1305) under a random
per-file key: ``header (24 bytes) || c_0 || ... || c_{n-1}``, each chunk 17
bytes longer than its plaintext, the last one tagged FINAL.

Reading needs the plaintext ``size`` from the ``file`` content: it fixes where
each chunk ends, so that a stream cut short, cut at a chunk boundary, longer
than announced or made for another size each get their own code. The rules
are PROTOCOL.md §8.1's "Which code, exactly"; :class:`FileDecryptor`
applies them to a stream arriving in pieces of any size, and gives the same
result however the stream is split. ``frontend/src/protocol/fileStream.ts``
mirrors this module and both pass ``tests/vectors/files/streams.json``.
"""

from collections.abc import Iterable, Iterator

import nacl.bindings
import nacl.exceptions

from protocol.encoding import MAX_SAFE_INTEGER
from protocol.errors import FileStreamError, KeyFormatError

__all__ = [
    "FILE_CHUNK_BYTES",
    "FILE_CHUNK_OVERHEAD_BYTES",
    "FILE_KEY_BYTES",
    "FILE_STREAM_HEADER_BYTES",
    "MIN_STREAM_BYTES",
    "FileDecryptor",
    "FileStreamError",
    "chunk_count",
    "chunk_stream_length",
    "decrypt_file_stream",
    "encrypt_file_chunks",
    "encrypt_file_stream",
    "new_file_key",
    "plain_size_of_stream",
    "stream_size",
]

FILE_CHUNK_BYTES = 1_048_576
FILE_STREAM_HEADER_BYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES
FILE_CHUNK_OVERHEAD_BYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_ABYTES
FILE_KEY_BYTES = nacl.bindings.crypto_secretstream_xchacha20poly1305_KEYBYTES
MIN_STREAM_BYTES = FILE_STREAM_HEADER_BYTES + FILE_CHUNK_OVERHEAD_BYTES  # an empty file: 41
_TAG_MESSAGE = nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = nacl.bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL
assert (FILE_STREAM_HEADER_BYTES, FILE_CHUNK_OVERHEAD_BYTES, FILE_KEY_BYTES) == (24, 17, 32)


# --- Sizes ------------------------------------------------------------------------------


def _check_chunk_bytes(chunk_bytes: int) -> None:
    if type(chunk_bytes) is not int or not 1 <= chunk_bytes <= MAX_SAFE_INTEGER:
        raise ValueError("chunk_bytes must be a positive integer")


def _check_plain_size(plain_size: int) -> None:
    if type(plain_size) is not int or not 0 <= plain_size <= MAX_SAFE_INTEGER:
        raise ValueError("a file size is a non-negative safe integer")


def chunk_count(plain_size: int, chunk_bytes: int = FILE_CHUNK_BYTES) -> int:
    """How many chunks a file of ``plain_size`` bytes has: ``max(1, ceil(size / chunk))``
    (an empty file is one empty chunk)."""
    _check_plain_size(plain_size)
    _check_chunk_bytes(chunk_bytes)
    return max(1, -(-plain_size // chunk_bytes))


def stream_size(plain_size: int, chunk_bytes: int = FILE_CHUNK_BYTES) -> int:
    """The stream's length: ``24 + size + 17 * chunks``. Raises ValueError beyond 2^53-1
    (the TypeScript mirror could not count it exactly)."""
    total = (
        FILE_STREAM_HEADER_BYTES
        + plain_size
        + FILE_CHUNK_OVERHEAD_BYTES * chunk_count(plain_size, chunk_bytes)
    )
    if total > MAX_SAFE_INTEGER:
        raise ValueError("the stream of a file this large is over 2^53-1 bytes")
    return total


def plain_size_of_stream(stream_size: int, chunk_bytes: int = FILE_CHUNK_BYTES) -> int | None:
    """The plaintext size whose stream is ``stream_size`` bytes, or None if there is none
    (under 41 bytes, or a last chunk that would be under 17 bytes or empty)."""
    _check_chunk_bytes(chunk_bytes)
    if type(stream_size) is not int or not MIN_STREAM_BYTES <= stream_size <= MAX_SAFE_INTEGER:
        return None
    frame = chunk_bytes + FILE_CHUNK_OVERHEAD_BYTES
    full, rest = divmod(stream_size - FILE_STREAM_HEADER_BYTES, frame)
    candidate = full * chunk_bytes + max(0, rest - FILE_CHUNK_OVERHEAD_BYTES)
    # Stream sizes are strictly increasing in the plaintext size, so at most this one fits.
    if candidate > MAX_SAFE_INTEGER or _stream_size_or_none(candidate, chunk_bytes) != stream_size:
        return None
    return candidate


def _stream_size_or_none(plain_size: int, chunk_bytes: int) -> int | None:
    try:
        return stream_size(plain_size, chunk_bytes)
    except ValueError:
        return None


def chunk_stream_length(plain_size: int, index: int, chunk_bytes: int = FILE_CHUNK_BYTES) -> int:
    """The stream bytes of chunk ``index`` (chunk 0 includes the 24-byte header): what the
    upload sends as that chunk. Raises ValueError for an index outside the file."""
    count = chunk_count(plain_size, chunk_bytes)
    if type(index) is not int or not 0 <= index < count:
        raise ValueError(f"chunk index {index!r} outside 0..{count - 1}")
    length = _frame_length(plain_size, index, chunk_bytes)
    return length + FILE_STREAM_HEADER_BYTES if index == 0 else length


def _frame_length(plain_size: int, index: int, chunk_bytes: int) -> int:
    """Ciphertext bytes of chunk ``index`` (header not included)."""
    return min(chunk_bytes, plain_size - index * chunk_bytes) + FILE_CHUNK_OVERHEAD_BYTES


# --- Writing ----------------------------------------------------------------------------


def new_file_key() -> bytes:
    """A fresh random file key (32 bytes); one per file, never reused."""
    return nacl.bindings.crypto_secretstream_xchacha20poly1305_keygen()


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != FILE_KEY_BYTES:
        raise KeyFormatError(f"a file key is {FILE_KEY_BYTES} bytes")


def encrypt_file_chunks(
    key: bytes, plaintext_chunks: Iterable[bytes], chunk_bytes: int = FILE_CHUNK_BYTES
) -> Iterator[bytes]:
    """Encrypt a file given as its plaintext chunks; yield each chunk's stream bytes.

    The first piece is prefixed by the 24-byte header (as the upload sends chunk 0)
    and the last is tagged FINAL, so the chunks are read one ahead. Every chunk but
    the last must be ``chunk_bytes`` long and the last 1 to ``chunk_bytes`` (0 only
    when it is the only one); no chunks at all is the empty file. Raises ValueError
    otherwise, KeyFormatError for a key that is not 32 bytes.
    """
    _check_key(key)
    _check_chunk_bytes(chunk_bytes)
    return _encrypt_chunks(key, plaintext_chunks, chunk_bytes, header=None)


def _encrypt_chunks(
    key: bytes, plaintext_chunks: Iterable[bytes], chunk_bytes: int, *, header: bytes | None
) -> Iterator[bytes]:
    """The stream with a random header, or with ``header`` (test vectors only).

    init_pull derives exactly the state init_push does from a header, so pushing on a
    state made by init_pull gives the stream init_push would have given with that header.
    """
    state = nacl.bindings.crypto_secretstream_xchacha20poly1305_state()
    if header is None:
        prefix = nacl.bindings.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    else:
        nacl.bindings.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
        prefix = header
    chunks = iter(plaintext_chunks)
    current = bytes(next(chunks, b""))
    index = 0
    for following in chunks:
        if len(current) != chunk_bytes:
            raise ValueError(
                f"chunk {index} has {len(current)} bytes; all but the last have {chunk_bytes}"
            )
        yield prefix + _push(state, current, _TAG_MESSAGE)
        prefix = b""
        current = bytes(following)
        index += 1
    if len(current) > chunk_bytes or (index > 0 and not current):
        raise ValueError(f"the last chunk has {len(current)} bytes, not 1 to {chunk_bytes}")
    yield prefix + _push(state, current, _TAG_FINAL)


def _push(
    state: nacl.bindings.crypto_secretstream_xchacha20poly1305_state, plain: bytes, tag: int
) -> bytes:
    return nacl.bindings.crypto_secretstream_xchacha20poly1305_push(state, plain, None, tag)


def encrypt_file_stream(key: bytes, plaintext: bytes, chunk_bytes: int = FILE_CHUNK_BYTES) -> bytes:
    """The whole stream of ``plaintext`` under ``key`` (a random header)."""
    _check_chunk_bytes(chunk_bytes)
    view = memoryview(plaintext)
    pieces = (bytes(view[at : at + chunk_bytes]) for at in range(0, len(view), chunk_bytes))
    return b"".join(encrypt_file_chunks(key, pieces, chunk_bytes))


# --- Reading ----------------------------------------------------------------------------


_READING = "reading"  # chunks to come
_RETRYING = "retrying"  # the last chunk failed at its announced length: is the file longer?
_EARLY_END = "early_end"  # FINAL before the last chunk: only the end of the stream may follow
_DONE = "done"  # the last chunk, tagged FINAL: nothing may follow


class FileDecryptor:
    """Decrypts a stream that arrives in pieces (a download), keeping at most about one
    chunk buffered. :meth:`push` returns the plaintext chunks it completed; :meth:`finish`
    says the stream ended. Either raises :class:`FileStreamError` as soon as the stream is
    known to be wrong, and again on every later call. The result (plaintext and error)
    depends only on the bytes, never on how they were split.
    """

    def __init__(self, key: bytes, size: int, chunk_bytes: int = FILE_CHUNK_BYTES) -> None:
        _check_key(key)
        self._chunks = chunk_count(size, chunk_bytes)
        self._size = size
        self._frame = chunk_bytes + FILE_CHUNK_OVERHEAD_BYTES
        self._last_frame = _frame_length(size, self._chunks - 1, chunk_bytes)
        self._key: bytes | None = key
        self._state = nacl.bindings.crypto_secretstream_xchacha20poly1305_state()
        self._buffer = bytearray()
        self._index = 0
        self._phase = _READING
        self._error: FileStreamError | None = None
        self.plain_bytes = 0
        """Plaintext bytes returned so far."""

    def push(self, data: bytes) -> list[bytes]:
        """Feed the next stream bytes; return the plaintext chunks they completed."""
        if self._error is not None:
            raise self._error
        try:
            return self._push(memoryview(data).cast("B"))
        except FileStreamError as error:
            self._fail(error)
            raise

    def finish(self) -> None:
        """The stream ended: raise unless it held exactly the announced file."""
        if self._error is not None:
            raise self._error
        try:
            self._finish()
        except FileStreamError as error:
            self._fail(error)
            raise

    def _fail(self, error: FileStreamError) -> None:
        self._error = error
        self._buffer = bytearray()

    # Every decision waits for a fixed number of bytes or the end of the stream, and
    # looks at nothing else, which is what makes the result independent of the split.

    def _take(self, data: memoryview, at: int, want: int) -> tuple[bytes | None, int]:
        """The next ``want`` stream bytes (buffered ones first), or None and all of
        ``data`` buffered if there are not that many yet."""
        need = want - len(self._buffer)
        if len(data) - at < need:
            self._buffer += data[at:]
            return None, len(data)
        piece = bytes(self._buffer) + bytes(data[at : at + need])
        self._buffer = bytearray()
        return piece, at + need

    def _push(self, data: memoryview) -> list[bytes]:
        plain: list[bytes] = []
        at = 0
        if self._key is not None:
            header, at = self._take(data, at, FILE_STREAM_HEADER_BYTES)
            if header is None:
                return plain
            nacl.bindings.crypto_secretstream_xchacha20poly1305_init_pull(
                self._state, header, self._key
            )
            self._key = None
        while True:
            if self._phase in (_EARLY_END, _DONE):
                if at < len(data):
                    raise self._after_end()
                return plain
            last = self._index == self._chunks - 1
            if self._phase == _RETRYING:
                piece, at = self._take(data, at, self._frame)
                if piece is None:
                    return plain
                raise self._longer(self._pull(piece))
            piece, at = self._take(data, at, self._last_frame if last else self._frame)
            if piece is None:
                return plain
            opened = self._pull(piece)
            if opened is None:
                if last and self._last_frame < self._frame:
                    # Perhaps the file is longer than announced: wait for a full chunk.
                    self._buffer = bytearray(piece)
                    self._phase = _RETRYING
                    continue
                raise _corrupt(self._index, "fails authentication")
            chunk, tag = opened
            if tag not in (_TAG_MESSAGE, _TAG_FINAL):
                raise _corrupt(self._index, f"has tag {tag}, neither MESSAGE nor FINAL")
            if last and tag == _TAG_MESSAGE:
                raise _size_mismatch(self._index, f"the file goes on past {self._size} bytes")
            plain.append(chunk)
            self.plain_bytes += len(chunk)
            if tag == _TAG_FINAL:
                self._phase = _DONE if last else _EARLY_END
            else:
                self._index += 1

    def _finish(self) -> None:
        if self._phase == _DONE:
            return
        if self._phase == _EARLY_END:
            raise _size_mismatch(
                self._index, f"the file ends after {self.plain_bytes} bytes, not {self._size}"
            )
        if self._key is not None:
            raise FileStreamError(
                "file_truncated",
                f"the stream ends inside its {FILE_STREAM_HEADER_BYTES}-byte header",
            )
        rest = bytes(self._buffer)
        self._buffer = bytearray()
        if self._phase == _RETRYING:
            # Between the announced length of the last chunk and a full chunk.
            raise self._longer(self._pull(rest) if len(rest) > self._last_frame else None)
        if len(rest) >= FILE_CHUNK_OVERHEAD_BYTES:
            opened = self._pull(rest)
            if opened is not None and opened[1] == _TAG_FINAL:
                ends = self.plain_bytes + len(opened[0])
                raise _size_mismatch(
                    self._index, f"the file ends after {ends} bytes, not {self._size}"
                )
        raise FileStreamError(
            "file_truncated",
            f"the stream ends inside chunk {self._index} (or before it)",
            chunk=self._index,
        )

    def _longer(self, opened: tuple[bytes, int] | None) -> FileStreamError:
        """The verdict on the last chunk, which failed at its announced length and was
        tried again as a longer chunk."""
        if opened is not None and opened[1] in (_TAG_MESSAGE, _TAG_FINAL):
            return _size_mismatch(self._index, f"the file is longer than {self._size} bytes")
        return _corrupt(self._index, "fails authentication")

    def _after_end(self) -> FileStreamError:
        if self._phase == _EARLY_END:
            return _corrupt(self._index, "is tagged FINAL but is not the last chunk")
        return FileStreamError("file_trailing_data", "bytes follow the chunk tagged FINAL")

    def _pull(self, piece: bytes) -> tuple[bytes, int] | None:
        """Decrypt one chunk; None if it fails authentication (the state is then unchanged,
        so the same chunk may be tried again with more bytes)."""
        try:
            chunk, tag = nacl.bindings.crypto_secretstream_xchacha20poly1305_pull(
                self._state, piece, None
            )
        except nacl.exceptions.RuntimeError:
            return None
        return chunk, tag


def _corrupt(index: int, what: str) -> FileStreamError:
    return FileStreamError("file_corrupt", f"chunk {index} {what}", chunk=index)


def _size_mismatch(index: int, what: str) -> FileStreamError:
    return FileStreamError("file_size_mismatch", f"chunk {index}: {what}", chunk=index)


def decrypt_file_stream(
    key: bytes, stream: bytes, size: int, chunk_bytes: int = FILE_CHUNK_BYTES
) -> bytes:
    """The plaintext of a whole stream; raises :class:`FileStreamError` (§8.1's codes, with
    the chunk index where one applies) unless it is exactly a file of ``size`` bytes."""
    decryptor = FileDecryptor(key, size, chunk_bytes)
    plain = decryptor.push(stream)
    decryptor.finish()
    return b"".join(plain)
