/**
 * Message envelopes: what a room's messages look like on the wire
 * (PROTOCOL.md §7.3-7.4; mirrors `protocol/envelope.py`).
 *
 * An envelope is a signed, encrypted message. Its header (`v` … `ts`) is in
 * the clear and is the associated data of the XChaCha20-Poly1305 ciphertext;
 * the ciphertext holds the padded canonical JSON of the content. The sender
 * signs the header, nonce and ciphertext with their chain key.
 *
 * A receiver checks, in this order (so both implementations name the same
 * code for an envelope with several faults): {@link parseEnvelope}
 * (`malformed_envelope`), {@link verifyEnvelope} (`bad_signature`), then
 * {@link openEnvelope} (`decrypt_failed`, `bad_padding`, `malformed_content`).
 * Both implementations pass `tests/vectors/rooms/envelopes.json`.
 */

import {
  b64uDecode,
  b64uDecodeExact,
  b64uEncode,
  canonicalJson,
  isPlainObject,
  type JsonValue,
} from "./encoding";
import { CanonicalJsonError, EncodingError, EnvelopeError, KeyFormatError, SignatureError } from "./errors";
import { FILE_KEY_BYTES } from "./fileStream";
import { TENANT_SLUG_PATTERN, USERNAME_PATTERN } from "./identity";
import { SIGNATURE_BYTES, SignatureTag, sign, verify } from "./signing";
import { lib } from "./sodium";

export const ENVELOPE_VERSION = 1;
export const EPOCH_KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;
/** 256, 512, … 65,536: the lengths padded content may have. */
export const PAD_BUCKETS: readonly number[] = Array.from({ length: 9 }, (_, index) => 2 ** (index + 8));
/** The largest content: the 0x80 must fit into the largest bucket too. */
export const MAX_CONTENT_BYTES = 65_535;
export const MIN_CIPHERTEXT_BYTES = 256 + AEAD_TAG_BYTES;
export const MAX_CIPHERTEXT_BYTES = 65_536 + AEAD_TAG_BYTES;
export const MAX_TEXT_CHARS = 16_000;
export const MAX_EMOJI_CHARS = 64;
export const MAX_CONTENT_DEPTH = 32;
export const MAX_FILE_NAME_CHARS = 255;
export const MAX_FILE_TYPE_CHARS = 255;
/** The image types a `file` content's thumbnail may have (§8.2). */
export const THUMBNAIL_TYPES: readonly string[] = ["image/jpeg", "image/png", "image/webp"];
export const MAX_THUMBNAIL_SIDE = 1024;
export const MAX_THUMBNAIL_BYTES = 49_152;
const KIND_PATTERN = /^[a-z_]{1,32}$/;
const MESSAGE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A room id: a lower-case UUID of any version (as in the chain, §6.2). */
export const ROOM_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ENVELOPE_FIELDS: readonly string[] = [
  "v",
  "tenant",
  "room",
  "epoch",
  "id",
  "sender",
  "ts",
  "nonce",
  "ciphertext",
  "sig",
];
/** kind -> [required fields, optional fields], "kind" included. */
const CONTENT_FIELDS: ReadonlyMap<string, readonly [readonly string[], readonly string[]]> = new Map([
  ["text", [["kind", "text"], ["parent"]]],
  ["edit", [["kind", "target", "text"], []]],
  ["delete", [["kind", "target"], []]],
  ["reaction", [["kind", "target", "emoji", "on"], []]],
  [
    "file",
    [
      ["kind", "file", "key", "name", "type", "size"],
      ["thumbnail", "parent"],
    ],
  ],
]);
const THUMBNAIL_FIELDS: readonly string[] = ["type", "width", "height", "data"];
const MAX_CIPHERTEXT_TEXT = Math.ceil((MAX_CIPHERTEXT_BYTES * 4) / 3);

/** A decrypted content: an object with a `kind` (the known kinds are checked in full). */
export type Content = { kind: string; [key: string]: JsonValue };

/** `{"kind": "text", "text", "parent"?}`: a message, or a thread reply to `parent`. */
export interface TextContent {
  kind: "text";
  text: string;
  parent?: string;
}

