/**
 * Zero-knowledge login and key backup (PROTOCOL.md §5.1-5.4; mirrors
 * `protocol/accounts.py`).
 *
 * A password is stretched with Argon2id here in the browser; the server
 * receives only `auth_key`, never the password, the master key or
 * `wrap_key`. The identity's secret keys travel to the server only inside
 * *wrapped keys*: XChaCha20-Poly1305 under `wrap_key` (or a recovery code's
 * key), with associated data that binds the backup to its purpose, tenant and
 * user. A key file is the same sealed object under a passphrase of its own.
 *
 * The file has two layers. The low-level functions mirror the Python names
 * one for one and are what the shared vectors test. The high-level functions
 * at the end ({@link prepareSignup}, {@link prepareLogin}, ...) are the only
 * ones the state layer calls: they take passwords and codes and return only
 * what goes to the server (base64url strings) plus {@link IdentityKeys}, so no
 * master key or wrap key ever leaves `src/protocol`.
 *
 * Everything is synchronous after `await sodiumReady()`.
 */

import { b64uDecode, b64uDecodeExact, b64uEncode, canonicalJson, isPlainObject } from "./encoding";
import {
  BundleMismatchError,
  EncodingError,
  KdfError,
  KeyFileError,
  KeyFormatError,
  KeysMismatchError,
  PasswordError,
  RecoveryCodeError,
  UnwrapError,
  WrappedKeysError,
} from "./errors";
import {
  type IdentityBundle,
  type IdentityBundleJson,
  IdentityKeys,
  makeIdentityBundle,
  parseIdentityBundle,
} from "./identity";
import { lib } from "./sodium";

export const KDF_ALG = "argon2id13";
export const DEFAULT_OPS = 3;
export const DEFAULT_MEM = 64 * 1024 * 1024;
export const MIN_OPS = 3;
export const MAX_OPS = 10;
export const MIN_MEM = 64 * 1024 * 1024;
export const MAX_MEM = 1024 * 1024 * 1024;
const MEM_STEP = 1024 * 1024;
export const SALT_BYTES = 16;
const KEY_BYTES = 32;
export const PASSWORD_MIN_CHARS = 10;
export const PASSWORD_MAX_CHARS = 1024;

export const WRAPPED_KEYS_VERSION = 1;
const NONCE_BYTES = 24;
const MIN_CIPHERTEXT_BYTES = 16;
const MAX_CIPHERTEXT_BYTES = 1024;
const IDENTITY_KEYS_KIND = "pipo/identity-keys";
export const KEY_FILE_VERSION = 1;
export const KEY_FILE_KIND = "pipo/key-file";

export const RECOVERY_SECRET_BYTES = 20;
export const RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RECOVERY_SYMBOLS = 32;
export const INVITE_TOKEN_BYTES = 32;

const AUTH_LABEL = "pipo/auth/v1";
const WRAP_LABEL = "pipo/wrap/v1";
const RECOVERY_AUTH_LABEL = "pipo/recovery-auth/v1";
const RECOVERY_WRAP_LABEL = "pipo/recovery-wrap/v1";
const KEY_FILE_LABEL = "pipo/key-file/v1";
const KDF_FIELDS: readonly string[] = ["alg", "ops", "mem", "salt"];
const WRAPPED_FIELDS: readonly string[] = ["v", "nonce", "ciphertext"];
const INNER_FIELDS: readonly string[] = ["v", "kind", "sign_seed", "box_secret"];
const KEY_FILE_FIELDS: readonly string[] = ["v", "kind", "kdf", "nonce", "ciphertext"];

/**
 * Reading a recovery code: both cases, and the look-alikes O -> 0, I and L -> 1.
 * Only these ASCII characters are looked up, so no Unicode case mapping
 * (Python's and JavaScript's differ at the edges, e.g. dotless i) is involved.
 */
const RECOVERY_DECODE: ReadonlyMap<string, number> = new Map([
  ...Array.from(RECOVERY_ALPHABET, (char, value) => [char, value] as const),
  ...Array.from(RECOVERY_ALPHABET, (char, value) => [char.toLowerCase(), value] as const),
  ["O", 0],
  ["o", 0],
  ["I", 1],
  ["i", 1],
  ["L", 1],
  ["l", 1],
]);
const RECOVERY_SEPARATORS: ReadonlySet<string> = new Set([" ", "\t", "\r", "\n", "-"]);

const utf8 = new TextEncoder();

