/**
 * Room epochs: the keys a room's messages are encrypted under
 * (PROTOCOL.md §7.1-7.2; mirrors `protocol/epoch.py`).
 *
 * An epoch key is 32 random bytes made by one member's client. The **epoch
 * record** seals it (`crypto_box_seal`) to every member of the room and is
 * signed by its creator; an **epoch share** hands an existing key to one more
 * person. `key_check` lets a holder of a candidate key check it against the
 * record without revealing the key.
 *
 * A receiver checks, in this order: `parse*` (`malformed_epoch` /
 * `malformed_share`), `verify*` (`bad_signature`), then `open*`
 * (`not_sealed_to_you`, `wrong_epoch`, `decrypt_failed`,
 * `key_check_mismatch`). Both implementations pass
 * `tests/vectors/rooms/epochs.json`.
 */

import { b64uDecodeExact, b64uEncode, canonicalJson, isPlainObject } from "./encoding";
import { ROOM_ID_PATTERN } from "./envelope";
import { EncodingError, EpochError, type EpochErrorCode, KeyFormatError, SignatureError } from "./errors";
import { BOX_SECRET_BYTES, TENANT_SLUG_PATTERN, USERNAME_PATTERN } from "./identity";
import { SIGNATURE_BYTES, SignatureTag, sign, verify } from "./signing";
import { lib } from "./sodium";

export const EPOCH_VERSION = 1;
export const EPOCH_KEY_BYTES = 32;
export const KEY_CHECK_BYTES = 32;
export const BOX_PUBLIC_BYTES = 32;
/** `crypto_box_seal` of 32 bytes: 32 (ephemeral key) + 32 + 16 (tag). */
export const SEALED_KEY_BYTES = 80;
export const MAX_RECIPIENTS = 1024;
const KEY_CHECK_LABEL = new TextEncoder().encode("pipo/epoch-check/v1");
const RECORD_FIELDS: readonly string[] = [
  "v",
  "tenant",
  "room",
  "epoch",
  "creator",
  "chain_seq",
  "ts",
  "key_check",
  "sealed",
  "sig",
];
const SHARE_FIELDS: readonly string[] = ["v", "tenant", "room", "epoch", "user", "by", "ts", "sealed", "sig"];

// --- Keys ---------------------------------------------------------------------------

/** 32 fresh random bytes. */
export function newEpochKey(): Uint8Array {
  return lib().randombytes_buf(EPOCH_KEY_BYTES);
}

function checkKey(epochKey: Uint8Array): void {
  if (epochKey.length !== EPOCH_KEY_BYTES) {
    throw new KeyFormatError(`an epoch key is ${EPOCH_KEY_BYTES} bytes`);
  }
}

/**
 * BLAKE2b-256 keyed with the epoch key over `pipo/epoch-check/v1`.
 *
 * @throws {@link KeyFormatError} for a key that is not 32 bytes.
 */
export function keyCheck(epochKey: Uint8Array): Uint8Array {
  checkKey(epochKey);
  return lib().crypto_generichash(KEY_CHECK_BYTES, KEY_CHECK_LABEL, epochKey);
}

function seal(epochKey: Uint8Array, boxPub: Uint8Array): Uint8Array {
  if (boxPub.length !== BOX_PUBLIC_BYTES) {
    throw new KeyFormatError("an X25519 public key is 32 bytes");
  }
  return lib().crypto_box_seal(epochKey, boxPub);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let index = 0; index < a.length; index++) {
    diff |= (a[index] ?? 0) ^ (b[index] ?? 0);
  }
  return diff === 0;
}