/** `{"kind": "edit", "target", "text"}`: new text for the sender's own message. */
export interface EditContent {
  kind: "edit";
  target: string;
  text: string;
}

/** `{"kind": "delete", "target"}`: the sender's own message withdrawn. */
export interface DeleteContent {
  kind: "delete";
  target: string;
}

/** `{"kind": "reaction", "target", "emoji", "on"}`: a reaction added or taken back. */
export interface ReactionContent {
  kind: "reaction";
  target: string;
  emoji: string;
  on: boolean;
}

/** A `file` content's inline preview (§8.2), made by the sender's browser. */
export interface FileThumbnail {
  type: "image/jpeg" | "image/png" | "image/webp";
  /** 1-1,024 pixels. */
  width: number;
  /** 1-1,024 pixels. */
  height: number;
  /** The image, 1-49,152 bytes as unpadded base64url. */
  data: string;
}

/**
 * `{"kind": "file", "file", "key", "name", "type", "size", "thumbnail"?,
 * "parent"?}` (§8.2): an uploaded encrypted file, read with
 * `FileDecryptor` (fileStream.ts) from `key` and `size`.
 */
export interface FileContent {
  kind: "file";
  /** The upload's id (a lower-case UUID): `GET /api/files/<file>`. */
  file: string;
  /** The file key: 32 bytes as unpadded base64url. */
  key: string;
  /** 1-255 characters, no control characters; never use it as a path. */
  name: string;
  /** A MIME type of 0-255 characters (empty: unknown). */
  type: string;
  /** The plaintext size in bytes. */
  size: number;
  thumbnail?: FileThumbnail;
  /** A file posted in a thread. */
  parent?: string;
}

function malformed(message: string): EnvelopeError {
  return new EnvelopeError("malformed_envelope", message);
}

function badContent(message: string): EnvelopeError {
  return new EnvelopeError("malformed_content", message);
}

// --- Message ids --------------------------------------------------------------------

/** A fresh UUIDv7 (RFC 9562) in lower case: 48 bits of Unix ms, then random bits. */
export function newMessageId(nowMs: number = Date.now()): string {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs >= 2 ** 48) {
    throw new RangeError("nowMs must be a non-negative integer below 2^48");
  }
  const data = new Uint8Array(16);
  data.set(lib().randombytes_buf(10), 6);
  let time = nowMs;
  for (let index = 5; index >= 0; index--) {
    data[index] = time % 256;
    time = Math.floor(time / 256);
  }
  data[6] = 0x70 | ((data[6] ?? 0) & 0x0f);
  data[8] = 0x80 | ((data[8] ?? 0) & 0x3f);
  const hex = Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** True for a UUIDv7 in canonical lower-case form (version 7, variant `10`). */
export function isMessageId(text: unknown): text is string {
  return typeof text === "string" && MESSAGE_ID_PATTERN.test(text);
}

// --- Content and padding ------------------------------------------------------------

/** True if objects and arrays nest more than MAX_CONTENT_DEPTH levels (the content is 1). */
function tooDeep(value: unknown): boolean {
  let level: unknown[] = [value];
  for (let depth = 0; depth < MAX_CONTENT_DEPTH; depth++) {
    const below: unknown[] = [];
    for (const item of level) {
      if (Array.isArray(item)) {
        below.push(...item);
      } else if (typeof item === "object" && item !== null) {
        below.push(...Object.values(item));
      }
    }
    level = below.filter((item) => typeof item === "object" && item !== null);
    if (level.length === 0) {
      return false;
    }
  }
  return true;
}

/** The number of Unicode code points (a surrogate pair counts once). */
function codePoints(text: string): number {
  let count = 0;
  for (const _char of text) {
    count++;
  }
  return count;
}

function chars(value: unknown, low: number, high: number, what: string): void {
  if (typeof value !== "string") {
    throw badContent(`${what} must be a string of ${low} to ${high} characters`);
  }
  const count = codePoints(value);
  if (count < low || count > high) {
    throw badContent(`${what} must be a string of ${low} to ${high} characters`);
  }
}