/** What a sealed copy of the identity keys is for; part of its associated data. */
export const BackupPurpose = {
  KEY_BACKUP: "pipo/key-backup/v1",
  RECOVERY_BACKUP: "pipo/recovery-backup/v1",
  KEY_FILE: "pipo/key-file/v1",
} as const;

/** One of the {@link BackupPurpose} values. */
export type BackupPurpose = (typeof BackupPurpose)[keyof typeof BackupPurpose];

function exactFields(data: Record<string, unknown>, fields: readonly string[]): boolean {
  const keys = Object.keys(data);
  return keys.length === fields.length && fields.every((name) => Object.hasOwn(data, name));
}

function isObject(data: unknown): data is Record<string, unknown> {
  return typeof data === "object" && data !== null && !Array.isArray(data) && isPlainObject(data);
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

// --- 5.1 Password derivation -------------------------------------------------

/**
 * Argon2id parameters and salt in their wire form, as the server stores and
 * returns them (`salt` is 16 bytes of base64url, `mem` is in bytes).
 */
export interface KdfParams {
  alg: string;
  ops: number;
  mem: number;
  salt: string;
}

function checkKdf(alg: unknown, ops: unknown, mem: unknown): { alg: string; ops: number; mem: number } {
  if (alg !== KDF_ALG) {
    throw new KdfError(`kdf alg must be "${KDF_ALG}"`);
  }
  // typeof refuses booleans and strings, as Python's `type(x) is not int` does.
  if (typeof ops !== "number" || !Number.isSafeInteger(ops) || ops < MIN_OPS || ops > MAX_OPS) {
    throw new KdfError(`kdf ops must be an integer from ${MIN_OPS} to ${MAX_OPS}`);
  }
  if (
    typeof mem !== "number" ||
    !Number.isSafeInteger(mem) ||
    mem < MIN_MEM ||
    mem > MAX_MEM ||
    mem % MEM_STEP !== 0
  ) {
    throw new KdfError("kdf mem must be a whole number of MiB from 64 MiB to 1 GiB, in bytes");
  }
  return { alg, ops, mem };
}

/** Fresh parameters for a new password: the defaults and a random salt. */
export function newKdfParams(): KdfParams {
  return {
    alg: KDF_ALG,
    ops: DEFAULT_OPS,
    mem: DEFAULT_MEM,
    salt: b64uEncode(lib().randombytes_buf(SALT_BYTES)),
  };
}

/**
 * Validate the wire form of KDF parameters and return a clean copy.
 *
 * @throws {@link KdfError} unless `data` has exactly the fields alg, ops,
 *   mem and salt with acceptable values.
 */
export function parseKdfParams(data: unknown): KdfParams {
  if (!isObject(data)) {
    throw new KdfError("kdf is a JSON object");
  }
  if (!exactFields(data, KDF_FIELDS)) {
    throw new KdfError("kdf has exactly the fields alg, ops, mem and salt");
  }
  const { alg, ops, mem } = checkKdf(data.alg, data.ops, data.mem);
  const salt = data.salt;
  if (typeof salt !== "string") {
    throw new KdfError("kdf salt must be a base64url string");
  }
  try {
    b64uDecodeExact(salt, SALT_BYTES, "kdf salt");
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new KdfError(error.message);
    }
    throw error;
  }
  return { alg, ops, mem, salt };
}

/**
 * The two keys derived from a password (or a recovery code). Both are held in
 * private fields, so `JSON.stringify` and `console.log` show neither.
 * `authKey` goes to the server; `wrapKey` never leaves `src/protocol`.
 */
export class PasswordKeys {
  readonly #authKey: Uint8Array;
  readonly #wrapKey: Uint8Array;

  constructor(authKey: Uint8Array, wrapKey: Uint8Array) {
    this.#authKey = authKey;
    this.#wrapKey = wrapKey;
  }

  /** The 32-byte key the server checks (it stores only a hash of it). */
  get authKey(): Uint8Array {
    return this.#authKey;
  }

  /** The 32-byte key that wraps the identity keys. Secret: never send or log it. */
  get wrapKey(): Uint8Array {
    return this.#wrapKey;
  }

  /** Nothing: an accidental `JSON.stringify` leaks neither key. */
  toJSON(): Record<string, never> {
    return {};
  }
}

