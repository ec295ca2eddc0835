/**
 * One exception hierarchy for everything the protocol refuses
 * (mirrors `protocol/errors.py`).
 *
 * Each error carries a stable `code`: the Python reference raises the same
 * codes, and the shared test vectors name the code every invalid case must
 * produce.
 */

/** The stable codes of {@link ChainError} (PROTOCOL.md §6.4). */
export type ChainErrorCode =
  | "malformed_link"
  | "wrong_tenant"
  | "seq_gap"
  | "wrong_prev"
  | "ts_backwards"
  | "clock_skew"
  | "bad_signature"
  | "duplicate_genesis"
  | "genesis_required"
  | "unauthorized"
  | "policy_forbids"
  | "invite_invalid"
  | "invite_used"
  | "invite_expired"
  | "already_member"
  | "not_member"
  | "key_in_use"
  | "last_owner"
  | "rotation_not_signed_by_old_key"
  | "room_exists"
  | "room_unknown"
  | "already_in_room"
  | "not_in_room"
  | "bundle_mismatch";

/** The stable codes of {@link EnvelopeError} (PROTOCOL.md §7.3-7.4). */
export type EnvelopeErrorCode =
  | "malformed_envelope"
  | "bad_signature"
  | "decrypt_failed"
  | "bad_padding"
  | "malformed_content";

/** The stable codes of {@link EpochError} (PROTOCOL.md §7.1-7.2). */
export type EpochErrorCode =
  | "malformed_epoch"
  | "malformed_share"
  | "bad_signature"
  | "not_sealed_to_you"
  | "wrong_epoch"
  | "decrypt_failed"
  | "key_check_mismatch"
  /** Client side: a record or share the verified chain does not back (§7.1). */
  | "not_backed_by_chain";

/** The stable codes of {@link FileStreamError} (PROTOCOL.md §8.1). */
export type FileStreamErrorCode =
  | "file_truncated"
  | "file_corrupt"
  | "file_trailing_data"
  | "file_size_mismatch";

/** The stable codes of {@link ProtocolError} and its subclasses. */
export type ProtocolErrorCode =
  | ChainErrorCode
  | EnvelopeErrorCode
  | EpochErrorCode
  | FileStreamErrorCode
  | "protocol_error"
  | "bad_base64url"
  | "non_canonical_json_value"
  | "bad_key"
  | "bad_signature"
  | "malformed_bundle"
  | "bundle_mismatch"
  | "invalid_kdf"
  | "bad_password"
  | "malformed_wrapped_keys"
  | "unwrap_failed"
  | "keys_mismatch"
  | "bad_recovery_code"
  | "malformed_key_file"
  | PgpErrorCode;

/**
 * The stable codes of {@link PgpError}. All but `bad_pgp_key` are the
 * server's codes for a genesis anchor (`rooms/pgp_anchor.py`, PROTOCOL.md §6.5).
 */
export type PgpErrorCode =
  | "bad_pgp_key"
  | "pgp_not_in_genesis"
  | "pgp_key_revoked"
  | "pgp_key_expired"
  | "bad_pgp_signature"
  | "wrong_statement";

/** Base class: input that the protocol rules refuse. */
export class ProtocolError extends Error {
  /** Stable, machine-readable reason; identical to the Python class's `code`. */
  readonly code: ProtocolErrorCode;

  constructor(message: string, code: ProtocolErrorCode = "protocol_error") {
    super(message);
    this.code = code;
    // Set explicitly: class names do not survive minification.
    this.name = "ProtocolError";
  }
}

/** Bytes or text that are not in the one canonical encoding. */
export class EncodingError extends ProtocolError {
  constructor(message: string) {
    super(message, "bad_base64url");
    this.name = "EncodingError";
  }
}

/** A value that has no RFC 8785 form under PiPo's rules. */
export class CanonicalJsonError extends ProtocolError {
  constructor(message: string) {
    super(message, "non_canonical_json_value");
    this.name = "CanonicalJsonError";
  }
}

/** A key of the wrong size or shape. */
export class KeyFormatError extends ProtocolError {
  constructor(message: string) {
    super(message, "bad_key");
    this.name = "KeyFormatError";
  }
}

/** A signature that does not verify. */
export class SignatureError extends ProtocolError {
  constructor(message: string) {
    super(message, "bad_signature");
    this.name = "SignatureError";
  }
}

/** An identity bundle that is malformed (its signature is checked separately). */
export class BundleError extends ProtocolError {
  constructor(message: string) {
    super(message, "malformed_bundle");
    this.name = "BundleError";
  }
}

