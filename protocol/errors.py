"""One exception hierarchy for everything the protocol refuses.

Each error carries a stable ``code``: the TypeScript mirror raises the same
codes, and the test vectors name the code every invalid case must produce.
"""


class ProtocolError(Exception):
    """Base class: input that the protocol rules refuse."""

    code = "protocol_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EncodingError(ProtocolError):
    """Bytes or text that are not in the one canonical encoding."""

    code = "bad_base64url"


class CanonicalJsonError(ProtocolError):
    """A value that has no RFC 8785 form under PiPo's rules."""

    code = "non_canonical_json_value"


class KeyFormatError(ProtocolError):
    """A key of the wrong size or shape."""

    code = "bad_key"


class SignatureError(ProtocolError):
    """A signature that does not verify."""

    code = "bad_signature"


class BundleError(ProtocolError):
    """An identity bundle that is malformed (its signature is checked separately)."""

    code = "malformed_bundle"
