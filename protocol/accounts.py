"""Zero-knowledge login and key backup (PROTOCOL.md §5.1-5.4).

A password is stretched with Argon2id in the client; the server receives
only ``auth_key``, never the password, the master key or ``wrap_key``. The
identity's secret keys travel to the server only inside *wrapped keys*:
XChaCha20-Poly1305 under ``wrap_key`` (or a recovery code's key), with
associated data that binds the backup to its purpose, tenant and user. A key
file is the same sealed object under a passphrase of its own, for moving an
identity between tenants.
"""

import hashlib
import hmac
import json
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.utils

from protocol.encoding import b64u_decode, b64u_decode_exact, b64u_encode, canonical_json
from protocol.errors import (
    BundleMismatchError,
    EncodingError,
    KdfError,
    KeyFileError,
    KeyFormatError,
    KeysMismatchError,
    PasswordError,
    RecoveryCodeError,
    UnwrapError,
    WrappedKeysError,
)
from protocol.identity import IdentityBundle, IdentityKeys

KDF_ALG = "argon2id13"
DEFAULT_OPS = 3
DEFAULT_MEM = 64 * 1024 * 1024
MIN_OPS = 3
MAX_OPS = 10
MIN_MEM = 64 * 1024 * 1024
MAX_MEM = 1024 * 1024 * 1024
MEM_STEP = 1024 * 1024
SALT_BYTES = 16
KEY_BYTES = 32
PASSWORD_MIN_CHARS = 10
PASSWORD_MAX_CHARS = 1024

WRAPPED_KEYS_VERSION = 1
NONCE_BYTES = 24
MIN_CIPHERTEXT_BYTES = 16
MAX_CIPHERTEXT_BYTES = 1024
IDENTITY_KEYS_KIND = "pipo/identity-keys"
KEY_FILE_VERSION = 1
KEY_FILE_KIND = "pipo/key-file"

RECOVERY_SECRET_BYTES = 20
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_SYMBOLS = 32
INVITE_TOKEN_BYTES = 32

_AUTH_LABEL = b"pipo/auth/v1"
_WRAP_LABEL = b"pipo/wrap/v1"
_RECOVERY_AUTH_LABEL = b"pipo/recovery-auth/v1"
_RECOVERY_WRAP_LABEL = b"pipo/recovery-wrap/v1"
_KEY_FILE_LABEL = b"pipo/key-file/v1"
_KDF_FIELDS = frozenset({"alg", "ops", "mem", "salt"})
_WRAPPED_FIELDS = frozenset({"v", "nonce", "ciphertext"})
_INNER_FIELDS = frozenset({"v", "kind", "sign_seed", "box_secret"})
_KEY_FILE_FIELDS = frozenset({"v", "kind", "kdf", "nonce", "ciphertext"})
# Reading a recovery code: both cases, and the look-alikes O -> 0, I and L -> 1.
# Only these ASCII characters are looked up, so no Unicode case mapping
# (Python's and JavaScript's differ at the edges, e.g. dotless i) is involved.
_RECOVERY_DECODE: dict[str, int] = {
    **{char: value for value, char in enumerate(RECOVERY_ALPHABET)},
    **{char.lower(): value for value, char in enumerate(RECOVERY_ALPHABET)},
    **{"O": 0, "o": 0, "I": 1, "i": 1, "L": 1, "l": 1},
}
_RECOVERY_SEPARATORS = frozenset(" \t\r\n-")


class BackupPurpose(StrEnum):
    """What a sealed copy of the identity keys is for; part of its associated data."""

    KEY_BACKUP = "pipo/key-backup/v1"
    RECOVERY_BACKUP = "pipo/recovery-backup/v1"
    KEY_FILE = "pipo/key-file/v1"


