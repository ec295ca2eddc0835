"""Message envelopes: what a room's messages look like on the wire (PROTOCOL.md §7.3-7.4).

An envelope is a signed, encrypted message. Its header (``v`` ... ``ts``) is
in the clear and is the associated data of the XChaCha20-Poly1305 ciphertext;
the ciphertext holds the padded canonical JSON of the content. The sender
signs the header, nonce and ciphertext with their chain key.

A receiver checks, in this order (the order of PROTOCOL.md §7.3, so that both
implementations name the same code for an envelope with several faults):
:func:`parse_envelope` (``malformed_envelope``), :func:`verify_envelope`
(``bad_signature``), then :func:`open_envelope` (``decrypt_failed``,
``bad_padding``, ``malformed_content``). ``frontend/src/protocol/envelope.ts``
mirrors this module and both pass ``tests/vectors/rooms/envelopes.json``.
"""

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.utils

from protocol.chain import ROOM_ID_PATTERN
from protocol.encoding import MAX_SAFE_INTEGER, b64u_decode, b64u_decode_exact, b64u_encode
from protocol.encoding import canonical_json as _canonical_json
from protocol.errors import CanonicalJsonError, EncodingError, EnvelopeError, KeyFormatError
from protocol.errors import SignatureError as _SignatureError
from protocol.file_stream import FILE_KEY_BYTES
from protocol.identity import TENANT_SLUG_PATTERN, USERNAME_PATTERN
from protocol.signing import SIGNATURE_BYTES, SignatureTag, sign, verify