function normalisePassword(password: string): string {
  if (typeof password !== "string") {
    throw new PasswordError("a password is text");
  }
  // TextEncoder would silently turn a lone surrogate into U+FFFD; Python refuses it.
  if (!password.isWellFormed()) {
    throw new PasswordError("a password must be well-formed Unicode");
  }
  return password.normalize("NFKC");
}

/**
 * Check the length rule for a password being chosen: 10 to 1,024 characters
 * (code points, after NFKC).
 *
 * @throws {@link PasswordError} otherwise, or for a lone surrogate.
 */
export function checkPassword(password: string): void {
  const length = [...normalisePassword(password)].length;
  if (length < PASSWORD_MIN_CHARS || length > PASSWORD_MAX_CHARS) {
    throw new PasswordError(`a password has ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters`);
  }
}

function masterKey(password: string, kdf: KdfParams): Uint8Array {
  checkKdf(kdf.alg, kdf.ops, kdf.mem);
  let salt: Uint8Array;
  try {
    salt = b64uDecodeExact(kdf.salt, SALT_BYTES, "kdf salt");
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new KdfError(error.message);
    }
    throw error;
  }
  const secret = utf8.encode(normalisePassword(password));
  const sodium = lib();
  return sodium.crypto_pwhash(KEY_BYTES, secret, salt, kdf.ops, kdf.mem, sodium.crypto_pwhash_ALG_ARGON2ID13);
}

function keyedHash(key: Uint8Array, label: string): Uint8Array {
  return lib().crypto_generichash(KEY_BYTES, utf8.encode(label), key);
}

/**
 * `auth_key` and `wrap_key` for `password` (Argon2id, then keyed BLAKE2b).
 * Takes about a second: Argon2id with 64 MiB is meant to be slow.
 *
 * @throws {@link KdfError} for parameters outside §5.1;
 *   {@link PasswordError} for a password that is not well-formed Unicode.
 *   The length rule is {@link checkPassword}'s, applied where passwords are chosen.
 */
export function derivePasswordKeys(password: string, kdf: KdfParams): PasswordKeys {
  const master = masterKey(password, kdf);
  const keys = new PasswordKeys(keyedHash(master, AUTH_LABEL), keyedHash(master, WRAP_LABEL));
  lib().memzero(master);
  return keys;
}

// --- 5.2 Wrapped keys --------------------------------------------------------

/** The wire form of wrapped keys. */
export interface WrappedKeysJson {
  v: number;
  nonce: string;
  ciphertext: string;
}

/** Identity keys sealed under a wrap key. Only the owner's client can open it. */
export class WrappedKeys {
  readonly v: number = WRAPPED_KEYS_VERSION;

  constructor(
    readonly nonce: Uint8Array,
    readonly ciphertext: Uint8Array,
  ) {}

  /** The wire form. */
  toJson(): WrappedKeysJson {
    return { v: this.v, nonce: b64uEncode(this.nonce), ciphertext: b64uEncode(this.ciphertext) };
  }
}

/** Decode a nonce and ciphertext; throws {@link EncodingError}. */
function checkSealed(nonce: unknown, ciphertext: unknown): WrappedKeys {
  const nonceBytes = b64uDecodeExact(nonce, NONCE_BYTES, "nonce");
  if (typeof ciphertext !== "string") {
    throw new EncodingError("ciphertext must be a base64url string");
  }
  const ciphertextBytes = b64uDecode(ciphertext);
  if (ciphertextBytes.length < MIN_CIPHERTEXT_BYTES || ciphertextBytes.length > MAX_CIPHERTEXT_BYTES) {
    throw new EncodingError(`ciphertext must be ${MIN_CIPHERTEXT_BYTES} to ${MAX_CIPHERTEXT_BYTES} bytes`);
  }
  return new WrappedKeys(nonceBytes, ciphertextBytes);
}

/**
 * Validate the wire form of wrapped keys (not their contents: that needs the key).
 *
 * @throws {@link WrappedKeysError} unless `data` has exactly the fields v
 *   (the integer 1), nonce (24 bytes) and ciphertext (16 to 1,024 bytes).
 */
export function parseWrappedKeys(data: unknown): WrappedKeys {
  if (!isObject(data)) {
    throw new WrappedKeysError("wrapped keys are a JSON object");
  }
  if (!exactFields(data, WRAPPED_FIELDS)) {
    throw new WrappedKeysError("wrapped keys have exactly the fields v, nonce and ciphertext");
  }
  if (data.v !== WRAPPED_KEYS_VERSION) {
    throw new WrappedKeysError(`unsupported wrapped keys version ${describe(data.v)}`);
  }
  try {
    return checkSealed(data.nonce, data.ciphertext);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new WrappedKeysError(error.message);
    }
    throw error;
  }
}