# --- 5.1 Password derivation ------------------------------------------------


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters and salt, as the server stores and returns them."""

    alg: str
    ops: int
    mem: int
    salt: bytes

    def to_json(self) -> dict[str, Any]:
        return {"alg": self.alg, "ops": self.ops, "mem": self.mem, "salt": b64u_encode(self.salt)}


def _check_kdf(alg: object, ops: object, mem: object) -> None:
    if alg != KDF_ALG:
        raise KdfError(f"kdf alg must be {KDF_ALG!r}")
    if type(ops) is not int or not MIN_OPS <= ops <= MAX_OPS:
        raise KdfError(f"kdf ops must be an integer from {MIN_OPS} to {MAX_OPS}")
    if type(mem) is not int or not MIN_MEM <= mem <= MAX_MEM or mem % MEM_STEP != 0:
        raise KdfError("kdf mem must be a whole number of MiB from 64 MiB to 1 GiB, in bytes")


def new_kdf_params() -> KdfParams:
    """Fresh parameters for a new password: the defaults and a random salt."""
    return KdfParams(KDF_ALG, DEFAULT_OPS, DEFAULT_MEM, nacl.utils.random(SALT_BYTES))


def parse_kdf_params(data: object) -> KdfParams:
    """Validate the wire form of KDF parameters.

    Raises :class:`KdfError` unless ``data`` has exactly the fields alg, ops,
    mem and salt with acceptable values.
    """
    if not isinstance(data, dict):
        raise KdfError("kdf is a JSON object")
    if set(data) != _KDF_FIELDS:
        raise KdfError("kdf has exactly the fields alg, ops, mem and salt")
    _check_kdf(data["alg"], data["ops"], data["mem"])
    try:
        salt = b64u_decode_exact(data["salt"], SALT_BYTES, what="kdf salt")
    except EncodingError as error:
        raise KdfError(error.message) from None
    return KdfParams(data["alg"], data["ops"], data["mem"], salt)


@dataclass(frozen=True)
class PasswordKeys:
    """The two keys derived from a password (or a recovery code).

    ``auth_key`` is sent to the server; ``wrap_key`` never leaves the client.
    """

    auth_key: bytes = field(repr=False)
    wrap_key: bytes = field(repr=False)


def check_password(password: str) -> None:
    """Raise :class:`PasswordError` unless ``password`` is 10-1,024 characters after NFKC."""
    normalised = _normalise_password(password)
    if not PASSWORD_MIN_CHARS <= len(normalised) <= PASSWORD_MAX_CHARS:
        raise PasswordError(
            f"a password has {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters"
        )


def _normalise_password(password: str) -> str:
    if not isinstance(password, str):
        raise PasswordError("a password is text")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise PasswordError("a password must be well-formed Unicode") from None
    return unicodedata.normalize("NFKC", password)


def _master_key(password: str, kdf: KdfParams) -> bytes:
    _check_kdf(kdf.alg, kdf.ops, kdf.mem)
    if len(kdf.salt) != SALT_BYTES:
        raise KdfError(f"kdf salt must be {SALT_BYTES} bytes")
    secret = _normalise_password(password).encode("utf-8")
    alg = nacl.bindings.crypto_pwhash_ALG_ARGON2ID13
    master = nacl.bindings.crypto_pwhash_alg(KEY_BYTES, secret, kdf.salt, kdf.ops, kdf.mem, alg)
    return bytes(master)


def _keyed_hash(key: bytes, label: bytes) -> bytes:
    return bytes(nacl.bindings.crypto_generichash_blake2b_salt_personal(label, KEY_BYTES, key=key))


def derive_password_keys(password: str, kdf: KdfParams) -> PasswordKeys:
    """``auth_key`` and ``wrap_key`` for ``password`` (Argon2id, then keyed BLAKE2b).

    Raises :class:`KdfError` for parameters outside §5.1 and
    :class:`PasswordError` for a password that is not well-formed Unicode.
    The length rule is :func:`check_password`'s, applied where passwords are chosen.
    """
    master = _master_key(password, kdf)
    return PasswordKeys(_keyed_hash(master, _AUTH_LABEL), _keyed_hash(master, _WRAP_LABEL))


# --- 5.2 Wrapped keys -------------------------------------------------------


@dataclass(frozen=True)
class WrappedKeys:
    """Identity keys sealed under a wrap key. Only the owner's client can open it."""

    nonce: bytes
    ciphertext: bytes
    v: int = WRAPPED_KEYS_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "nonce": b64u_encode(self.nonce),
            "ciphertext": b64u_encode(self.ciphertext),
        }


def _check_sealed(nonce: object, ciphertext: object) -> tuple[bytes, bytes]:
    """Decode a nonce and ciphertext; raises :class:`EncodingError`."""
    nonce_bytes = b64u_decode_exact(nonce, NONCE_BYTES, what="nonce")
    if not isinstance(ciphertext, str):
        raise EncodingError("ciphertext must be a base64url string")
    ciphertext_bytes = b64u_decode(ciphertext)
    if not MIN_CIPHERTEXT_BYTES <= len(ciphertext_bytes) <= MAX_CIPHERTEXT_BYTES:
        raise EncodingError(
            f"ciphertext must be {MIN_CIPHERTEXT_BYTES} to {MAX_CIPHERTEXT_BYTES} bytes"
        )
    return nonce_bytes, ciphertext_bytes