ENVELOPE_VERSION = 1
EPOCH_KEY_BYTES = 32
NONCE_BYTES = 24
AEAD_TAG_BYTES = 16
PAD_BUCKETS: tuple[int, ...] = tuple(2**power for power in range(8, 17))  # 256 ... 65,536
MAX_CONTENT_BYTES = PAD_BUCKETS[-1] - 1  # the 0x80 must fit too
MIN_CIPHERTEXT_BYTES = PAD_BUCKETS[0] + AEAD_TAG_BYTES  # 272
MAX_CIPHERTEXT_BYTES = PAD_BUCKETS[-1] + AEAD_TAG_BYTES  # 65,552
MAX_TEXT_CHARS = 16_000
MAX_EMOJI_CHARS = 64
MAX_CONTENT_DEPTH = 32
MAX_FILE_NAME_CHARS = 255
MAX_FILE_TYPE_CHARS = 255
THUMBNAIL_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
MAX_THUMBNAIL_SIDE = 1024
MAX_THUMBNAIL_BYTES = 49_152
KIND_PATTERN = re.compile(r"[a-z_]{1,32}")
MESSAGE_ID_PATTERN = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
_ENVELOPE_FIELDS = frozenset(
    {"v", "tenant", "room", "epoch", "id", "sender", "ts", "nonce", "ciphertext", "sig"}
)
# kind -> (required fields, optional fields), "kind" included.
_CONTENT_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "text": (frozenset({"kind", "text"}), frozenset({"parent"})),
    "edit": (frozenset({"kind", "target", "text"}), frozenset()),
    "delete": (frozenset({"kind", "target"}), frozenset()),
    "reaction": (frozenset({"kind", "target", "emoji", "on"}), frozenset()),
    "file": (
        frozenset({"kind", "file", "key", "name", "type", "size"}),
        frozenset({"thumbnail", "parent"}),
    ),
}
_THUMBNAIL_FIELDS = frozenset({"type", "width", "height", "data"})
# Control characters a file name may not hold (PROTOCOL.md §8.2): U+0000-U+001F, U+007F.
_FILE_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")
_MAX_CIPHERTEXT_TEXT = -(-MAX_CIPHERTEXT_BYTES * 4 // 3)


def _malformed(message: str) -> EnvelopeError:
    return EnvelopeError("malformed_envelope", message)


def _bad_content(message: str) -> EnvelopeError:
    return EnvelopeError("malformed_content", message)


# --- Message ids --------------------------------------------------------------------


def new_message_id(now_ms: int | None = None) -> str:
    """A fresh UUIDv7 (RFC 9562) in lower case: 48 bits of Unix ms, then random bits."""
    if now_ms is None:
        now_ms = time.time_ns() // 1_000_000
    if type(now_ms) is not int or not 0 <= now_ms < 2**48:
        raise ValueError("now_ms must be a non-negative integer below 2^48")
    data = bytearray(now_ms.to_bytes(6, "big") + nacl.utils.random(10))
    data[6] = 0x70 | (data[6] & 0x0F)
    data[8] = 0x80 | (data[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(data)))


def is_message_id(text: object) -> bool:
    """True for a UUIDv7 in canonical lower-case form (version 7, variant ``10``)."""
    return isinstance(text, str) and MESSAGE_ID_PATTERN.fullmatch(text) is not None


# --- Content and padding ------------------------------------------------------------


def _too_deep(value: object) -> bool:
    """True if objects and arrays nest more than MAX_CONTENT_DEPTH levels (the content is 1)."""
    level: list[object] = [value]
    for _ in range(MAX_CONTENT_DEPTH):
        below: list[object] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(item.values())
            elif isinstance(item, list):
                below.extend(item)
        level = [item for item in below if isinstance(item, dict | list)]
        if not level:
            return False
    return True


def _chars(value: object, low: int, high: int, what: str) -> None:
    # Characters are Unicode code points (well-formedness is checked by JCS).
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise _bad_content(f"{what} must be a string of {low} to {high} characters")


def _content_bytes(value: object) -> tuple[dict[str, object], bytes]:
    """Validate a content value; return it and its canonical JSON."""
    if not isinstance(value, dict):
        raise _bad_content("content must be a JSON object")
    kind = value.get("kind")
    if not isinstance(kind, str) or KIND_PATTERN.fullmatch(kind) is None:
        raise _bad_content("content kind must be 1-32 characters of a-z and '_'")
    if _too_deep(value):
        raise _bad_content(f"content is nested more than {MAX_CONTENT_DEPTH} levels deep")
    try:
        encoded = _canonical_json(value)
    except CanonicalJsonError as error:
        raise _bad_content(f"content: {error.message}") from None
    if len(encoded) > MAX_CONTENT_BYTES:
        raise _bad_content(f"content is at most {MAX_CONTENT_BYTES} bytes of canonical JSON")
    if kind in _CONTENT_FIELDS:
        required, optional = _CONTENT_FIELDS[kind]
        keys = value.keys()
        if not (required <= keys and keys <= required | optional):
            missing = sorted(required - keys)
            extra = sorted(str(key) for key in keys - required - optional)
            raise _bad_content(f"{kind} content fields: missing {missing}, unexpected {extra}")
        if "text" in required:
            _chars(value["text"], 1, MAX_TEXT_CHARS, "text")
        if "parent" in value and not is_message_id(value["parent"]):
            raise _bad_content("parent must be a message id (a lower-case UUIDv7)")
        if "target" in required and not is_message_id(value["target"]):
            raise _bad_content("target must be a message id (a lower-case UUIDv7)")
        if kind == "reaction":
            _chars(value["emoji"], 1, MAX_EMOJI_CHARS, "emoji")
            if not isinstance(value["on"], bool):
                raise _bad_content("on must be true or false")
        if kind == "file":
            _check_file_content(value)
    return dict(value), encoded


def _int_in(value: object, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _b64u_bytes(value: object, low: int, high: int, what: str) -> None:
    """Raise ``malformed_content`` unless ``value`` is base64url of ``low``-``high`` bytes."""
    if not isinstance(value, str) or len(value) > -(-high * 4 // 3):
        raise _bad_content(f"{what} must be base64url of {low} to {high} bytes")
    try:
        data = b64u_decode(value)
    except EncodingError as error:
        raise _bad_content(f"{what}: {error.message}") from None
    if not low <= len(data) <= high:
        raise _bad_content(f"{what} must be {low} to {high} bytes")


def _check_file_content(value: dict[str, object]) -> None:
    """The fields of a ``file`` content (PROTOCOL.md §8.2); the field names are checked."""
    if not isinstance(value["file"], str) or ROOM_ID_PATTERN.fullmatch(value["file"]) is None:
        raise _bad_content("file must be a lower-case UUID string")
    _b64u_bytes(value["key"], FILE_KEY_BYTES, FILE_KEY_BYTES, "key")
    name = value["name"]
    _chars(name, 1, MAX_FILE_NAME_CHARS, "name")
    if isinstance(name, str) and _FILE_NAME_FORBIDDEN.search(name) is not None:
        raise _bad_content("name must not contain control characters")
    _chars(value["type"], 0, MAX_FILE_TYPE_CHARS, "type")
    if not _int_in(value["size"], 0, MAX_SAFE_INTEGER):
        raise _bad_content("size must be a non-negative integer")
    if "thumbnail" not in value:
        return
    thumbnail = value["thumbnail"]
    if not isinstance(thumbnail, dict) or thumbnail.keys() != _THUMBNAIL_FIELDS:
        raise _bad_content("thumbnail must be an object of exactly type, width, height and data")
    if not isinstance(thumbnail["type"], str) or thumbnail["type"] not in THUMBNAIL_TYPES:
        raise _bad_content("thumbnail type must be image/jpeg, image/png or image/webp")
    for side in ("width", "height"):
        if not _int_in(thumbnail[side], 1, MAX_THUMBNAIL_SIDE):
            raise _bad_content(f"thumbnail {side} must be an integer of 1 to {MAX_THUMBNAIL_SIDE}")
    _b64u_bytes(thumbnail["data"], 1, MAX_THUMBNAIL_BYTES, "thumbnail data")


def parse_content(value: object) -> dict[str, object]:
    """Check a content value (PROTOCOL.md §7.4); raise ``malformed_content`` if it is not one.

    A known kind must have exactly its fields; any other kind only needs a
    valid ``kind`` (clients show it as an unsupported message).
    """
    content, _encoded = _content_bytes(value)
    return content


def pad_content(data: bytes) -> bytes:
    """ISO/IEC 7816-4 padding (0x80, then zeros) to the smallest bucket that holds it."""
    for bucket in PAD_BUCKETS:
        if len(data) < bucket:
            return data + b"\x80" + bytes(bucket - len(data) - 1)
    raise _bad_content(f"content is at most {MAX_CONTENT_BYTES} bytes")


def unpad_content(data: bytes) -> bytes:
    """Strict unpadding: the length is the smallest bucket for the content, and the
    last non-zero byte is 0x80. Anything else raises ``bad_padding``."""
    if len(data) not in PAD_BUCKETS:
        raise EnvelopeError("bad_padding", "padded content is not of a bucket's length")
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise EnvelopeError("bad_padding", "padding does not end in 0x80 and zeros")
    content = stripped[:-1]
    if pad_content(content) != data:
        raise EnvelopeError("bad_padding", "content padded beyond its smallest bucket")
    return content


def decode_content(data: bytes) -> dict[str, object]:
    """Unpadded plaintext to content: UTF-8 canonical JSON of a valid content object."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad_content("content is not UTF-8 JSON") from None
    content, encoded = _content_bytes(value)
    if encoded != data:
        raise _bad_content("content is not in canonical JSON (RFC 8785)")
    return content


# --- The envelope -------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """One message envelope. :func:`parse_envelope` checks the shape of received ones;
    :func:`seal_envelope` makes new ones."""

    tenant: str
    room: str
    epoch: int
    id: str
    sender: str
    ts: int
    nonce: bytes
    ciphertext: bytes
    sig: bytes

    def header(self) -> dict[str, object]:
        """The clear header: the associated data of the ciphertext, and signed."""
        return {
            "v": ENVELOPE_VERSION,
            "tenant": self.tenant,
            "room": self.room,
            "epoch": self.epoch,
            "id": self.id,
            "sender": self.sender,
            "ts": self.ts,
        }

    def associated_data(self) -> bytes:
        """JCS(header)."""
        return _canonical_json(self.header())

    def to_json(self) -> dict[str, object]:
        """The wire form (bytes as unpadded base64url)."""
        return {
            **self.header(),
            "nonce": b64u_encode(self.nonce),
            "ciphertext": b64u_encode(self.ciphertext),
            "sig": b64u_encode(self.sig),
        }

    def signed_message(self) -> bytes:
        """What ``sig`` covers after the tag: JCS(header) || nonce || ciphertext."""
        return self.associated_data() + self.nonce + self.ciphertext


def _is_int(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_SAFE_INTEGER


def _check_header(
    tenant: object, room: object, epoch: object, message_id: object, sender: object, ts: object
) -> None:
    if not isinstance(tenant, str) or TENANT_SLUG_PATTERN.fullmatch(tenant) is None:
        raise _malformed("tenant must be a slug")
    if not isinstance(room, str) or ROOM_ID_PATTERN.fullmatch(room) is None:
        raise _malformed("room must be a lower-case UUID string")
    if not _is_int(epoch):
        raise _malformed("epoch must be a non-negative integer")
    if not is_message_id(message_id):
        raise _malformed("id must be a lower-case UUIDv7")
    if not isinstance(sender, str) or USERNAME_PATTERN.fullmatch(sender) is None:
        raise _malformed("sender must be a username (PROTOCOL.md §3.1)")
    if not _is_int(ts):
        raise _malformed("ts must be a non-negative integer (Unix milliseconds)")


def _bytes(value: object, length: int, what: str) -> bytes:
    try:
        return b64u_decode_exact(value, length, what=what)
    except EncodingError as error:
        raise _malformed(error.message) from None


def parse_envelope(value: object) -> Envelope:
    """Check an envelope's shape (PROTOCOL.md §7.3); raise ``malformed_envelope``.

    Neither the signature nor the ciphertext is checked here:
    :func:`verify_envelope` then :func:`open_envelope`.
    """
    if not isinstance(value, dict):
        raise _malformed("an envelope is a JSON object")
    keys = value.keys()
    if keys != _ENVELOPE_FIELDS:
        missing = sorted(_ENVELOPE_FIELDS - keys)
        extra = sorted(str(key) for key in keys - _ENVELOPE_FIELDS)
        raise _malformed(f"envelope fields: missing {missing}, unexpected {extra}")
    if type(value["v"]) is not int or value["v"] != ENVELOPE_VERSION:
        raise _malformed(f"unsupported envelope version {value['v']!r}")
    _check_header(
        value["tenant"], value["room"], value["epoch"], value["id"], value["sender"], value["ts"]
    )
    nonce = _bytes(value["nonce"], NONCE_BYTES, "nonce")
    text = value["ciphertext"]
    if not isinstance(text, str) or len(text) > _MAX_CIPHERTEXT_TEXT:
        raise _malformed(f"ciphertext must be base64url of at most {MAX_CIPHERTEXT_BYTES} bytes")
    try:
        ciphertext = b64u_decode(text)
    except EncodingError as error:
        raise _malformed(f"ciphertext: {error.message}") from None
    if not MIN_CIPHERTEXT_BYTES <= len(ciphertext) <= MAX_CIPHERTEXT_BYTES:
        raise _malformed(
            f"ciphertext must be {MIN_CIPHERTEXT_BYTES} to {MAX_CIPHERTEXT_BYTES} bytes"
        )
    sig = _bytes(value["sig"], SIGNATURE_BYTES, "sig")
    return Envelope(
        value["tenant"],
        value["room"],
        value["epoch"],
        value["id"],
        value["sender"],
        value["ts"],
        nonce,
        ciphertext,
        sig,
    )


def verify_envelope(envelope: Envelope, sign_pub: bytes) -> None:
    """Raise ``bad_signature`` unless ``sig`` is the sender's (``sign_pub``) signature."""
    try:
        verify(SignatureTag.MESSAGE, envelope.signed_message(), envelope.sig, sign_pub)
    except _SignatureError:
        raise EnvelopeError("bad_signature", "the envelope's signature does not verify") from None


def _check_key(epoch_key: bytes) -> None:
    if len(epoch_key) != EPOCH_KEY_BYTES:
        raise KeyFormatError(f"an epoch key is {EPOCH_KEY_BYTES} bytes")


def _seal_padded(
    *,
    tenant: str,
    room: str,
    epoch: int,
    message_id: str,
    sender: str,
    ts: int,
    padded: bytes,
    epoch_key: bytes,
    sign_seed: bytes,
    nonce: bytes | None = None,
) -> Envelope:
    """Encrypt and sign already padded bytes (the test vectors use it to make bad ones)."""
    _check_header(tenant, room, epoch, message_id, sender, ts)
    _check_key(epoch_key)
    if nonce is None:
        nonce = nacl.utils.random(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise KeyFormatError(f"a nonce is {NONCE_BYTES} bytes")
    draft = Envelope(tenant, room, epoch, message_id, sender, ts, nonce, b"", b"")
    ciphertext = bytes(
        nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            padded, draft.associated_data(), nonce, epoch_key
        )
    )
    unsigned = Envelope(tenant, room, epoch, message_id, sender, ts, nonce, ciphertext, b"")
    sig = sign(SignatureTag.MESSAGE, unsigned.signed_message(), sign_seed)
    return Envelope(tenant, room, epoch, message_id, sender, ts, nonce, ciphertext, sig)


def seal_envelope(
    *,
    tenant: str,
    room: str,
    epoch: int,
    message_id: str,
    sender: str,
    ts: int,
    content: Mapping[str, object],
    epoch_key: bytes,
    sign_seed: bytes,
    nonce: bytes | None = None,
) -> Envelope:
    """Check ``content``, pad it, encrypt it under the epoch key and sign the envelope.

    ``nonce`` is random unless given (test vectors only). Raises
    ``malformed_content`` for content that is not valid or too big,
    ``malformed_envelope`` for a bad header field.
    """
    _check_header(tenant, room, epoch, message_id, sender, ts)
    _content, encoded = _content_bytes(dict(content))
    return _seal_padded(
        tenant=tenant,
        room=room,
        epoch=epoch,
        message_id=message_id,
        sender=sender,
        ts=ts,
        padded=pad_content(encoded),
        epoch_key=epoch_key,
        sign_seed=sign_seed,
        nonce=nonce,
    )


def open_envelope(envelope: Envelope, epoch_key: bytes) -> dict[str, object]:
    """Decrypt, unpad and check the content (``decrypt_failed``, ``bad_padding``,
    ``malformed_content``). Call :func:`verify_envelope` first."""
    _check_key(epoch_key)
    try:
        padded = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            envelope.ciphertext, envelope.associated_data(), envelope.nonce, epoch_key
        )
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError):
        raise EnvelopeError(
            "decrypt_failed", "the envelope does not decrypt: wrong epoch key, or tampered"
        ) from None
    return decode_content(unpad_content(bytes(padded)))
