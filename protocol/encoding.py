"""Canonical encodings: unpadded base64url and RFC 8785 (JCS) JSON.

Every byte string in a signed or hashed object is unpadded base64url, and
decoding is strict (one text per byte string), so a signature can never be
replayed under a second spelling of the same bytes. JSON values are limited
to what both Python and JavaScript represent exactly: no floats, integers in
the IEEE-754 safe range only.
"""

import base64
import re
from typing import Any

import rfc8785

from protocol.errors import CanonicalJsonError, EncodingError

MAX_SAFE_INTEGER = 2**53 - 1
_B64U_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64u_encode(data: bytes) -> str:
    """Encode bytes as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Decode strict unpadded base64url: no padding, no whitespace, zero trailing bits."""
    if not isinstance(text, str) or _B64U_ALPHABET.fullmatch(text) is None:
        raise EncodingError("base64url text may contain only A-Z a-z 0-9 - _ (no padding)")
    if len(text) % 4 == 1:
        raise EncodingError("base64url text has an impossible length")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u_encode(data) != text:
        raise EncodingError("base64url text has non-zero trailing bits")
    return data


def b64u_decode_exact(text: object, length: int, *, what: str) -> bytes:
    """Decode base64url that must hold exactly ``length`` bytes."""
    if not isinstance(text, str):
        raise EncodingError(f"{what} must be a base64url string")
    data = b64u_decode(text)
    if len(data) != length:
        raise EncodingError(f"{what} must be {length} bytes, got {len(data)}")
    return data


def _check_value(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalJsonError(f"{path}: integer outside the safe range ±(2^53-1)")
        return
    if isinstance(value, float):
        raise CanonicalJsonError(f"{path}: non-integer numbers are not allowed")
    if isinstance(value, str):
        _check_string(value, path)
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(f"{path}: object keys must be strings")
            _check_string(key, path)
            _check_value(item, f"{path}.{key}")
        return
    raise CanonicalJsonError(f"{path}: {type(value).__name__} is not a JSON value")


def _check_string(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalJsonError(f"{path}: string is not well-formed Unicode") from None


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` as RFC 8785 canonical JSON (UTF-8 bytes)."""
    _check_value(value, "$")
    encoded: bytes = rfc8785.dumps(value)
    return encoded