def parse_wrapped_keys(data: object) -> WrappedKeys:
    """Validate the wire form of wrapped keys (not their contents: that needs the key).

    Raises :class:`WrappedKeysError` unless ``data`` has exactly the fields
    v (the integer 1), nonce (24 bytes) and ciphertext (16 to 1,024 bytes).
    """
    if not isinstance(data, dict):
        raise WrappedKeysError("wrapped keys are a JSON object")
    if set(data) != _WRAPPED_FIELDS:
        raise WrappedKeysError("wrapped keys have exactly the fields v, nonce and ciphertext")
    if type(data["v"]) is not int or data["v"] != WRAPPED_KEYS_VERSION:
        raise WrappedKeysError(f"unsupported wrapped keys version {data['v']!r}")
    try:
        nonce, ciphertext = _check_sealed(data["nonce"], data["ciphertext"])
    except EncodingError as error:
        raise WrappedKeysError(error.message) from None
    return WrappedKeys(nonce, ciphertext)


def _associated_data(purpose: BackupPurpose, tenant: str | None, user: str | None) -> bytes:
    purpose = BackupPurpose(purpose)
    if purpose is BackupPurpose.KEY_FILE:
        # A key file belongs to a person, not to an account: nothing else is bound.
        if tenant is not None or user is not None:
            raise ValueError("a key file is not bound to a tenant or user")
        return canonical_json({"purpose": str(purpose)})
    if not isinstance(tenant, str) or not isinstance(user, str):
        raise ValueError(f"{purpose} needs the tenant and user it belongs to")
    return canonical_json({"purpose": str(purpose), "tenant": tenant, "user": user})


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise KeyFormatError("a wrap key is 32 bytes")


def _identity_plaintext(keys: IdentityKeys) -> bytes:
    return canonical_json(
        {
            "v": WRAPPED_KEYS_VERSION,
            "kind": IDENTITY_KEYS_KIND,
            "sign_seed": b64u_encode(keys.sign_seed),
            "box_secret": b64u_encode(keys.box_secret),
        }
    )


def _seal(plaintext: bytes, key: bytes, associated_data: bytes, nonce: bytes | None) -> WrappedKeys:
    _check_key(key)
    if nonce is None:
        nonce = nacl.utils.random(NONCE_BYTES)
    elif len(nonce) != NONCE_BYTES:
        raise KeyFormatError(f"a nonce is {NONCE_BYTES} bytes")
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, associated_data, nonce, key
    )
    return WrappedKeys(nonce, bytes(ciphertext))


def _open(wrapped: WrappedKeys, key: bytes, associated_data: bytes) -> bytes:
    _check_key(key)
    try:
        plaintext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            wrapped.ciphertext, associated_data, wrapped.nonce, key
        )
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError):
        raise UnwrapError("the keys do not decrypt: wrong key, or tampered") from None
    return bytes(plaintext)


def _parse_identity_plaintext(plaintext: bytes) -> IdentityKeys:
    """The keys inside a sealed object; raises :class:`WrappedKeysError`."""
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WrappedKeysError("the sealed keys are not JSON") from None
    if not isinstance(data, dict) or set(data) != _INNER_FIELDS:
        raise WrappedKeysError("sealed keys have exactly the fields v, kind, sign_seed, box_secret")
    if type(data["v"]) is not int or data["v"] != WRAPPED_KEYS_VERSION:
        raise WrappedKeysError(f"unsupported sealed keys version {data['v']!r}")
    if data["kind"] != IDENTITY_KEYS_KIND:
        raise WrappedKeysError(f"sealed keys must be of kind {IDENTITY_KEYS_KIND!r}")
    try:
        sign_seed = b64u_decode_exact(data["sign_seed"], 32, what="sign_seed")
        box_secret = b64u_decode_exact(data["box_secret"], 32, what="box_secret")
    except EncodingError as error:
        raise WrappedKeysError(error.message) from None
    return IdentityKeys.from_secrets(sign_seed, box_secret)