function contentBytes(value: unknown): [Content, Uint8Array] {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw badContent("content must be a JSON object");
  }
  const kind = value.kind;
  if (typeof kind !== "string" || !KIND_PATTERN.test(kind)) {
    throw badContent("content kind must be 1-32 characters of a-z and '_'");
  }
  if (tooDeep(value)) {
    throw badContent(`content is nested more than ${MAX_CONTENT_DEPTH} levels deep`);
  }
  let encoded: Uint8Array;
  try {
    encoded = canonicalJson(value);
  } catch (error) {
    if (error instanceof CanonicalJsonError) {
      throw badContent(`content: ${error.message}`);
    }
    throw error;
  }
  if (encoded.length > MAX_CONTENT_BYTES) {
    throw badContent(`content is at most ${MAX_CONTENT_BYTES} bytes of canonical JSON`);
  }
  const fields = CONTENT_FIELDS.get(kind);
  if (fields !== undefined) {
    const [required, optional] = fields;
    const keys = Object.keys(value);
    const missing = required.filter((name) => !Object.hasOwn(value, name));
    const extra = keys.filter((name) => !required.includes(name) && !optional.includes(name));
    if (missing.length > 0 || extra.length > 0) {
      throw badContent(`${kind} content fields: missing [${missing}], unexpected [${extra}]`);
    }
    if (required.includes("text")) {
      chars(value.text, 1, MAX_TEXT_CHARS, "text");
    }
    if (Object.hasOwn(value, "parent") && !isMessageId(value.parent)) {
      throw badContent("parent must be a message id (a lower-case UUIDv7)");
    }
    if (required.includes("target") && !isMessageId(value.target)) {
      throw badContent("target must be a message id (a lower-case UUIDv7)");
    }
    if (kind === "reaction") {
      chars(value.emoji, 1, MAX_EMOJI_CHARS, "emoji");
      if (typeof value.on !== "boolean") {
        throw badContent("on must be true or false");
      }
    }
    if (kind === "file") {
      checkFileContent(value);
    }
  }
  return [{ ...(value as Content) }, encoded];
}

function intIn(value: unknown, low: number, high: number): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= low && value <= high;
}

/** Throw `malformed_content` unless `value` is base64url of `low`-`high` bytes. */
function b64uBytes(value: unknown, low: number, high: number, what: string): void {
  if (typeof value !== "string" || value.length > Math.ceil((high * 4) / 3)) {
    throw badContent(`${what} must be base64url of ${low} to ${high} bytes`);
  }
  let data: Uint8Array;
  try {
    data = b64uDecode(value);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw badContent(`${what}: ${error.message}`);
    }
    throw error;
  }
  if (data.length < low || data.length > high) {
    throw badContent(`${what} must be ${low} to ${high} bytes`);
  }
}

/** True if `text` holds U+0000-U+001F or U+007F (refused in file names, §8.2). */
function hasControl(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x20 || unit === 0x7f) {
      return true;
    }
  }
  return false;
}

/** The fields of a `file` content (§8.2); the field names are checked. */
function checkFileContent(value: Record<string, unknown>): void {
  if (typeof value.file !== "string" || !ROOM_ID_PATTERN.test(value.file)) {
    throw badContent("file must be a lower-case UUID string");
  }
  b64uBytes(value.key, FILE_KEY_BYTES, FILE_KEY_BYTES, "key");
  chars(value.name, 1, MAX_FILE_NAME_CHARS, "name");
  if (typeof value.name === "string" && hasControl(value.name)) {
    throw badContent("name must not contain control characters");
  }
  chars(value.type, 0, MAX_FILE_TYPE_CHARS, "type");
  if (!intIn(value.size, 0, Number.MAX_SAFE_INTEGER)) {
    throw badContent("size must be a non-negative integer");
  }
  if (!Object.hasOwn(value, "thumbnail")) {
    return;
  }
  const thumbnail = value.thumbnail;
  if (
    typeof thumbnail !== "object" ||
    thumbnail === null ||
    Array.isArray(thumbnail) ||
    !isPlainObject(thumbnail) ||
    Object.keys(thumbnail).length !== THUMBNAIL_FIELDS.length ||
    !THUMBNAIL_FIELDS.every((name) => Object.hasOwn(thumbnail, name))
  ) {
    throw badContent("thumbnail must be an object of exactly type, width, height and data");
  }
  if (typeof thumbnail.type !== "string" || !THUMBNAIL_TYPES.includes(thumbnail.type)) {
    throw badContent("thumbnail type must be image/jpeg, image/png or image/webp");
  }
  for (const side of ["width", "height"]) {
    if (!intIn(thumbnail[side], 1, MAX_THUMBNAIL_SIDE)) {
      throw badContent(`thumbnail ${side} must be an integer of 1 to ${MAX_THUMBNAIL_SIDE}`);
    }
  }
  b64uBytes(thumbnail.data, 1, MAX_THUMBNAIL_BYTES, "thumbnail data");
}