/** Whose backup this is. Required for the account backups, refused for a key file. */
export interface BackupOwner {
  purpose: BackupPurpose;
  tenant?: string | undefined;
  user?: string | undefined;
}

function associatedData({ purpose, tenant, user }: BackupOwner): Uint8Array {
  if (purpose === BackupPurpose.KEY_FILE) {
    // A key file belongs to a person, not to an account: nothing else is bound.
    if (tenant !== undefined || user !== undefined) {
      throw new TypeError("a key file is not bound to a tenant or user");
    }
    return canonicalJson({ purpose });
  }
  if (purpose !== BackupPurpose.KEY_BACKUP && purpose !== BackupPurpose.RECOVERY_BACKUP) {
    throw new TypeError(`unknown backup purpose ${describe(purpose)}`);
  }
  if (typeof tenant !== "string" || typeof user !== "string") {
    throw new TypeError(`${purpose} needs the tenant and user it belongs to`);
  }
  return canonicalJson({ purpose, tenant, user });
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) {
    throw new KeyFormatError("a wrap key is 32 bytes");
  }
}

function identityPlaintext(keys: IdentityKeys): Uint8Array {
  return canonicalJson({
    v: WRAPPED_KEYS_VERSION,
    kind: IDENTITY_KEYS_KIND,
    sign_seed: b64uEncode(keys.signSeed),
    box_secret: b64uEncode(keys.boxSecret),
  });
}

function seal(
  plaintext: Uint8Array,
  key: Uint8Array,
  ad: Uint8Array,
  nonce: Uint8Array | undefined,
): WrappedKeys {
  checkKey(key);
  const sodium = lib();
  const useNonce = nonce ?? sodium.randombytes_buf(NONCE_BYTES);
  if (useNonce.length !== NONCE_BYTES) {
    throw new KeyFormatError(`a nonce is ${NONCE_BYTES} bytes`);
  }
  const ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, useNonce, key);
  return new WrappedKeys(useNonce.slice(), ciphertext);
}

function open(wrapped: WrappedKeys, key: Uint8Array, ad: Uint8Array): Uint8Array {
  checkKey(key);
  const sodium = lib();
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      wrapped.ciphertext,
      ad,
      wrapped.nonce,
      key,
    );
  } catch {
    throw new UnwrapError("the keys do not decrypt: wrong key, or tampered");
  }
}

/** The keys inside a sealed object; throws {@link WrappedKeysError}. */
function parseIdentityPlaintext(plaintext: Uint8Array): IdentityKeys {
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
  } catch {
    throw new WrappedKeysError("the sealed keys are not JSON");
  } finally {
    lib().memzero(plaintext);
  }
  if (!isObject(data) || !exactFields(data, INNER_FIELDS)) {
    throw new WrappedKeysError("sealed keys have exactly the fields v, kind, sign_seed, box_secret");
  }
  if (data.v !== WRAPPED_KEYS_VERSION) {
    throw new WrappedKeysError(`unsupported sealed keys version ${describe(data.v)}`);
  }
  if (data.kind !== IDENTITY_KEYS_KIND) {
    throw new WrappedKeysError(`sealed keys must be of kind "${IDENTITY_KEYS_KIND}"`);
  }
  try {
    const signSeed = b64uDecodeExact(data.sign_seed, 32, "sign_seed");
    const boxSecret = b64uDecodeExact(data.box_secret, 32, "box_secret");
    return IdentityKeys.fromSecrets(signSeed, boxSecret);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new WrappedKeysError(error.message);
    }
    throw error;
  }
}

/**
 * Seal `keys` under `wrapKey` for `owner.purpose`.
 *
 * `tenant` and `user` are required for the two account backups and refused
 * for {@link BackupPurpose.KEY_FILE} (a `TypeError`: a caller's mistake, not
 * input to refuse). `nonce` is for test vectors only; by default a random
 * one is drawn.
 */
export function wrapIdentityKeys(
  keys: IdentityKeys,
  wrapKey: Uint8Array,
  owner: BackupOwner & { nonce?: Uint8Array | undefined },
): WrappedKeys {
  return seal(identityPlaintext(keys), wrapKey, associatedData(owner), owner.nonce);
}

