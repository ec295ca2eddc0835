"""Room epochs: the keys a room's messages are encrypted under (PROTOCOL.md §7.1-7.2).

An epoch key is 32 random bytes made by one member's client. The **epoch
record** seals it (``crypto_box_seal``) to every member of the room and is
signed by its creator; an **epoch share** hands an existing key to one more
person. ``key_check`` lets a holder of a candidate key check it against the
record without revealing the key.

A receiver checks, in this order: ``parse_*`` (``malformed_epoch`` /
``malformed_share``), ``verify_*`` (``bad_signature``), then ``open_*``
(``not_sealed_to_you``, ``wrong_epoch``, ``decrypt_failed``,
``key_check_mismatch``). ``frontend/src/protocol/epoch.ts`` mirrors this
module and both pass ``tests/vectors/rooms/epochs.json``.
"""

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import nacl.bindings
import nacl.encoding
import nacl.exceptions
import nacl.hash
import nacl.utils

from protocol.chain import ROOM_ID_PATTERN
from protocol.encoding import MAX_SAFE_INTEGER, b64u_decode_exact, b64u_encode, canonical_json
from protocol.errors import EncodingError, EpochError, KeyFormatError
from protocol.errors import SignatureError as _SignatureError
from protocol.identity import BOX_SECRET_BYTES, TENANT_SLUG_PATTERN, USERNAME_PATTERN
from protocol.signing import SIGNATURE_BYTES, SignatureTag, sign, verify

EPOCH_VERSION = 1
EPOCH_KEY_BYTES = 32
KEY_CHECK_BYTES = 32
BOX_PUBLIC_BYTES = 32
SEALED_KEY_BYTES = 80  # crypto_box_seal of 32 bytes: 32 (ephemeral key) + 32 + 16 (tag)
MAX_RECIPIENTS = 1024
KEY_CHECK_LABEL = b"pipo/epoch-check/v1"
_RECORD_FIELDS = frozenset(
    {"v", "tenant", "room", "epoch", "creator", "chain_seq", "ts", "key_check", "sealed", "sig"}
)
_SHARE_FIELDS = frozenset({"v", "tenant", "room", "epoch", "user", "by", "ts", "sealed", "sig"})


# --- Keys ---------------------------------------------------------------------------


def new_epoch_key() -> bytes:
    """32 fresh random bytes."""
    return nacl.utils.random(EPOCH_KEY_BYTES)


def _check_key(epoch_key: bytes) -> None:
    if len(epoch_key) != EPOCH_KEY_BYTES:
        raise KeyFormatError(f"an epoch key is {EPOCH_KEY_BYTES} bytes")


def key_check(epoch_key: bytes) -> bytes:
    """BLAKE2b-256 keyed with the epoch key over ``pipo/epoch-check/v1``."""
    _check_key(epoch_key)
    digest: bytes = nacl.hash.blake2b(
        KEY_CHECK_LABEL,
        digest_size=KEY_CHECK_BYTES,
        key=epoch_key,
        encoder=nacl.encoding.RawEncoder,
    )
    return digest


def _seal(epoch_key: bytes, box_pub: bytes) -> bytes:
    if len(box_pub) != BOX_PUBLIC_BYTES:
        raise KeyFormatError("an X25519 public key is 32 bytes")
    return bytes(nacl.bindings.crypto_box_seal(epoch_key, box_pub))


def _open(sealed: bytes, box_secret: bytes, expected_check: bytes) -> bytes:
    if len(box_secret) != BOX_SECRET_BYTES:
        raise KeyFormatError("an X25519 secret key is 32 bytes")
    box_pub = bytes(nacl.bindings.crypto_scalarmult_base(box_secret))
    try:
        epoch_key = bytes(nacl.bindings.crypto_box_seal_open(sealed, box_pub, box_secret))
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError):
        raise EpochError(
            "decrypt_failed", "the sealed epoch key does not open with this box key"
        ) from None
    if len(epoch_key) != EPOCH_KEY_BYTES or not hmac.compare_digest(
        key_check(epoch_key), expected_check
    ):
        raise EpochError("key_check_mismatch", "the sealed key is not the epoch's key")
    return epoch_key


# --- Field checks ---------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return type(value) is int and 0 <= value <= MAX_SAFE_INTEGER


def _check_common(code: str, tenant: object, room: object, epoch: object, ts: object) -> None:
    if not isinstance(tenant, str) or TENANT_SLUG_PATTERN.fullmatch(tenant) is None:
        raise EpochError(code, "tenant must be a slug")
    if not isinstance(room, str) or ROOM_ID_PATTERN.fullmatch(room) is None:
        raise EpochError(code, "room must be a lower-case UUID string")
    if not _is_int(epoch):
        raise EpochError(code, "epoch must be a non-negative integer")
    if not _is_int(ts):
        raise EpochError(code, "ts must be a non-negative integer (Unix milliseconds)")


def _check_user(code: str, value: object, what: str) -> None:
    if not isinstance(value, str) or USERNAME_PATTERN.fullmatch(value) is None:
        raise EpochError(code, f"{what} must be a username (PROTOCOL.md §3.1)")