/**
 * Check a content value (PROTOCOL.md §7.4). A known kind must have exactly
 * its fields; any other kind only needs a valid `kind` (clients show it as an
 * unsupported message).
 *
 * @throws {@link EnvelopeError} `malformed_content`.
 */
export function parseContent(value: unknown): Content {
  return contentBytes(value)[0];
}

/**
 * ISO/IEC 7816-4 padding (0x80, then zeros) to the smallest bucket that holds it.
 *
 * @throws {@link EnvelopeError} `malformed_content` for more than 65,535 bytes.
 */
export function padContent(data: Uint8Array): Uint8Array {
  for (const bucket of PAD_BUCKETS) {
    if (data.length < bucket) {
      const padded = new Uint8Array(bucket);
      padded.set(data);
      padded[data.length] = 0x80;
      return padded;
    }
  }
  throw badContent(`content is at most ${MAX_CONTENT_BYTES} bytes`);
}

/**
 * Strict unpadding: the length is the smallest bucket for the content and the
 * last non-zero byte is 0x80.
 *
 * @throws {@link EnvelopeError} `bad_padding` for anything else.
 */
export function unpadContent(data: Uint8Array): Uint8Array {
  if (!PAD_BUCKETS.includes(data.length)) {
    throw new EnvelopeError("bad_padding", "padded content is not of a bucket's length");
  }
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) {
    end--;
  }
  if (end === 0 || data[end - 1] !== 0x80) {
    throw new EnvelopeError("bad_padding", "padding does not end in 0x80 and zeros");
  }
  const content = data.slice(0, end - 1);
  if (padContent(content).length !== data.length) {
    throw new EnvelopeError("bad_padding", "content padded beyond its smallest bucket");
  }
  return content;
}

/**
 * Unpadded plaintext to content: UTF-8 canonical JSON of a valid content object.
 *
 * @throws {@link EnvelopeError} `malformed_content`.
 */
export function decodeContent(data: Uint8Array): Content {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(data));
  } catch {
    throw badContent("content is not UTF-8 JSON");
  }
  const [content, encoded] = contentBytes(value);
  if (!sameBytes(encoded, data)) {
    throw badContent("content is not in canonical JSON (RFC 8785)");
  }
  return content;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index]) {
      return false;
    }
  }
  return true;
}

// --- The envelope -------------------------------------------------------------------

/** The clear header (order as Python's `header()`). */
export interface EnvelopeHeaderJson {
  v: number;
  tenant: string;
  room: string;
  epoch: number;
  id: string;
  sender: string;
  ts: number;
}

/** The wire form of an envelope. */
export interface EnvelopeJson extends EnvelopeHeaderJson {
  nonce: string;
  ciphertext: string;
  sig: string;
}

/** The fields of an {@link Envelope}. */
export interface EnvelopeFields {
  readonly tenant: string;
  readonly room: string;
  readonly epoch: number;
  readonly id: string;
  readonly sender: string;
  readonly ts: number;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly sig: Uint8Array;
}

/**
 * One message envelope. {@link parseEnvelope} checks the shape of received
 * ones; {@link sealEnvelope} makes new ones.
 */
export class Envelope implements EnvelopeFields {
  readonly tenant: string;
  readonly room: string;
  readonly epoch: number;
  readonly id: string;
  readonly sender: string;
  readonly ts: number;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly sig: Uint8Array;

  constructor(fields: EnvelopeFields) {
    this.tenant = fields.tenant;
    this.room = fields.room;
    this.epoch = fields.epoch;
    this.id = fields.id;
    this.sender = fields.sender;
    this.ts = fields.ts;
    this.nonce = fields.nonce;
    this.ciphertext = fields.ciphertext;
    this.sig = fields.sig;
  }