/**
 * Open wrapped keys and, given the owner's `bundle`, check they are its keys.
 *
 * @throws {@link UnwrapError} for a wrong key or any change to the
 *   ciphertext, nonce, purpose, tenant or user; {@link WrappedKeysError} if
 *   the decrypted keys are malformed; {@link KeysMismatchError} if they are
 *   not the keys `bundle` publishes.
 */
export function unwrapIdentityKeys(
  wrapped: WrappedKeys,
  wrapKey: Uint8Array,
  owner: BackupOwner & { bundle?: IdentityBundle | undefined },
): IdentityKeys {
  const keys = parseIdentityPlaintext(open(wrapped, wrapKey, associatedData(owner)));
  if (owner.bundle !== undefined) {
    checkKeysMatch(keys, owner.bundle);
  }
  return keys;
}

/**
 * Check that `bundle` publishes exactly `keys`.
 *
 * @throws {@link KeysMismatchError} otherwise.
 */
export function checkKeysMatch(keys: IdentityKeys, bundle: IdentityBundle): void {
  const sodium = lib();
  const sameSign =
    keys.signPub.length === bundle.signPub.length && sodium.memcmp(keys.signPub, bundle.signPub);
  const sameBox = keys.boxPub.length === bundle.boxPub.length && sodium.memcmp(keys.boxPub, bundle.boxPub);
  if (!(sameSign && sameBox)) {
    throw new KeysMismatchError("the unwrapped keys are not the ones in the identity bundle");
  }
}

/**
 * Check that `bundle` is `user`'s of `tenant`.
 *
 * @throws {@link BundleMismatchError} otherwise.
 */
export function checkBundleOwner(
  bundle: IdentityBundle,
  { tenant, user }: { tenant: string; user: string },
): void {
  if (bundle.tenant !== tenant || bundle.user !== user) {
    throw new BundleMismatchError("the identity bundle belongs to another tenant or user");
  }
}

// --- 5.3 Recovery code -------------------------------------------------------

/**
 * A recovery code: shown once as `text`; `secret` is its 20 bytes. Both are
 * private fields, so neither shows in `JSON.stringify` or `console.log`.
 */
export class RecoveryCode {
  readonly #text: string;
  readonly #secret: Uint8Array;

  constructor(text: string, secret: Uint8Array) {
    this.#text = text;
    this.#secret = secret;
  }

  /** The code as shown to the person, e.g. `7Q2M-...` (eight groups of four). */
  get text(): string {
    return this.#text;
  }

  /** The 20 bytes the code stands for. */
  get secret(): Uint8Array {
    return this.#secret;
  }

  /** Nothing: an accidental `JSON.stringify` leaks no code. */
  toJSON(): Record<string, never> {
    return {};
  }
}

/**
 * 20 bytes as 32 Crockford base32 symbols in eight groups of four.
 *
 * @throws {@link KeyFormatError} if `secret` is not 20 bytes.
 */
export function formatRecoveryCode(secret: Uint8Array): string {
  if (secret.length !== RECOVERY_SECRET_BYTES) {
    throw new KeyFormatError(`a recovery secret is ${RECOVERY_SECRET_BYTES} bytes`);
  }
  const groups: string[] = [];
  let group = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of secret) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      group += RECOVERY_ALPHABET.charAt((buffer >> bits) & 0x1f);
      if (group.length === 4) {
        groups.push(group);
        group = "";
      }
    }
  }
  return groups.join("-");
}

/**
 * The 20 bytes of a recovery code as a person may type it.
 *
 * Case, ASCII whitespace and dashes are ignored; `O` reads as `0` and
 * `I`/`L` as `1`.
 *
 * @throws {@link RecoveryCodeError} for any other character or a length
 *   other than 32 symbols.
 */
export function parseRecoveryCode(text: string): Uint8Array {
  if (typeof text !== "string") {
    throw new RecoveryCodeError("a recovery code is text");
  }
  const out = new Uint8Array(RECOVERY_SECRET_BYTES);
  let count = 0;
  let buffer = 0;
  let bits = 0;
  let position = 0;
  for (const char of text) {
    if (RECOVERY_SEPARATORS.has(char)) {
      continue;
    }
    const value = RECOVERY_DECODE.get(char);
    if (value === undefined) {
      throw new RecoveryCodeError("a recovery code has only the letters and digits shown");
    }
    count += 1;
    if (count > RECOVERY_SYMBOLS) {
      break;
    }
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[position++] = (buffer >> bits) & 0xff;
    }
  }
  if (count !== RECOVERY_SYMBOLS) {
    throw new RecoveryCodeError(`a recovery code has ${RECOVERY_SYMBOLS} letters and digits`);
  }
  return out;
}