function open(sealed: Uint8Array, boxSecret: Uint8Array, expectedCheck: Uint8Array): Uint8Array {
  if (boxSecret.length !== BOX_SECRET_BYTES) {
    throw new KeyFormatError("an X25519 secret key is 32 bytes");
  }
  const sodium = lib();
  const boxPub = sodium.crypto_scalarmult_base(boxSecret);
  let epochKey: Uint8Array;
  try {
    epochKey = sodium.crypto_box_seal_open(sealed, boxPub, boxSecret);
  } catch {
    throw new EpochError("decrypt_failed", "the sealed epoch key does not open with this box key");
  }
  if (epochKey.length !== EPOCH_KEY_BYTES || !constantTimeEqual(keyCheck(epochKey), expectedCheck)) {
    throw new EpochError("key_check_mismatch", "the sealed key is not the epoch's key");
  }
  return epochKey;
}

// --- Field checks ---------------------------------------------------------------------

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function checkCommon(
  code: EpochErrorCode,
  tenant: unknown,
  room: unknown,
  epoch: unknown,
  ts: unknown,
): void {
  if (typeof tenant !== "string" || !TENANT_SLUG_PATTERN.test(tenant)) {
    throw new EpochError(code, "tenant must be a slug");
  }
  if (typeof room !== "string" || !ROOM_ID_PATTERN.test(room)) {
    throw new EpochError(code, "room must be a lower-case UUID string");
  }
  if (!isInt(epoch)) {
    throw new EpochError(code, "epoch must be a non-negative integer");
  }
  if (!isInt(ts)) {
    throw new EpochError(code, "ts must be a non-negative integer (Unix milliseconds)");
  }
}

function checkUser(code: EpochErrorCode, value: unknown, what: string): void {
  if (typeof value !== "string" || !USERNAME_PATTERN.test(value)) {
    throw new EpochError(code, `${what} must be a username (PROTOCOL.md §3.1)`);
  }
}

function checkFields(
  code: EpochErrorCode,
  value: unknown,
  fields: readonly string[],
  what: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw new EpochError(code, `an ${what} is a JSON object`);
  }
  const missing = fields.filter((name) => !Object.hasOwn(value, name));
  const extra = Object.keys(value).filter((name) => !fields.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new EpochError(code, `${what} fields: missing [${missing}], unexpected [${extra}]`);
  }
  if (value.v !== EPOCH_VERSION) {
    throw new EpochError(code, `unsupported ${what} version ${JSON.stringify(value.v)}`);
  }
  return value;
}

function exactBytes(code: EpochErrorCode, value: unknown, length: number, what: string): Uint8Array {
  try {
    return b64uDecodeExact(value, length, what);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new EpochError(code, error.message);
    }
    throw error;
  }
}

function checkRecipients(code: EpochErrorCode, names: readonly string[], creator: unknown): void {
  if (names.length < 1 || names.length > MAX_RECIPIENTS) {
    throw new EpochError(code, `sealed must have 1 to ${MAX_RECIPIENTS} entries`);
  }
  for (const name of names) {
    checkUser(code, name, "every sealed name");
  }
  if (typeof creator !== "string" || !names.includes(creator)) {
    throw new EpochError(code, "the creator must be sealed to");
  }
}

// --- Epoch record ---------------------------------------------------------------------

/** The fields an epoch record's signature covers (order as Python's `unsigned_json`). */
export interface UnsignedEpochRecordJson {
  v: number;
  tenant: string;
  room: string;
  epoch: number;
  creator: string;
  chain_seq: number;
  ts: number;
  key_check: string;
  sealed: Record<string, string>;
}

/** The wire form of an epoch record. */
export interface EpochRecordJson extends UnsignedEpochRecordJson {
  sig: string;
}

/** The fields of an {@link EpochRecord}. */
export interface EpochRecordFields {
  readonly tenant: string;
  readonly room: string;
  readonly epoch: number;
  readonly creator: string;
  readonly chainSeq: number;
  readonly ts: number;
  readonly keyCheck: Uint8Array;
  /** username -> 80-byte sealed box, in the order received. */
  readonly sealed: ReadonlyMap<string, Uint8Array>;
  readonly sig: Uint8Array;
}

