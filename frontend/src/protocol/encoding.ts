/**
 * Canonical encodings: unpadded base64url and RFC 8785 (JCS) JSON
 * (mirrors `protocol/encoding.py`).
 *
 * Every byte string in a signed or hashed object is unpadded base64url, and
 * decoding is strict (one text per byte string), so a signature can never be
 * replayed under a second spelling of the same bytes. JSON values are limited
 * to what both Python and JavaScript represent exactly: no floats, integers in
 * the IEEE-754 safe range only.
 */

import canonicalize from "canonicalize";
import { CanonicalJsonError, EncodingError } from "./errors";

/** 2^53 - 1: the largest integer both Python and JavaScript hold exactly. */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64U_PATTERN = /^[A-Za-z0-9_-]*$/;
const DECODE_TABLE: ReadonlyMap<string, number> = new Map(
  Array.from(ALPHABET, (char, index) => [char, index] as const),
);

/** Encode bytes as base64url without padding. */
export function b64uEncode(data: Uint8Array): string {
  let text = "";
  let index = 0;
  for (; index + 2 < data.length; index += 3) {
    const n = ((data[index] ?? 0) << 16) | ((data[index + 1] ?? 0) << 8) | (data[index + 2] ?? 0);
    text += sextet(n >> 18) + sextet(n >> 12) + sextet(n >> 6) + sextet(n);
  }
  const rest = data.length - index;
  if (rest === 1) {
    const n = (data[index] ?? 0) << 16;
    text += sextet(n >> 18) + sextet(n >> 12);
  } else if (rest === 2) {
    const n = ((data[index] ?? 0) << 16) | ((data[index + 1] ?? 0) << 8);
    text += sextet(n >> 18) + sextet(n >> 12) + sextet(n >> 6);
  }
  return text;
}

function sextet(n: number): string {
  return ALPHABET.charAt(n & 0x3f);
}

/**
 * Decode strict unpadded base64url: only `A-Z a-z 0-9 - _`, no padding, no
 * whitespace, and zero trailing bits (re-encoding gives back the input).
 *
 * @throws {@link EncodingError} for any other text.
 */
export function b64uDecode(text: string): Uint8Array {
  if (typeof text !== "string" || !B64U_PATTERN.test(text)) {
    throw new EncodingError("base64url text may contain only A-Z a-z 0-9 - _ (no padding)");
  }
  if (text.length % 4 === 1) {
    throw new EncodingError("base64url text has an impossible length");
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let position = 0;
  for (const char of text) {
    buffer = ((buffer << 6) | (DECODE_TABLE.get(char) ?? 0)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[position++] = (buffer >> bits) & 0xff;
    }
  }
  if (b64uEncode(out) !== text) {
    throw new EncodingError("base64url text has non-zero trailing bits");
  }
  return out;
}

/**
 * Decode base64url that must hold exactly `length` bytes.
 *
 * @param what - names the field in the error message.
 * @throws {@link EncodingError} if `text` is not a string, not strict
 *   base64url, or decodes to another length.
 */
export function b64uDecodeExact(text: unknown, length: number, what: string): Uint8Array {
  if (typeof text !== "string") {
    throw new EncodingError(`${what} must be a base64url string`);
  }
  const data = b64uDecode(text);
  if (data.length !== length) {
    throw new EncodingError(`${what} must be ${length} bytes, got ${data.length}`);
  }
  return data;
}

/** The JSON values {@link canonicalJson} accepts (numbers must be safe integers). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** @internal True for `{...}` objects (as JSON.parse makes), not arrays, Maps, Dates or class instances. */
export function isPlainObject(value: object): value is Record<string, unknown> {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkString(text: string, path: string): void {
  if (!text.isWellFormed()) {
    throw new CanonicalJsonError(`${path}: string is not well-formed Unicode`);
  }
}

function checkValue(value: unknown, path: string, ancestors: Set<object>): void {
  if (value === null || typeof value === "boolean") {
    return;
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new CanonicalJsonError(`${path}: non-integer numbers are not allowed`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new CanonicalJsonError(`${path}: integer outside the safe range ±(2^53-1)`);
    }
    return;
  }
  if (typeof value === "string") {
    checkString(value, path);
    return;
  }
  if (typeof value === "object") {
    if (ancestors.has(value)) {
      throw new CanonicalJsonError(`${path}: circular reference`);
    }
    ancestors.add(value);
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        if (!Object.hasOwn(value, index)) {
          throw new CanonicalJsonError(`${path}[${index}]: sparse arrays are not JSON`);
        }
        checkValue(value[index], `${path}[${index}]`, ancestors);
      }
    } else if (isPlainObject(value)) {
      if (Object.getOwnPropertySymbols(value).length > 0) {
        throw new CanonicalJsonError(`${path}: object keys must be strings`);
      }
      for (const [key, item] of Object.entries(value)) {
        checkString(key, path);
        checkValue(item, `${path}.${key}`, ancestors);
      }
    } else {
      throw new CanonicalJsonError(`${path}: ${value.constructor?.name ?? "object"} is not a JSON value`);
    }
    ancestors.delete(value);
    return;
  }
  throw new CanonicalJsonError(`${path}: ${typeof value} is not a JSON value`);
}

/**
 * Serialize `value` as RFC 8785 canonical JSON (UTF-8 bytes).
 *
 * Accepts only null, booleans, safe integers, well-formed strings, arrays and
 * plain objects, exactly like the Python `canonical_json`.
 *
 * @throws {@link CanonicalJsonError} for anything else.
 */
export function canonicalJson(value: unknown): Uint8Array {
  checkValue(value, "$", new Set());
  const text = canonicalize(value);
  if (text === undefined) {
    // Unreachable after checkValue; kept so the type is a plain string.
    throw new CanonicalJsonError("$: value has no JSON form");
  }
  return new TextEncoder().encode(text);
}