/** A fresh random recovery code. */
export function newRecoveryCode(): RecoveryCode {
  const secret = lib().randombytes_buf(RECOVERY_SECRET_BYTES);
  return new RecoveryCode(formatRecoveryCode(secret), secret);
}

/**
 * `recovery_auth_key` and `recovery_wrap_key` for a recovery code's 20 bytes.
 *
 * @throws {@link KeyFormatError} if `secret` is not 20 bytes.
 */
export function recoveryKeys(secret: Uint8Array): PasswordKeys {
  if (secret.length !== RECOVERY_SECRET_BYTES) {
    throw new KeyFormatError(`a recovery secret is ${RECOVERY_SECRET_BYTES} bytes`);
  }
  return new PasswordKeys(keyedHash(secret, RECOVERY_AUTH_LABEL), keyedHash(secret, RECOVERY_WRAP_LABEL));
}

// --- 5.4 Key file ------------------------------------------------------------

/** The JSON of a key file (PROTOCOL.md §5.4). */
export interface KeyFileJson {
  v: number;
  kind: string;
  kdf: KdfParams;
  nonce: string;
  ciphertext: string;
}

function keyFileKey(passphrase: string, kdf: KdfParams): Uint8Array {
  const master = masterKey(passphrase, kdf);
  const key = keyedHash(master, KEY_FILE_LABEL);
  lib().memzero(master);
  return key;
}

/**
 * The JSON of a key file holding `keys` under `passphrase`.
 *
 * `kdf` and `nonce` are for test vectors only; by default both are fresh.
 */
export function makeKeyFile(
  keys: IdentityKeys,
  passphrase: string,
  options: { kdf?: KdfParams | undefined; nonce?: Uint8Array | undefined } = {},
): KeyFileJson {
  const kdf = options.kdf ?? newKdfParams();
  const sealed = wrapIdentityKeys(keys, keyFileKey(passphrase, kdf), {
    purpose: BackupPurpose.KEY_FILE,
    nonce: options.nonce,
  });
  return {
    v: KEY_FILE_VERSION,
    kind: KEY_FILE_KIND,
    kdf: { alg: kdf.alg, ops: kdf.ops, mem: kdf.mem, salt: kdf.salt },
    nonce: b64uEncode(sealed.nonce),
    ciphertext: b64uEncode(sealed.ciphertext),
  };
}

/**
 * The identity keys in a key file.
 *
 * @throws {@link KeyFileError} for a malformed file (its keys included);
 *   {@link UnwrapError} for a wrong passphrase or a tampered file.
 */
export function openKeyFile(data: unknown, passphrase: string): IdentityKeys {
  if (!isObject(data)) {
    throw new KeyFileError("a key file is a JSON object");
  }
  if (!exactFields(data, KEY_FILE_FIELDS)) {
    throw new KeyFileError("a key file has exactly the fields v, kind, kdf, nonce and ciphertext");
  }
  if (data.v !== KEY_FILE_VERSION) {
    throw new KeyFileError(`unsupported key file version ${describe(data.v)}`);
  }
  if (data.kind !== KEY_FILE_KIND) {
    throw new KeyFileError(`a key file is of kind "${KEY_FILE_KIND}"`);
  }
  let kdf: KdfParams;
  let sealed: WrappedKeys;
  try {
    kdf = parseKdfParams(data.kdf);
    sealed = checkSealed(data.nonce, data.ciphertext);
  } catch (error) {
    if (error instanceof KdfError || error instanceof EncodingError) {
      throw new KeyFileError(error.message);
    }
    throw error;
  }
  try {
    return unwrapIdentityKeys(sealed, keyFileKey(passphrase, kdf), { purpose: BackupPurpose.KEY_FILE });
  } catch (error) {
    if (error instanceof WrappedKeysError) {
      throw new KeyFileError(error.message);
    }
    throw error;
  }
}

// --- Invites and sealed boxes ------------------------------------------------

/**
 * SHA-256 of a 32-byte invite token: all the server is told of it.
 *
 * @throws {@link KeyFormatError} if `token` is not 32 bytes.
 */