/** A valid identity bundle of another tenant or user than the one expected. */
export class BundleMismatchError extends ProtocolError {
  constructor(message: string) {
    super(message, "bundle_mismatch");
    this.name = "BundleMismatchError";
  }
}

/** Password-hashing parameters outside what PiPo accepts. */
export class KdfError extends ProtocolError {
  constructor(message: string) {
    super(message, "invalid_kdf");
    this.name = "KdfError";
  }
}

/** A password that is too short, too long or not well-formed Unicode. */
export class PasswordError extends ProtocolError {
  constructor(message: string) {
    super(message, "bad_password");
    this.name = "PasswordError";
  }
}

/** A key backup, or the keys inside it, that is malformed. */
export class WrappedKeysError extends ProtocolError {
  constructor(message: string) {
    super(message, "malformed_wrapped_keys");
    this.name = "WrappedKeysError";
  }
}

/** A key backup, key file or sealed box that does not decrypt: wrong key, or tampered. */
export class UnwrapError extends ProtocolError {
  constructor(message: string) {
    super(message, "unwrap_failed");
    this.name = "UnwrapError";
  }
}

/** Unwrapped keys that are not the ones the identity bundle publishes. */
export class KeysMismatchError extends ProtocolError {
  constructor(message: string) {
    super(message, "keys_mismatch");
    this.name = "KeysMismatchError";
  }
}

/** Text that is not a recovery code. */
export class RecoveryCodeError extends ProtocolError {
  constructor(message: string) {
    super(message, "bad_recovery_code");
    this.name = "RecoveryCodeError";
  }
}

/** A key file that is malformed (a wrong passphrase is an {@link UnwrapError}). */
export class KeyFileError extends ProtocolError {
  constructor(message: string) {
    super(message, "malformed_key_file");
    this.name = "KeyFileError";
  }
}

/**
 * An OpenPGP key or signature that PiPo refuses: a key to encrypt to that is
 * unreadable, private, revoked, expired or without an encryption subkey
 * (`bad_pgp_key`), or a genesis anchor that does not hold (the codes of
 * `rooms/pgp_anchor.py`'s `AnchorError`).
 */
export class PgpError extends ProtocolError {
  declare readonly code: PgpErrorCode;
  /** The lower-case hex fingerprint of the key concerned, where it could be read. */
  readonly fingerprint: string | undefined;

  constructor(message: string, code: PgpErrorCode = "bad_pgp_key", fingerprint?: string) {
    super(message, code);
    this.fingerprint = fingerprint;
    this.name = "PgpError";
  }
}

/**
 * A trust-chain link that is malformed or not allowed at its place in the
 * chain. Unlike the other errors the code varies per instance (one of
 * {@link ChainErrorCode}); `at` is the failing link's index in the input of
 * `verifyChain`, where it is known.
 */
export class ChainError extends ProtocolError {
  declare readonly code: ChainErrorCode;
  /** Index of the refused link in what `verifyChain` was given. */
  at: number | undefined;

  constructor(code: ChainErrorCode, message: string, at?: number) {
    super(message, code);
    this.at = at;
    this.name = "ChainError";
  }
}

/**
 * A message envelope, its padding or its content that PiPo refuses
 * (PROTOCOL.md §7.3-7.4). The code varies per instance (one of
 * {@link EnvelopeErrorCode}).
 */
export class EnvelopeError extends ProtocolError {
  declare readonly code: EnvelopeErrorCode;

  constructor(code: EnvelopeErrorCode, message: string) {
    super(message, code);
    this.name = "EnvelopeError";
  }
}

/**
 * An epoch record or epoch share that PiPo refuses (PROTOCOL.md §7.1-7.2).
 * The code varies per instance (one of {@link EpochErrorCode}).
 */
export class EpochError extends ProtocolError {
  declare readonly code: EpochErrorCode;

  constructor(code: EpochErrorCode, message: string) {
    super(message, code);
    this.name = "EpochError";
  }
}

/**
 * An encrypted file stream that does not decrypt to the announced file
 * (PROTOCOL.md §8.1). The code varies per instance (one of
 * {@link FileStreamErrorCode}); `chunk` is the index of the chunk concerned,
 * or null where no chunk is (a stream shorter than its header, bytes after
 * the end).
 */
export class FileStreamError extends ProtocolError {
  declare readonly code: FileStreamErrorCode;
  readonly chunk: number | null;

  constructor(code: FileStreamErrorCode, message: string, chunk: number | null = null) {
    super(message, code);
    this.chunk = chunk;
    this.name = "FileStreamError";
  }
}
