"""Identity keys and the self-signed identity bundle (ARCHITECTURE.md §4).

A person's identity is an Ed25519 signing key and an X25519 box key, made in
their browser. The bundle publishes the two public keys for one user of one
tenant and is signed by the signing key itself, so the server cannot alter a
field without the change being detected.
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings
import nacl.utils

from protocol.encoding import MAX_SAFE_INTEGER, b64u_decode_exact, b64u_encode, canonical_json
from protocol.errors import BundleError, EncodingError, KeyFormatError
from protocol.signing import SignatureTag, sign, sign_public_key, verify

BUNDLE_VERSION = 1
BOX_SECRET_BYTES = 32
TENANT_SLUG_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_BUNDLE_FIELDS = frozenset({"v", "tenant", "user", "sign_pub", "box_pub", "created", "sig"})


@dataclass(frozen=True)
class IdentityKeys:
    """A person's two key pairs. The secret halves never leave the client."""

    sign_seed: bytes = field(repr=False)
    box_secret: bytes = field(repr=False)
    sign_pub: bytes
    box_pub: bytes

    @classmethod
    def from_secrets(cls, sign_seed: bytes, box_secret: bytes) -> "IdentityKeys":
        if len(box_secret) != BOX_SECRET_BYTES:
            raise KeyFormatError("an X25519 secret key is 32 bytes")
        box_pub = bytes(nacl.bindings.crypto_scalarmult_base(box_secret))
        return cls(sign_seed, box_secret, sign_public_key(sign_seed), box_pub)

    @classmethod
    def generate(cls) -> "IdentityKeys":
        return cls.from_secrets(nacl.utils.random(32), nacl.utils.random(BOX_SECRET_BYTES))


@dataclass(frozen=True)
class IdentityBundle:
    """A verified identity bundle. Only :func:`parse_identity_bundle` and
    :func:`make_identity_bundle` should construct one."""

    tenant: str
    user: str
    sign_pub: bytes
    box_pub: bytes
    created: int
    sig: bytes
    v: int = BUNDLE_VERSION

    def unsigned_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "tenant": self.tenant,
            "user": self.user,
            "sign_pub": b64u_encode(self.sign_pub),
            "box_pub": b64u_encode(self.box_pub),
            "created": self.created,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.unsigned_json(), "sig": b64u_encode(self.sig)}

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.sign_pub)


def fingerprint(sign_pub: bytes) -> bytes:
    """SHA-256 of an Ed25519 public key: what people compare to trust a key."""
    if len(sign_pub) != 32:
        raise KeyFormatError("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(sign_pub).digest()


def _check_unsigned_fields(tenant: object, user: object, created: object) -> None:
    if not isinstance(tenant, str) or TENANT_SLUG_PATTERN.fullmatch(tenant) is None:
        raise BundleError("tenant must be a slug: a-z, 0-9 and '-', at most 63 characters")
    if not isinstance(user, str) or USERNAME_PATTERN.fullmatch(user) is None:
        raise BundleError(
            "user must be 1-64 characters of a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    if type(created) is not int or not 0 <= created <= MAX_SAFE_INTEGER:
        raise BundleError("created must be a non-negative integer (Unix milliseconds)")


def make_identity_bundle(
    keys: IdentityKeys, *, tenant: str, user: str, created: int
) -> IdentityBundle:
    """Make and self-sign the bundle that publishes ``keys`` for ``user``."""
    _check_unsigned_fields(tenant, user, created)
    draft = IdentityBundle(tenant, user, keys.sign_pub, keys.box_pub, created, sig=b"")
    sig = sign(SignatureTag.IDENTITY, canonical_json(draft.unsigned_json()), keys.sign_seed)
    return IdentityBundle(tenant, user, keys.sign_pub, keys.box_pub, created, sig)


def parse_identity_bundle(data: object) -> IdentityBundle:
    """Validate the wire form of a bundle and verify its self-signature.

    Raises :class:`BundleError` for a malformed bundle and
    :class:`~protocol.errors.SignatureError` for one whose signature fails.
    """
    if not isinstance(data, dict):
        raise BundleError("an identity bundle is a JSON object")
    keys = set(data)
    if keys != _BUNDLE_FIELDS:
        missing = sorted(_BUNDLE_FIELDS - keys)
        extra = sorted(str(key) for key in keys - _BUNDLE_FIELDS)
        raise BundleError(f"identity bundle fields: missing {missing}, unexpected {extra}")
    if type(data["v"]) is not int or data["v"] != BUNDLE_VERSION:
        raise BundleError(f"unsupported identity bundle version {data['v']!r}")
    _check_unsigned_fields(data["tenant"], data["user"], data["created"])
    try:
        sign_pub = b64u_decode_exact(data["sign_pub"], 32, what="sign_pub")
        box_pub = b64u_decode_exact(data["box_pub"], 32, what="box_pub")
        sig = b64u_decode_exact(data["sig"], 64, what="sig")
    except EncodingError as error:
        raise BundleError(error.message) from None
    bundle = IdentityBundle(data["tenant"], data["user"], sign_pub, box_pub, data["created"], sig)
    verify(SignatureTag.IDENTITY, canonical_json(bundle.unsigned_json()), sig, sign_pub)
    return bundle