def wrap_identity_keys(
    keys: IdentityKeys,
    wrap_key: bytes,
    *,
    purpose: BackupPurpose,
    tenant: str | None = None,
    user: str | None = None,
    nonce: bytes | None = None,
) -> WrappedKeys:
    """Seal ``keys`` under ``wrap_key`` for ``purpose``.

    ``tenant`` and ``user`` are required for the two account backups and
    refused for :attr:`BackupPurpose.KEY_FILE` (a ``ValueError``: a caller's
    mistake, not input to refuse). ``nonce`` is for test vectors only; by
    default a random one is drawn.
    """
    associated_data = _associated_data(purpose, tenant, user)
    return _seal(_identity_plaintext(keys), wrap_key, associated_data, nonce)


def unwrap_identity_keys(
    wrapped: WrappedKeys,
    wrap_key: bytes,
    *,
    purpose: BackupPurpose,
    tenant: str | None = None,
    user: str | None = None,
    bundle: IdentityBundle | None = None,
) -> IdentityKeys:
    """Open wrapped keys and, given the owner's ``bundle``, check they are its keys.

    Raises :class:`UnwrapError` for a wrong key or any change to the
    ciphertext, nonce, purpose, tenant or user; :class:`WrappedKeysError` if
    the decrypted keys are malformed; :class:`KeysMismatchError` if they are
    not the keys ``bundle`` publishes.
    """
    associated_data = _associated_data(purpose, tenant, user)
    keys = _parse_identity_plaintext(_open(wrapped, wrap_key, associated_data))
    if bundle is not None:
        check_keys_match(keys, bundle)
    return keys


def check_keys_match(keys: IdentityKeys, bundle: IdentityBundle) -> None:
    """Raise :class:`KeysMismatchError` unless ``bundle`` publishes exactly ``keys``."""
    same_sign = hmac.compare_digest(keys.sign_pub, bundle.sign_pub)
    same_box = hmac.compare_digest(keys.box_pub, bundle.box_pub)
    if not (same_sign and same_box):
        raise KeysMismatchError("the unwrapped keys are not the ones in the identity bundle")


def check_bundle_owner(bundle: IdentityBundle, *, tenant: str, user: str) -> None:
    """Raise :class:`BundleMismatchError` unless ``bundle`` is ``user``'s of ``tenant``."""
    if bundle.tenant != tenant or bundle.user != user:
        raise BundleMismatchError("the identity bundle belongs to another tenant or user")


# --- 5.3 Recovery code ------------------------------------------------------


@dataclass(frozen=True)
class RecoveryCode:
    """A recovery code: shown once as ``text``; ``secret`` is its 20 bytes."""

    text: str = field(repr=False)
    secret: bytes = field(repr=False)


def format_recovery_code(secret: bytes) -> str:
    """20 bytes as 32 Crockford base32 symbols in eight groups of four."""
    if len(secret) != RECOVERY_SECRET_BYTES:
        raise KeyFormatError(f"a recovery secret is {RECOVERY_SECRET_BYTES} bytes")
    number = int.from_bytes(secret, "big")
    symbols = "".join(
        RECOVERY_ALPHABET[(number >> (5 * (RECOVERY_SYMBOLS - 1 - i))) & 0x1F]
        for i in range(RECOVERY_SYMBOLS)
    )
    return "-".join(symbols[i : i + 4] for i in range(0, RECOVERY_SYMBOLS, 4))


def parse_recovery_code(text: str) -> bytes:
    """The 20 bytes of a recovery code as a person may type it.

    Case, ASCII whitespace and dashes are ignored; ``O`` reads as ``0`` and
    ``I``/``L`` as ``1``. Raises :class:`RecoveryCodeError` for any other
    character or a length other than 32 symbols.
    """
    if not isinstance(text, str):
        raise RecoveryCodeError("a recovery code is text")
    number = 0
    count = 0
    for char in text:
        if char in _RECOVERY_SEPARATORS:
            continue
        value = _RECOVERY_DECODE.get(char)
        if value is None:
            raise RecoveryCodeError("a recovery code has only the letters and digits shown")
        number = (number << 5) | value
        count += 1
    if count != RECOVERY_SYMBOLS:
        raise RecoveryCodeError(f"a recovery code has {RECOVERY_SYMBOLS} letters and digits")
    return number.to_bytes(RECOVERY_SECRET_BYTES, "big")


def new_recovery_code() -> RecoveryCode:
    """A fresh random recovery code."""
    secret = nacl.utils.random(RECOVERY_SECRET_BYTES)
    return RecoveryCode(format_recovery_code(secret), secret)


