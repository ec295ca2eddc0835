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


class BundleMismatchError(ProtocolError):
    """A valid identity bundle of another tenant or user than the one expected."""

    code = "bundle_mismatch"


class KdfError(ProtocolError):
    """Password-hashing parameters outside what PiPo accepts."""

    code = "invalid_kdf"


class PasswordError(ProtocolError):
    """A password that is too short, too long or not well-formed Unicode."""

    code = "bad_password"


class WrappedKeysError(ProtocolError):
    """A key backup, or the keys inside it, that is malformed."""

    code = "malformed_wrapped_keys"


class UnwrapError(ProtocolError):
    """A key backup, key file or sealed box that does not decrypt: wrong key, or tampered."""

    code = "unwrap_failed"


class KeysMismatchError(ProtocolError):
    """Unwrapped keys that are not the ones the identity bundle publishes."""

    code = "keys_mismatch"


class RecoveryCodeError(ProtocolError):
    """Text that is not a recovery code."""

    code = "bad_recovery_code"


class KeyFileError(ProtocolError):
    """A key file that is malformed (a wrong passphrase is an :class:`UnwrapError`)."""

    code = "malformed_key_file"


class ChainError(ProtocolError):
    """A trust-chain link that is malformed or not allowed at its place in the chain.

    Unlike the other errors, the code is set per instance (PROTOCOL.md §6.4 lists
    them); ``at`` is the failing link's position in the input of
    :func:`~protocol.chain.verify_chain`, where it is known.
    """

    code = "malformed_link"

    def __init__(self, code: str, message: str, *, at: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.at = at


class EnvelopeError(ProtocolError):
    """A message envelope, its padding or its content that PiPo refuses (PROTOCOL.md §7.3-7.4).

    The code is set per instance: ``malformed_envelope``, ``bad_signature``,
    ``decrypt_failed``, ``bad_padding`` or ``malformed_content``.
    """

    code = "malformed_envelope"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class EpochError(ProtocolError):
    """An epoch record or epoch share that PiPo refuses (PROTOCOL.md §7.1-7.2).

    The code is set per instance: ``malformed_epoch``, ``malformed_share``,
    ``bad_signature``, ``not_sealed_to_you``, ``decrypt_failed``,
    ``key_check_mismatch`` or ``wrong_epoch``.
    """

    code = "malformed_epoch"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FileStreamError(ProtocolError):
    """An encrypted file stream that does not decrypt to the announced file (PROTOCOL.md §8.1).

    The code is set per instance: ``file_truncated``, ``file_corrupt``,
    ``file_trailing_data`` or ``file_size_mismatch``; ``chunk`` is the index of
    the chunk concerned, or None where no chunk is (a stream shorter than its
    header, bytes after the end).
    """

    code = "file_corrupt"

    def __init__(self, code: str, message: str, *, chunk: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.chunk = chunk