  /** The clear header: the associated data of the ciphertext, and signed. */
  header(): EnvelopeHeaderJson {
    return {
      v: ENVELOPE_VERSION,
      tenant: this.tenant,
      room: this.room,
      epoch: this.epoch,
      id: this.id,
      sender: this.sender,
      ts: this.ts,
    };
  }

  /** JCS(header). */
  associatedData(): Uint8Array {
    return canonicalJson(this.header());
  }

  /** The wire form (bytes as unpadded base64url). */
  toJson(): EnvelopeJson {
    return {
      ...this.header(),
      nonce: b64uEncode(this.nonce),
      ciphertext: b64uEncode(this.ciphertext),
      sig: b64uEncode(this.sig),
    };
  }

  /** What `sig` covers after the tag: JCS(header) || nonce || ciphertext. */
  signedMessage(): Uint8Array {
    const header = this.associatedData();
    const out = new Uint8Array(header.length + this.nonce.length + this.ciphertext.length);
    out.set(header);
    out.set(this.nonce, header.length);
    out.set(this.ciphertext, header.length + this.nonce.length);
    return out;
  }
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkHeader(
  tenant: unknown,
  room: unknown,
  epoch: unknown,
  messageId: unknown,
  sender: unknown,
  ts: unknown,
): void {
  if (typeof tenant !== "string" || !TENANT_SLUG_PATTERN.test(tenant)) {
    throw malformed("tenant must be a slug");
  }
  if (typeof room !== "string" || !ROOM_ID_PATTERN.test(room)) {
    throw malformed("room must be a lower-case UUID string");
  }
  if (!isInt(epoch)) {
    throw malformed("epoch must be a non-negative integer");
  }
  if (!isMessageId(messageId)) {
    throw malformed("id must be a lower-case UUIDv7");
  }
  if (typeof sender !== "string" || !USERNAME_PATTERN.test(sender)) {
    throw malformed("sender must be a username (PROTOCOL.md §3.1)");
  }
  if (!isInt(ts)) {
    throw malformed("ts must be a non-negative integer (Unix milliseconds)");
  }
}

function exactBytes(value: unknown, length: number, what: string): Uint8Array {
  try {
    return b64uDecodeExact(value, length, what);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw malformed(error.message);
    }
    throw error;
  }
}

/**
 * Check an envelope's shape (PROTOCOL.md §7.3). Neither the signature nor
 * the ciphertext is checked here: {@link verifyEnvelope}, then
 * {@link openEnvelope}.
 *
 * @throws {@link EnvelopeError} `malformed_envelope`.
 */
export function parseEnvelope(value: unknown): Envelope {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw malformed("an envelope is a JSON object");
  }
  const keys = Object.keys(value);
  const missing = ENVELOPE_FIELDS.filter((name) => !Object.hasOwn(value, name));
  const extra = keys.filter((name) => !ENVELOPE_FIELDS.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw malformed(`envelope fields: missing [${missing}], unexpected [${extra}]`);
  }
  if (value.v !== ENVELOPE_VERSION) {
    throw malformed(`unsupported envelope version ${JSON.stringify(value.v)}`);
  }
  const { tenant, room, epoch, id, sender, ts } = value;
  checkHeader(tenant, room, epoch, id, sender, ts);
  const nonce = exactBytes(value.nonce, NONCE_BYTES, "nonce");
  const text = value.ciphertext;
  if (typeof text !== "string" || text.length > MAX_CIPHERTEXT_TEXT) {
    throw malformed(`ciphertext must be base64url of at most ${MAX_CIPHERTEXT_BYTES} bytes`);
  }
  let ciphertext: Uint8Array;
  try {
    ciphertext = b64uDecode(text);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw malformed(`ciphertext: ${error.message}`);
    }
    throw error;
  }
  if (ciphertext.length < MIN_CIPHERTEXT_BYTES || ciphertext.length > MAX_CIPHERTEXT_BYTES) {
    throw malformed(`ciphertext must be ${MIN_CIPHERTEXT_BYTES} to ${MAX_CIPHERTEXT_BYTES} bytes`);
  }
  const sig = exactBytes(value.sig, SIGNATURE_BYTES, "sig");
  return new Envelope({
    tenant: tenant as string,
    room: room as string,
    epoch: epoch as number,
    id: id as string,
    sender: sender as string,
    ts: ts as number,
    nonce,
    ciphertext,
    sig,
  });
}