export function inviteTokenHash(token: Uint8Array): Uint8Array {
  if (token.length !== INVITE_TOKEN_BYTES) {
    throw new KeyFormatError(`an invite token is ${INVITE_TOKEN_BYTES} bytes`);
  }
  return lib().crypto_hash_sha256(token);
}

/**
 * `message` sealed (`crypto_box_seal`) to an X25519 public key, as base64url.
 * Anyone can seal; only the holder of the matching secret key can open it
 * (with {@link openSealed}). A general sealed-box helper.
 *
 * @param boxPub - 32 bytes, or their base64url (a bundle's `box_pub`).
 * @throws {@link KeyFormatError} if `boxPub` is not a 32-byte key.
 */
export function sealToBoxKey(boxPub: Uint8Array | string, message: string): string {
  let key: Uint8Array;
  try {
    key = typeof boxPub === "string" ? b64uDecodeExact(boxPub, 32, "box_pub") : boxPub;
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new KeyFormatError(error.message);
    }
    throw error;
  }
  if (key.length !== 32) {
    throw new KeyFormatError("an X25519 public key is 32 bytes");
  }
  return b64uEncode(lib().crypto_box_seal(utf8.encode(message), key));
}

/**
 * Open a {@link sealToBoxKey} text with `keys`' box key.
 *
 * @throws {@link EncodingError} for text that is not base64url;
 *   {@link UnwrapError} for a box sealed to another key, tampered with, or
 *   not holding UTF-8 text.
 */
export function openSealed(keys: IdentityKeys, sealed: string): string {
  const ciphertext = b64uDecode(sealed);
  const sodium = lib();
  try {
    const opened = sodium.crypto_box_seal_open(ciphertext, keys.boxPub, keys.boxSecret);
    return new TextDecoder("utf-8", { fatal: true }).decode(opened);
  } catch {
    throw new UnwrapError("the sealed box does not open with this key");
  }
}

// --- The state layer's API ---------------------------------------------------

/** A new invite: `token` goes in the link's fragment, only `tokenHash` to the server. */
export function newInvite(): { token: string; tokenHash: string } {
  const token = lib().randombytes_buf(INVITE_TOKEN_BYTES);
  return { token: b64uEncode(token), tokenHash: b64uEncode(inviteTokenHash(token)) };
}

/** A backup for the server: the auth key it checks and the wrapped keys it stores. */
export interface BackupForServer {
  authKey: string;
  wrappedKeys: WrappedKeysJson;
}

/** Everything `POST /api/auth/signup` needs, plus what the client keeps. */
export interface PreparedSignup extends BackupForServer {
  kdf: KdfParams;
  identityBundle: IdentityBundleJson;
  recovery: BackupForServer;
  /** Show this once; it is not stored anywhere. */
  recoveryCode: string;
  /** The identity, to keep in the key store once the signup succeeds. */
  keys: IdentityKeys;
}

/**
 * Prepare a signup: makes (or takes, for "use an existing key file") the
 * identity keys, a fresh KDF salt, the self-signed bundle, the password
 * backup, a recovery code and the recovery backup.
 *
 * @param created - Unix milliseconds, for the bundle.
 * @throws {@link PasswordError} for a password outside 10-1,024 characters;
 *   {@link BundleError} for a tenant or username that is not valid (the
 *   caller lower-cases what a person types).
 */
export function prepareSignup(args: {
  tenant: string;
  username: string;
  password: string;
  created: number;
  keys?: IdentityKeys | undefined;
}): PreparedSignup {
  const { tenant, username, password, created } = args;
  checkPassword(password);
  const keys = args.keys ?? IdentityKeys.generate();
  const bundle = makeIdentityBundle(keys, { tenant, user: username, created });
  const passwordBackup = rewrapForPassword(keys, password, tenant, username);
  const recovery = newRecoveryFor(keys, tenant, username);
  return {
    kdf: passwordBackup.kdf,
    authKey: passwordBackup.authKey,
    identityBundle: bundle.toJson(),
    wrappedKeys: passwordBackup.wrappedKeys,
    recovery: { authKey: recovery.authKey, wrappedKeys: recovery.wrappedKeys },
    recoveryCode: recovery.recoveryCode,
    keys,
  };
}

/** What the server returned to a login or recovery unlock, and whom it was for. */
export interface UnlockArgs {
  /** `wrapped_keys` (login) or `recovery_wrapped_keys` (recovery), unparsed. */
  wrappedKeys: unknown;
  /** `identity_bundle`, unparsed. */
  identityBundle: unknown;
  tenant: string;
  username: string;
}

