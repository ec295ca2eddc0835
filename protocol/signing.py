"""Domain-separated Ed25519 signatures.

Every signature covers ``tag || 0x00 || message``, where the tag names what is
being signed and its version, so a signature made for one purpose can never
be presented as valid for another.
"""

import re
from enum import StrEnum

import nacl.bindings
import nacl.exceptions

from protocol.errors import KeyFormatError, SignatureError

SIGN_SEED_BYTES = 32
SIGN_PUBLIC_BYTES = 32
SIGNATURE_BYTES = 64
_TAG_PATTERN = re.compile(r"pipo/[a-z0-9_/-]+/v[0-9]+")


class SignatureTag(StrEnum):
    """Every context PiPo signs in. A new context gets a new tag."""

    IDENTITY = "pipo/identity/v1"
    MESSAGE = "pipo/msg/v1"
    LINK = "pipo/link/v1"
    EPOCH = "pipo/epoch/v1"
    EPOCH_SHARE = "pipo/epoch-share/v1"
    TEST = "pipo/test/v1"


def signing_input(tag: str, message: bytes) -> bytes:
    """The exact bytes an Ed25519 signature covers."""
    if _TAG_PATTERN.fullmatch(tag) is None:
        raise SignatureError(f"invalid signature tag {tag!r}")
    return tag.encode("ascii") + b"\x00" + message


def sign_public_key(seed: bytes) -> bytes:
    """The Ed25519 public key for a 32-byte seed."""
    if len(seed) != SIGN_SEED_BYTES:
        raise KeyFormatError("an Ed25519 seed is 32 bytes")
    public, _secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    return bytes(public)


def sign(tag: str, message: bytes, seed: bytes) -> bytes:
    """Sign ``message`` in the context ``tag`` with the key made from ``seed``."""
    if len(seed) != SIGN_SEED_BYTES:
        raise KeyFormatError("an Ed25519 seed is 32 bytes")
    _public, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    signed = nacl.bindings.crypto_sign(signing_input(tag, message), secret)
    return bytes(signed[:SIGNATURE_BYTES])


def verify(tag: str, message: bytes, signature: bytes, public_key: bytes) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is valid; return nothing."""
    if len(public_key) != SIGN_PUBLIC_BYTES:
        raise KeyFormatError("an Ed25519 public key is 32 bytes")
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureError("an Ed25519 signature is 64 bytes")
    try:
        nacl.bindings.crypto_sign_open(signature + signing_input(tag, message), public_key)
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError):
        raise SignatureError("signature does not verify") from None