def recovery_keys(secret: bytes) -> PasswordKeys:
    """``recovery_auth_key`` and ``recovery_wrap_key`` for a recovery code's 20 bytes."""
    if len(secret) != RECOVERY_SECRET_BYTES:
        raise KeyFormatError(f"a recovery secret is {RECOVERY_SECRET_BYTES} bytes")
    return PasswordKeys(
        _keyed_hash(secret, _RECOVERY_AUTH_LABEL), _keyed_hash(secret, _RECOVERY_WRAP_LABEL)
    )


# --- 5.4 Key file -----------------------------------------------------------


def _key_file_key(passphrase: str, kdf: KdfParams) -> bytes:
    return _keyed_hash(_master_key(passphrase, kdf), _KEY_FILE_LABEL)


def make_key_file(
    keys: IdentityKeys,
    passphrase: str,
    *,
    kdf: KdfParams | None = None,
    nonce: bytes | None = None,
) -> dict[str, Any]:
    """The JSON of a key file holding ``keys`` under ``passphrase``.

    ``kdf`` and ``nonce`` are for test vectors only; by default both are fresh.
    """
    if kdf is None:
        kdf = new_kdf_params()
    sealed = wrap_identity_keys(
        keys, _key_file_key(passphrase, kdf), purpose=BackupPurpose.KEY_FILE, nonce=nonce
    )
    return {
        "v": KEY_FILE_VERSION,
        "kind": KEY_FILE_KIND,
        "kdf": kdf.to_json(),
        "nonce": b64u_encode(sealed.nonce),
        "ciphertext": b64u_encode(sealed.ciphertext),
    }


def open_key_file(data: object, passphrase: str) -> IdentityKeys:
    """The identity keys in a key file.

    Raises :class:`KeyFileError` for a malformed file (its keys included) and
    :class:`UnwrapError` for a wrong passphrase or a tampered file.
    """
    if not isinstance(data, dict):
        raise KeyFileError("a key file is a JSON object")
    if set(data) != _KEY_FILE_FIELDS:
        raise KeyFileError("a key file has exactly the fields v, kind, kdf, nonce and ciphertext")
    if type(data["v"]) is not int or data["v"] != KEY_FILE_VERSION:
        raise KeyFileError(f"unsupported key file version {data['v']!r}")
    if data["kind"] != KEY_FILE_KIND:
        raise KeyFileError(f"a key file is of kind {KEY_FILE_KIND!r}")
    try:
        kdf = parse_kdf_params(data["kdf"])
        nonce, ciphertext = _check_sealed(data["nonce"], data["ciphertext"])
    except (KdfError, EncodingError) as error:
        raise KeyFileError(error.message) from None
    sealed = WrappedKeys(nonce, ciphertext)
    try:
        return unwrap_identity_keys(
            sealed, _key_file_key(passphrase, kdf), purpose=BackupPurpose.KEY_FILE
        )
    except WrappedKeysError as error:
        raise KeyFileError(error.message) from None


# --- Invites and sealed boxes -----------------------------------------------


def invite_token_hash(token: bytes) -> bytes:
    """SHA-256 of a 32-byte invite token: all the server is told of it."""
    if len(token) != INVITE_TOKEN_BYTES:
        raise KeyFormatError(f"an invite token is {INVITE_TOKEN_BYTES} bytes")
    return hashlib.sha256(token).digest()


def seal_to_box_key(box_pub: bytes, message: str) -> str:
    """``message`` sealed (``crypto_box_seal``) to an X25519 public key, as base64url.

    Anyone can seal; only the holder of the matching secret key can open.
    """
    if len(box_pub) != 32:
        raise KeyFormatError("an X25519 public key is 32 bytes")
    sealed = nacl.bindings.crypto_box_seal(message.encode("utf-8"), box_pub)
    return b64u_encode(bytes(sealed))


def open_sealed(keys: IdentityKeys, sealed: str) -> str:
    """Open a :func:`seal_to_box_key` text with ``keys``' box key.

    Raises :class:`~protocol.errors.EncodingError` for text that is not
    base64url and :class:`UnwrapError` for a box sealed to another key,
    tampered with, or not holding UTF-8 text.
    """
    ciphertext = b64u_decode(sealed)
    try:
        opened = nacl.bindings.crypto_box_seal_open(ciphertext, keys.box_pub, keys.box_secret)
        return bytes(opened).decode("utf-8")
    except (nacl.exceptions.CryptoError, nacl.exceptions.ValueError, UnicodeDecodeError):
        raise UnwrapError("the sealed box does not open with this key") from None