/** A derived auth key to send, and the unlock step that uses the matching wrap key. */
export interface PreparedUnlock {
  /** Base64url; send as `auth_key` (or `recovery_auth_key`). */
  authKey: string;
  /**
   * Verify the bundle (self-signature, tenant and user), open the backup and
   * check that its keys are the bundle's.
   *
   * @throws {@link BundleError}, {@link SignatureError} or
   *   {@link BundleMismatchError} for a bundle that is not this user's;
   *   {@link WrappedKeysError}, {@link UnwrapError} or
   *   {@link KeysMismatchError} for a backup that does not open to it.
   */
  unlock(args: UnlockArgs): IdentityKeys;
}

function unlocker(keys: PasswordKeys, purpose: BackupPurpose): PreparedUnlock {
  return {
    authKey: b64uEncode(keys.authKey),
    unlock({ wrappedKeys, identityBundle, tenant, username }: UnlockArgs): IdentityKeys {
      const bundle = parseIdentityBundle(identityBundle);
      checkBundleOwner(bundle, { tenant, user: username });
      return unwrapIdentityKeys(parseWrappedKeys(wrappedKeys), keys.wrapKey, {
        purpose,
        tenant,
        user: username,
        bundle,
      });
    },
  };
}

/**
 * Prepare a login: derive the keys from `password` and the `kdf` the server
 * returned from prelogin. No length rule here: an existing password is
 * whatever it is.
 *
 * @throws {@link KdfError} for parameters outside §5.1;
 *   {@link PasswordError} for a lone surrogate.
 */
export function prepareLogin(password: string, kdf: unknown): PreparedUnlock {
  return unlocker(derivePasswordKeys(password, parseKdfParams(kdf)), BackupPurpose.KEY_BACKUP);
}

/**
 * Prepare a recovery: read the code as typed and derive its keys.
 *
 * @throws {@link RecoveryCodeError} for text that is not a recovery code.
 */
export function prepareRecovery(code: string): PreparedUnlock {
  return unlocker(recoveryKeys(parseRecoveryCode(code)), BackupPurpose.RECOVERY_BACKUP);
}

/**
 * A new password for the same identity: a fresh salt, the new auth key and
 * the keys wrapped under the new wrap key (`new_kdf`, `new_auth_key`,
 * `new_wrapped_keys`).
 *
 * @throws {@link PasswordError} for a password outside 10-1,024 characters.
 */
export function rewrapForPassword(
  keys: IdentityKeys,
  password: string,
  tenant: string,
  username: string,
): BackupForServer & { kdf: KdfParams } {
  checkPassword(password);
  const kdf = newKdfParams();
  const derived = derivePasswordKeys(password, kdf);
  const wrapped = wrapIdentityKeys(keys, derived.wrapKey, {
    purpose: BackupPurpose.KEY_BACKUP,
    tenant,
    user: username,
  });
  return { kdf, authKey: b64uEncode(derived.authKey), wrappedKeys: wrapped.toJson() };
}

/** A new recovery code for the same identity, and the recovery backup under it. */
export function newRecoveryFor(
  keys: IdentityKeys,
  tenant: string,
  username: string,
): BackupForServer & { recoveryCode: string } {
  const code = newRecoveryCode();
  const derived = recoveryKeys(code.secret);
  const wrapped = wrapIdentityKeys(keys, derived.wrapKey, {
    purpose: BackupPurpose.RECOVERY_BACKUP,
    tenant,
    user: username,
  });
  return { recoveryCode: code.text, authKey: b64uEncode(derived.authKey), wrappedKeys: wrapped.toJson() };
}

/**
 * A key file's text (pretty JSON) holding `keys` under `passphrase`.
 *
 * @throws {@link PasswordError} for a passphrase outside 10-1,024 characters.
 */
export function exportKeyFile(keys: IdentityKeys, passphrase: string): string {
  checkPassword(passphrase);
  return `${JSON.stringify(makeKeyFile(keys, passphrase), null, 2)}\n`;
}

/**
 * The identity keys in a key file's text.
 *
 * @throws {@link KeyFileError} for text that is not a key file;
 *   {@link UnwrapError} for a wrong passphrase or a tampered file.
 */
export function importKeyFile(text: string, passphrase: string): IdentityKeys {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new KeyFileError("a key file is JSON");
  }
  return openKeyFile(data, passphrase);
}