/** A room epoch: its key sealed to every member, signed by the creator. */
export class EpochRecord implements EpochRecordFields {
  readonly tenant: string;
  readonly room: string;
  readonly epoch: number;
  readonly creator: string;
  readonly chainSeq: number;
  readonly ts: number;
  readonly keyCheck: Uint8Array;
  readonly sealed: ReadonlyMap<string, Uint8Array>;
  readonly sig: Uint8Array;

  constructor(fields: EpochRecordFields) {
    this.tenant = fields.tenant;
    this.room = fields.room;
    this.epoch = fields.epoch;
    this.creator = fields.creator;
    this.chainSeq = fields.chainSeq;
    this.ts = fields.ts;
    this.keyCheck = fields.keyCheck;
    this.sealed = new Map(fields.sealed);
    this.sig = fields.sig;
  }

  /** Everything but `sig`. */
  unsignedJson(): UnsignedEpochRecordJson {
    const sealed: Record<string, string> = {};
    for (const [user, box] of this.sealed) {
      sealed[user] = b64uEncode(box);
    }
    return {
      v: EPOCH_VERSION,
      tenant: this.tenant,
      room: this.room,
      epoch: this.epoch,
      creator: this.creator,
      chain_seq: this.chainSeq,
      ts: this.ts,
      key_check: b64uEncode(this.keyCheck),
      sealed,
    };
  }

  /** The wire form (bytes as unpadded base64url). */
  toJson(): EpochRecordJson {
    return { ...this.unsignedJson(), sig: b64uEncode(this.sig) };
  }

  /** What `sig` covers after the tag: JCS(record without `sig`). */
  signedMessage(): Uint8Array {
    return canonicalJson(this.unsignedJson());
  }
}

/**
 * Check an epoch record's shape (PROTOCOL.md §7.1).
 *
 * @throws {@link EpochError} `malformed_epoch`.
 */
export function parseEpochRecord(value: unknown): EpochRecord {
  const code = "malformed_epoch";
  const data = checkFields(code, value, RECORD_FIELDS, "epoch record");
  checkCommon(code, data.tenant, data.room, data.epoch, data.ts);
  checkUser(code, data.creator, "creator");
  if (!isInt(data.chain_seq)) {
    throw new EpochError(code, "chain_seq must be a non-negative integer");
  }
  const check = exactBytes(code, data.key_check, KEY_CHECK_BYTES, "key_check");
  const sealedJson = data.sealed;
  if (typeof sealedJson !== "object" || sealedJson === null || Array.isArray(sealedJson)) {
    throw new EpochError(code, "sealed must be a JSON object (username -> sealed key)");
  }
  const entries = Object.entries(sealedJson as Record<string, unknown>);
  checkRecipients(
    code,
    entries.map(([user]) => user),
    data.creator,
  );
  const sealed = new Map<string, Uint8Array>();
  for (const [user, box] of entries) {
    sealed.set(user, exactBytes(code, box, SEALED_KEY_BYTES, `sealed[${user}]`));
  }
  const sig = exactBytes(code, data.sig, SIGNATURE_BYTES, "sig");
  return new EpochRecord({
    tenant: data.tenant as string,
    room: data.room as string,
    epoch: data.epoch as number,
    creator: data.creator as string,
    chainSeq: data.chain_seq,
    ts: data.ts as number,
    keyCheck: check,
    sealed,
    sig,
  });
}

/**
 * Check that `sig` is the creator's (`signPub`) signature.
 *
 * @throws {@link EpochError} `bad_signature`.
 */
export function verifyEpochRecord(record: EpochRecord, signPub: Uint8Array): void {
  try {
    verify(SignatureTag.EPOCH, record.signedMessage(), record.sig, signPub);
  } catch (error) {
    if (error instanceof SignatureError) {
      throw new EpochError("bad_signature", "the epoch record's signature does not verify");
    }
    throw error;
  }
}