def _check_fields(code: str, value: object, fields: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EpochError(code, f"an {what} is a JSON object")
    keys = value.keys()
    if keys != fields:
        missing = sorted(fields - keys)
        extra = sorted(str(key) for key in keys - fields)
        raise EpochError(code, f"{what} fields: missing {missing}, unexpected {extra}")
    if type(value["v"]) is not int or value["v"] != EPOCH_VERSION:
        raise EpochError(code, f"unsupported {what} version {value['v']!r}")
    return value


def _bytes(code: str, value: object, length: int, what: str) -> bytes:
    try:
        return b64u_decode_exact(value, length, what=what)
    except EncodingError as error:
        raise EpochError(code, error.message) from None


def _check_recipients(code: str, names: list[object], creator: object) -> None:
    if not 1 <= len(names) <= MAX_RECIPIENTS:
        raise EpochError(code, f"sealed must have 1 to {MAX_RECIPIENTS} entries")
    for name in names:
        _check_user(code, name, "every sealed name")
    if creator not in names:
        raise EpochError(code, "the creator must be sealed to")


# --- Epoch record ---------------------------------------------------------------------


@dataclass(frozen=True)
class EpochRecord:
    """A room epoch: its key sealed to every member, signed by the creator."""

    tenant: str
    room: str
    epoch: int
    creator: str
    chain_seq: int
    ts: int
    key_check: bytes
    sealed: Mapping[str, bytes]
    sig: bytes

    def unsigned_json(self) -> dict[str, object]:
        return {
            "v": EPOCH_VERSION,
            "tenant": self.tenant,
            "room": self.room,
            "epoch": self.epoch,
            "creator": self.creator,
            "chain_seq": self.chain_seq,
            "ts": self.ts,
            "key_check": b64u_encode(self.key_check),
            "sealed": {user: b64u_encode(box) for user, box in self.sealed.items()},
        }

    def to_json(self) -> dict[str, object]:
        """The wire form (bytes as unpadded base64url)."""
        return {**self.unsigned_json(), "sig": b64u_encode(self.sig)}

    def signed_message(self) -> bytes:
        """What ``sig`` covers after the tag: JCS(record without ``sig``)."""
        return canonical_json(self.unsigned_json())


def parse_epoch_record(value: object) -> EpochRecord:
    """Check an epoch record's shape (PROTOCOL.md §7.1); raise ``malformed_epoch``."""
    code = "malformed_epoch"
    data = _check_fields(code, value, _RECORD_FIELDS, "epoch record")
    _check_common(code, data["tenant"], data["room"], data["epoch"], data["ts"])
    _check_user(code, data["creator"], "creator")
    if not _is_int(data["chain_seq"]):
        raise EpochError(code, "chain_seq must be a non-negative integer")
    check = _bytes(code, data["key_check"], KEY_CHECK_BYTES, "key_check")
    sealed_json = data["sealed"]
    if not isinstance(sealed_json, dict):
        raise EpochError(code, "sealed must be a JSON object (username -> sealed key)")
    _check_recipients(code, list(sealed_json), data["creator"])
    sealed = {
        str(user): _bytes(code, box, SEALED_KEY_BYTES, f"sealed[{user}]")
        for user, box in sealed_json.items()
    }
    sig = _bytes(code, data["sig"], SIGNATURE_BYTES, "sig")
    return EpochRecord(
        data["tenant"],
        data["room"],
        data["epoch"],
        data["creator"],
        data["chain_seq"],
        data["ts"],
        check,
        sealed,
        sig,
    )


def verify_epoch_record(record: EpochRecord, sign_pub: bytes) -> None:
    """Raise ``bad_signature`` unless ``sig`` is the creator's (``sign_pub``) signature."""
    try:
        verify(SignatureTag.EPOCH, record.signed_message(), record.sig, sign_pub)
    except _SignatureError:
        raise EpochError("bad_signature", "the epoch record's signature does not verify") from None


def make_epoch_record(
    *,
    tenant: str,
    room: str,
    epoch: int,
    creator: str,
    chain_seq: int,
    ts: int,
    epoch_key: bytes,
    recipients: Mapping[str, bytes],
    sign_seed: bytes,
) -> EpochRecord:
    """Seal ``epoch_key`` to every recipient (username -> ``box_pub``) and sign the record.

    The recipients must include the creator. Raises ``malformed_epoch`` for a
    field that breaks §7.1 and :class:`KeyFormatError` for a key of the wrong size.
    """
    code = "malformed_epoch"
    _check_common(code, tenant, room, epoch, ts)
    _check_user(code, creator, "creator")
    if not _is_int(chain_seq):
        raise EpochError(code, "chain_seq must be a non-negative integer")
    _check_recipients(code, list(recipients), creator)
    _check_key(epoch_key)
    sealed = {user: _seal(epoch_key, box_pub) for user, box_pub in recipients.items()}
    return _signed_record(
        tenant, room, epoch, creator, chain_seq, ts, key_check(epoch_key), sealed, sign_seed
    )


def _signed_record(
    tenant: str,
    room: str,
    epoch: int,
    creator: str,
    chain_seq: int,
    ts: int,
    check: bytes,
    sealed: Mapping[str, bytes],
    sign_seed: bytes,
) -> EpochRecord:
    """Sign a record whose keys are already sealed (the test vectors seal deterministically)."""
    draft = EpochRecord(tenant, room, epoch, creator, chain_seq, ts, check, dict(sealed), b"")
    sig = sign(SignatureTag.EPOCH, draft.signed_message(), sign_seed)
    return EpochRecord(tenant, room, epoch, creator, chain_seq, ts, check, dict(sealed), sig)


def open_epoch_record(record: EpochRecord, user: str, box_secret: bytes) -> bytes:
    """The epoch key sealed to ``user``, checked against ``key_check``.

    Raises ``not_sealed_to_you`` (no entry for ``user``), ``decrypt_failed``
    (the box does not open with ``box_secret``) or ``key_check_mismatch``.
    Call :func:`verify_epoch_record` first.
    """
    box = record.sealed.get(user)
    if box is None:
        raise EpochError("not_sealed_to_you", f"the epoch key is not sealed to {user!r}")
    return _open(box, box_secret, record.key_check)


# --- Epoch share ----------------------------------------------------------------------


@dataclass(frozen=True)
class EpochShare:
    """An existing epoch key sealed to one more person (``user``), signed by ``by``."""

    tenant: str
    room: str
    epoch: int
    user: str
    by: str
    ts: int
    sealed: bytes
    sig: bytes

    def unsigned_json(self) -> dict[str, object]:
        return {
            "v": EPOCH_VERSION,
            "tenant": self.tenant,
            "room": self.room,
            "epoch": self.epoch,
            "user": self.user,
            "by": self.by,
            "ts": self.ts,
            "sealed": b64u_encode(self.sealed),
        }

    def to_json(self) -> dict[str, object]:
        """The wire form (bytes as unpadded base64url)."""
        return {**self.unsigned_json(), "sig": b64u_encode(self.sig)}

    def signed_message(self) -> bytes:
        """What ``sig`` covers after the tag: JCS(share without ``sig``)."""
        return canonical_json(self.unsigned_json())


def parse_epoch_share(value: object) -> EpochShare:
    """Check an epoch share's shape (PROTOCOL.md §7.2); raise ``malformed_share``."""
    code = "malformed_share"
    data = _check_fields(code, value, _SHARE_FIELDS, "epoch share")
    _check_common(code, data["tenant"], data["room"], data["epoch"], data["ts"])
    _check_user(code, data["user"], "user")
    _check_user(code, data["by"], "by")
    sealed = _bytes(code, data["sealed"], SEALED_KEY_BYTES, "sealed")
    sig = _bytes(code, data["sig"], SIGNATURE_BYTES, "sig")
    return EpochShare(
        data["tenant"],
        data["room"],
        data["epoch"],
        data["user"],
        data["by"],
        data["ts"],
        sealed,
        sig,
    )


def verify_epoch_share(share: EpochShare, sign_pub: bytes) -> None:
    """Raise ``bad_signature`` unless ``sig`` is the sharer's (``sign_pub``) signature."""
    try:
        verify(SignatureTag.EPOCH_SHARE, share.signed_message(), share.sig, sign_pub)
    except _SignatureError:
        raise EpochError("bad_signature", "the epoch share's signature does not verify") from None


def make_epoch_share(
    *,
    tenant: str,
    room: str,
    epoch: int,
    user: str,
    by: str,
    ts: int,
    epoch_key: bytes,
    box_pub: bytes,
    sign_seed: bytes,
) -> EpochShare:
    """Seal ``epoch_key`` to ``user``'s ``box_pub`` and sign the share as ``by``."""
    code = "malformed_share"
    _check_common(code, tenant, room, epoch, ts)
    _check_user(code, user, "user")
    _check_user(code, by, "by")
    _check_key(epoch_key)
    return _signed_share(tenant, room, epoch, user, by, ts, _seal(epoch_key, box_pub), sign_seed)


def _signed_share(
    tenant: str, room: str, epoch: int, user: str, by: str, ts: int, sealed: bytes, sign_seed: bytes
) -> EpochShare:
    """Sign a share whose key is already sealed (the test vectors seal deterministically)."""
    draft = EpochShare(tenant, room, epoch, user, by, ts, sealed, b"")
    sig = sign(SignatureTag.EPOCH_SHARE, draft.signed_message(), sign_seed)
    return EpochShare(tenant, room, epoch, user, by, ts, sealed, sig)


def open_epoch_share(share: EpochShare, box_secret: bytes, record: EpochRecord) -> bytes:
    """The epoch key in ``share``, checked against the epoch's ``record``.

    Raises ``wrong_epoch`` (the share names another tenant, room or epoch than
    the record), ``decrypt_failed`` or ``key_check_mismatch``. Call
    :func:`verify_epoch_share` (and :func:`verify_epoch_record`) first.
    """
    if (share.tenant, share.room, share.epoch) != (record.tenant, record.room, record.epoch):
        raise EpochError("wrong_epoch", "the share is for another epoch than the record")
    return _open(share.sealed, box_secret, record.key_check)
