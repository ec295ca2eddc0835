/**
 * One exception hierarchy for everything the protocol refuses
 * (mirrors `protocol/errors.py`).
 *
 * Each error carries a stable `code`: the Python reference raises the same
 * codes, and the shared test vectors name the code every invalid case must
 * produce.
 */

/** The stable codes of {@link ProtocolError} and its subclasses. */
export type ProtocolErrorCode =
  | "protocol_error"
  | "bad_base64url"
  | "non_canonical_json_value"
  | "bad_key"
  | "bad_signature"
  | "malformed_bundle";

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