/**
 * Seal `epochKey` to every recipient (username -> `box_pub`) and sign the
 * record. The recipients must include the creator.
 *
 * @throws {@link EpochError} `malformed_epoch` for a field that breaks §7.1;
 *   {@link KeyFormatError} for a key of the wrong size.
 */
export function makeEpochRecord(args: {
  tenant: string;
  room: string;
  epoch: number;
  creator: string;
  chainSeq: number;
  ts: number;
  epochKey: Uint8Array;
  recipients: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>;
  signSeed: Uint8Array;
}): EpochRecord {
  const code = "malformed_epoch";
  const { tenant, room, epoch, creator, chainSeq, ts, epochKey } = args;
  checkCommon(code, tenant, room, epoch, ts);
  checkUser(code, creator, "creator");
  if (!isInt(chainSeq)) {
    throw new EpochError(code, "chain_seq must be a non-negative integer");
  }
  const recipients =
    args.recipients instanceof Map
      ? [...args.recipients]
      : Object.entries(args.recipients as Record<string, Uint8Array>);
  checkRecipients(
    code,
    recipients.map(([user]) => user),
    creator,
  );
  checkKey(epochKey);
  const sealed = new Map(recipients.map(([user, boxPub]) => [user, seal(epochKey, boxPub)] as const));
  const fields = { tenant, room, epoch, creator, chainSeq, ts, keyCheck: keyCheck(epochKey), sealed };
  const draft = new EpochRecord({ ...fields, sig: new Uint8Array(0) });
  const sig = sign(SignatureTag.EPOCH, draft.signedMessage(), args.signSeed);
  return new EpochRecord({ ...fields, sig });
}

/**
 * The epoch key sealed to `user`, checked against `key_check`. Call
 * {@link verifyEpochRecord} first.
 *
 * @throws {@link EpochError} `not_sealed_to_you` (no entry for `user`),
 *   `decrypt_failed` (the box does not open with `boxSecret`) or
 *   `key_check_mismatch`.
 */
export function openEpochRecord(record: EpochRecord, user: string, boxSecret: Uint8Array): Uint8Array {
  const box = record.sealed.get(user);
  if (box === undefined) {
    throw new EpochError("not_sealed_to_you", `the epoch key is not sealed to ${JSON.stringify(user)}`);
  }
  return open(box, boxSecret, record.keyCheck);
}

// --- Epoch share ----------------------------------------------------------------------

/** The fields an epoch share's signature covers (order as Python's `unsigned_json`). */
export interface UnsignedEpochShareJson {
  v: number;
  tenant: string;
  room: string;
  epoch: number;
  user: string;
  by: string;
  ts: number;
  sealed: string;
}

/** The wire form of an epoch share. */
export interface EpochShareJson extends UnsignedEpochShareJson {
  sig: string;
}

/** The fields of an {@link EpochShare}. */
export interface EpochShareFields {
  readonly tenant: string;
  readonly room: string;
  readonly epoch: number;
  readonly user: string;
  readonly by: string;
  readonly ts: number;
  readonly sealed: Uint8Array;
  readonly sig: Uint8Array;
}

/** An existing epoch key sealed to one more person (`user`), signed by `by`. */
export class EpochShare implements EpochShareFields {
  readonly tenant: string;
  readonly room: string;
  readonly epoch: number;
  readonly user: string;
  readonly by: string;
  readonly ts: number;
  readonly sealed: Uint8Array;
  readonly sig: Uint8Array;

  constructor(fields: EpochShareFields) {
    this.tenant = fields.tenant;
    this.room = fields.room;
    this.epoch = fields.epoch;
    this.user = fields.user;
    this.by = fields.by;
    this.ts = fields.ts;
    this.sealed = fields.sealed;
    this.sig = fields.sig;
  }

