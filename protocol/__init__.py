"""PiPo's wire formats and cryptographic rules, in pure Python (no Django).

This package is the one source of truth for what is valid. The server, the
Python client and the test-vector generator import it; the browser mirrors it
in ``frontend/src/protocol`` and both pass the vectors in ``tests/vectors``.
Verification raises a :class:`ProtocolError` subclass; it never returns False.
"""

from protocol.encoding import b64u_decode, b64u_encode, canonical_json
from protocol.errors import (
    BundleError,
    CanonicalJsonError,
    EncodingError,
    KeyFormatError,
    ProtocolError,
    SignatureError,
)
from protocol.identity import (
    IdentityBundle,
    IdentityKeys,
    fingerprint,
    make_identity_bundle,
    parse_identity_bundle,
)
from protocol.safety_code import SAFETY_SYMBOLS, SafetySymbol, safety_code
from protocol.signing import SignatureTag, sign, verify

__all__ = [
    "SAFETY_SYMBOLS",
    "BundleError",
    "CanonicalJsonError",
    "EncodingError",
    "IdentityBundle",
    "IdentityKeys",
    "KeyFormatError",
    "ProtocolError",
    "SafetySymbol",
    "SignatureError",
    "SignatureTag",
    "b64u_decode",
    "b64u_encode",
    "canonical_json",
    "fingerprint",
    "make_identity_bundle",
    "parse_identity_bundle",
    "safety_code",
    "sign",
    "verify",
]