/**
 * Check that `sig` is the sender's (`signPub`) signature.
 *
 * @throws {@link EnvelopeError} `bad_signature`; {@link KeyFormatError} for a
 *   key that is not 32 bytes.
 */
export function verifyEnvelope(envelope: Envelope, signPub: Uint8Array): void {
  try {
    verify(SignatureTag.MESSAGE, envelope.signedMessage(), envelope.sig, signPub);
  } catch (error) {
    if (error instanceof SignatureError) {
      throw new EnvelopeError("bad_signature", "the envelope's signature does not verify");
    }
    throw error;
  }
}

function checkKey(epochKey: Uint8Array): void {
  if (epochKey.length !== EPOCH_KEY_BYTES) {
    throw new KeyFormatError(`an epoch key is ${EPOCH_KEY_BYTES} bytes`);
  }
}

/** The header fields of a new envelope. */
export interface SealArgs {
  tenant: string;
  room: string;
  epoch: number;
  messageId: string;
  sender: string;
  ts: number;
  epochKey: Uint8Array;
  signSeed: Uint8Array;
  /** Random unless given (test vectors only). */
  nonce?: Uint8Array;
}

/**
 * @internal Encrypt and sign already padded bytes (tests use it to make bad
 * envelopes); {@link sealEnvelope} is the API.
 */
export function sealPadded(args: SealArgs & { padded: Uint8Array }): Envelope {
  const { tenant, room, epoch, messageId, sender, ts } = args;
  checkHeader(tenant, room, epoch, messageId, sender, ts);
  checkKey(args.epochKey);
  const sodium = lib();
  const nonce = args.nonce ?? sodium.randombytes_buf(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) {
    throw new KeyFormatError(`a nonce is ${NONCE_BYTES} bytes`);
  }
  const fields = { tenant, room, epoch, id: messageId, sender, ts, nonce: nonce.slice() };
  const draft = new Envelope({ ...fields, ciphertext: new Uint8Array(0), sig: new Uint8Array(0) });
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    args.padded,
    draft.associatedData(),
    null,
    nonce,
    args.epochKey,
  );
  const unsigned = new Envelope({ ...fields, ciphertext, sig: new Uint8Array(0) });
  const sig = sign(SignatureTag.MESSAGE, unsigned.signedMessage(), args.signSeed);
  return new Envelope({ ...fields, ciphertext, sig });
}

/**
 * Check `content`, pad it, encrypt it under the epoch key and sign the envelope.
 *
 * @throws {@link EnvelopeError} `malformed_content` for content that is not
 *   valid or too big, `malformed_envelope` for a bad header field;
 *   {@link KeyFormatError} for a key or nonce of the wrong size.
 */
export function sealEnvelope(args: SealArgs & { content: Content | Record<string, unknown> }): Envelope {
  const { tenant, room, epoch, messageId, sender, ts } = args;
  checkHeader(tenant, room, epoch, messageId, sender, ts);
  const [, encoded] = contentBytes(args.content);
  return sealPadded({ ...args, padded: padContent(encoded) });
}

/**
 * Decrypt, unpad and check the content. Call {@link verifyEnvelope} first.
 *
 * @throws {@link EnvelopeError} `decrypt_failed`, `bad_padding` or
 *   `malformed_content`; {@link KeyFormatError} for a key that is not 32 bytes.
 */
export function openEnvelope(envelope: Envelope, epochKey: Uint8Array): Content {
  checkKey(epochKey);
  let padded: Uint8Array;
  try {
    padded = lib().crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      envelope.ciphertext,
      envelope.associatedData(),
      envelope.nonce,
      epochKey,
    );
  } catch {
    throw new EnvelopeError("decrypt_failed", "the envelope does not decrypt: wrong epoch key, or tampered");
  }
  return decodeContent(unpadContent(padded));
}