  /** Everything but `sig`. */
  unsignedJson(): UnsignedEpochShareJson {
    return {
      v: EPOCH_VERSION,
      tenant: this.tenant,
      room: this.room,
      epoch: this.epoch,
      user: this.user,
      by: this.by,
      ts: this.ts,
      sealed: b64uEncode(this.sealed),
    };
  }

  /** The wire form (bytes as unpadded base64url). */
  toJson(): EpochShareJson {
    return { ...this.unsignedJson(), sig: b64uEncode(this.sig) };
  }

  /** What `sig` covers after the tag: JCS(share without `sig`). */
  signedMessage(): Uint8Array {
    return canonicalJson(this.unsignedJson());
  }
}

/**
 * Check an epoch share's shape (PROTOCOL.md §7.2).
 *
 * @throws {@link EpochError} `malformed_share`.
 */
export function parseEpochShare(value: unknown): EpochShare {
  const code = "malformed_share";
  const data = checkFields(code, value, SHARE_FIELDS, "epoch share");
  checkCommon(code, data.tenant, data.room, data.epoch, data.ts);
  checkUser(code, data.user, "user");
  checkUser(code, data.by, "by");
  const sealed = exactBytes(code, data.sealed, SEALED_KEY_BYTES, "sealed");
  const sig = exactBytes(code, data.sig, SIGNATURE_BYTES, "sig");
  return new EpochShare({
    tenant: data.tenant as string,
    room: data.room as string,
    epoch: data.epoch as number,
    user: data.user as string,
    by: data.by as string,
    ts: data.ts as number,
    sealed,
    sig,
  });
}

/**
 * Check that `sig` is the sharer's (`signPub`) signature.
 *
 * @throws {@link EpochError} `bad_signature`.
 */
export function verifyEpochShare(share: EpochShare, signPub: Uint8Array): void {
  try {
    verify(SignatureTag.EPOCH_SHARE, share.signedMessage(), share.sig, signPub);
  } catch (error) {
    if (error instanceof SignatureError) {
      throw new EpochError("bad_signature", "the epoch share's signature does not verify");
    }
    throw error;
  }
}

/**
 * Seal `epochKey` to `user`'s `boxPub` and sign the share as `by`.
 *
 * @throws {@link EpochError} `malformed_share`; {@link KeyFormatError}.
 */
export function makeEpochShare(args: {
  tenant: string;
  room: string;
  epoch: number;
  user: string;
  by: string;
  ts: number;
  epochKey: Uint8Array;
  boxPub: Uint8Array;
  signSeed: Uint8Array;
}): EpochShare {
  const code = "malformed_share";
  const { tenant, room, epoch, user, by, ts, epochKey } = args;
  checkCommon(code, tenant, room, epoch, ts);
  checkUser(code, user, "user");
  checkUser(code, by, "by");
  checkKey(epochKey);
  const fields = { tenant, room, epoch, user, by, ts, sealed: seal(epochKey, args.boxPub) };
  const draft = new EpochShare({ ...fields, sig: new Uint8Array(0) });
  const sig = sign(SignatureTag.EPOCH_SHARE, draft.signedMessage(), args.signSeed);
  return new EpochShare({ ...fields, sig });
}

/**
 * The epoch key in `share`, checked against the epoch's `record`. Call
 * {@link verifyEpochShare} (and {@link verifyEpochRecord}) first.
 *
 * @throws {@link EpochError} `wrong_epoch` (the share names another tenant,
 *   room or epoch than the record), `decrypt_failed` or `key_check_mismatch`.
 */
export function openEpochShare(share: EpochShare, boxSecret: Uint8Array, record: EpochRecord): Uint8Array {
  if (share.tenant !== record.tenant || share.room !== record.room || share.epoch !== record.epoch) {
    throw new EpochError("wrong_epoch", "the share is for another epoch than the record");
  }
  return open(share.sealed, boxSecret, record.keyCheck);
}
