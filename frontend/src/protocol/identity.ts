/**
 * Identity keys and the self-signed identity bundle (ARCHITECTURE.md §4;
 * mirrors `protocol/identity.py`).
 *
 * A person's identity is an Ed25519 signing key and an X25519 box key, made in
 * their browser. The bundle publishes the two public keys for one user of one
 * tenant and is signed by the signing key itself, so the server cannot alter a
 * field without the change being detected.
 */

import { b64uDecodeExact, b64uEncode, canonicalJson, isPlainObject, MAX_SAFE_INTEGER } from "./encoding";
import { BundleError, EncodingError, KeyFormatError } from "./errors";
import { SignatureTag, sign, signPublicKey, verify } from "./signing";
import { lib } from "./sodium";

export const BUNDLE_VERSION = 1;
export const BOX_SECRET_BYTES = 32;
export const TENANT_SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const BUNDLE_FIELDS: readonly string[] = ["v", "tenant", "user", "sign_pub", "box_pub", "created", "sig"];

/**
 * A person's two key pairs. The secret halves never leave the client; they are
 * held in private fields, so `JSON.stringify`, object spread and
 * `console.log` of an `IdentityKeys` show only the public keys.
 */
export class IdentityKeys {
  readonly signPub: Uint8Array;
  readonly boxPub: Uint8Array;
  readonly #signSeed: Uint8Array;
  readonly #boxSecret: Uint8Array;

  private constructor(signSeed: Uint8Array, boxSecret: Uint8Array, signPub: Uint8Array, boxPub: Uint8Array) {
    this.#signSeed = signSeed;
    this.#boxSecret = boxSecret;
    this.signPub = signPub;
    this.boxPub = boxPub;
  }

  /**
   * Rebuild the key pairs from their secret halves (copied, not retained).
   *
   * @throws {@link KeyFormatError} if either secret is not 32 bytes.
   */
  static fromSecrets(signSeed: Uint8Array, boxSecret: Uint8Array): IdentityKeys {
    if (boxSecret.length !== BOX_SECRET_BYTES) {
      throw new KeyFormatError("an X25519 secret key is 32 bytes");
    }
    const boxPub = lib().crypto_scalarmult_base(boxSecret);
    const signPub = signPublicKey(signSeed);
    return new IdentityKeys(signSeed.slice(), boxSecret.slice(), signPub, boxPub);
  }

  /** Make fresh random key pairs. */
  static generate(): IdentityKeys {
    const sodium = lib();
    return IdentityKeys.fromSecrets(sodium.randombytes_buf(32), sodium.randombytes_buf(BOX_SECRET_BYTES));
  }

  /** The 32-byte Ed25519 seed. Secret: never send, log or store it unwrapped. */
  get signSeed(): Uint8Array {
    return this.#signSeed;
  }

  /** The 32-byte X25519 secret key. Secret: never send, log or store it unwrapped. */
  get boxSecret(): Uint8Array {
    return this.#boxSecret;
  }

  /** Only the public halves, so an accidental `JSON.stringify` leaks nothing. */
  toJSON(): { sign_pub: string; box_pub: string } {
    return { sign_pub: b64uEncode(this.signPub), box_pub: b64uEncode(this.boxPub) };
  }
}

/** The fields an identity bundle's signature covers (order as Python's `unsigned_json`). */
export interface UnsignedIdentityBundleJson {
  v: number;
  tenant: string;
  user: string;
  sign_pub: string;
  box_pub: string;
  created: number;
}

/** The wire form of an identity bundle: the signed fields plus `sig`. */
export interface IdentityBundleJson extends UnsignedIdentityBundleJson {
  sig: string;
}

const CONSTRUCT: unique symbol = Symbol("IdentityBundle");

/**
 * A verified identity bundle. Only {@link parseIdentityBundle} and
 * {@link makeIdentityBundle} construct one, so holding one means its
 * fields are well-formed and its self-signature verified.
 */
export class IdentityBundle {
  readonly v: number = BUNDLE_VERSION;
  readonly tenant: string;
  readonly user: string;
  readonly signPub: Uint8Array;
  readonly boxPub: Uint8Array;
  readonly created: number;
  readonly sig: Uint8Array;

  /** @internal Use {@link parseIdentityBundle} or {@link makeIdentityBundle}. */
  constructor(
    token: typeof CONSTRUCT,
    fields: {
      tenant: string;
      user: string;
      signPub: Uint8Array;
      boxPub: Uint8Array;
      created: number;
      sig: Uint8Array;
    },
  ) {
    if (token !== CONSTRUCT) {
      throw new TypeError("use parseIdentityBundle() or makeIdentityBundle()");
    }
    this.tenant = fields.tenant;
    this.user = fields.user;
    this.signPub = fields.signPub;
    this.boxPub = fields.boxPub;
    this.created = fields.created;
    this.sig = fields.sig;
  }

  /** The fields the signature covers (everything but `sig`). */
  unsignedJson(): UnsignedIdentityBundleJson {
    return unsignedJson(this);
  }

  /** The wire form, signature included. */
  toJson(): IdentityBundleJson {
    return { ...unsignedJson(this), sig: b64uEncode(this.sig) };
  }

  /** SHA-256 of the signing key: what people compare to trust it. */
  get fingerprint(): Uint8Array {
    return fingerprint(this.signPub);
  }
}

function unsignedJson(fields: {
  v: number;
  tenant: string;
  user: string;
  signPub: Uint8Array;
  boxPub: Uint8Array;
  created: number;
}): UnsignedIdentityBundleJson {
  return {
    v: fields.v,
    tenant: fields.tenant,
    user: fields.user,
    sign_pub: b64uEncode(fields.signPub),
    box_pub: b64uEncode(fields.boxPub),
    created: fields.created,
  };
}

/**
 * SHA-256 of an Ed25519 public key: what people compare to trust a key.
 *
 * @throws {@link KeyFormatError} if `signPub` is not 32 bytes.
 */
export function fingerprint(signPub: Uint8Array): Uint8Array {
  if (signPub.length !== 32) {
    throw new KeyFormatError("an Ed25519 public key is 32 bytes");
  }
  return lib().crypto_hash_sha256(signPub);
}

function checkUnsignedFields(
  tenant: unknown,
  user: unknown,
  created: unknown,
): { tenant: string; user: string; created: number } {
  if (typeof tenant !== "string" || !TENANT_SLUG_PATTERN.test(tenant)) {
    throw new BundleError("tenant must be a slug: a-z, 0-9 and '-', at most 63 characters");
  }
  if (typeof user !== "string" || !USERNAME_PATTERN.test(user)) {
    throw new BundleError(
      "user must be 1-64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit",
    );
  }
  // Python: `type(created) is not int` also refuses booleans; typeof does here.
  if (
    typeof created !== "number" ||
    !Number.isSafeInteger(created) ||
    created < 0 ||
    created > MAX_SAFE_INTEGER
  ) {
    throw new BundleError("created must be a non-negative integer (Unix milliseconds)");
  }
  return { tenant, user, created };
}

/**
 * Make and self-sign the bundle that publishes `keys` for `user`.
 *
 * @param created - Unix milliseconds.
 * @throws {@link BundleError} if tenant, user or created is malformed.
 */
export function makeIdentityBundle(
  keys: IdentityKeys,
  { tenant, user, created }: { tenant: string; user: string; created: number },
): IdentityBundle {
  checkUnsignedFields(tenant, user, created);
  const draft = { v: BUNDLE_VERSION, tenant, user, signPub: keys.signPub, boxPub: keys.boxPub, created };
  const sig = sign(SignatureTag.IDENTITY, canonicalJson(unsignedJson(draft)), keys.signSeed);
  return new IdentityBundle(CONSTRUCT, {
    tenant,
    user,
    signPub: keys.signPub.slice(),
    boxPub: keys.boxPub.slice(),
    created,
    sig,
  });
}

/**
 * Validate the wire form of a bundle and verify its self-signature.
 *
 * @throws {@link BundleError} for a malformed bundle (not a plain object,
 *   missing or extra fields, version other than the integer 1, bad tenant,
 *   user or created, keys or signature not strict base64url of the right
 *   size); {@link SignatureError} for one whose signature fails.
 */
export function parseIdentityBundle(data: unknown): IdentityBundle {
  if (typeof data !== "object" || data === null || Array.isArray(data) || !isPlainObject(data)) {
    throw new BundleError("an identity bundle is a JSON object");
  }
  const keys = Object.keys(data);
  const missing = BUNDLE_FIELDS.filter((name) => !Object.hasOwn(data, name)).sort();
  const extra = keys.filter((name) => !BUNDLE_FIELDS.includes(name)).sort();
  if (missing.length > 0 || extra.length > 0) {
    throw new BundleError(
      `identity bundle fields: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`,
    );
  }
  const version = data.v;
  // Python: `type(v) is not int` refuses True as well as "1" and 2.
  if (typeof version !== "number" || version !== BUNDLE_VERSION) {
    throw new BundleError(
      `unsupported identity bundle version ${JSON.stringify(version) ?? String(version)}`,
    );
  }
  const { tenant, user, created } = checkUnsignedFields(data.tenant, data.user, data.created);
  let signPub: Uint8Array;
  let boxPub: Uint8Array;
  let sig: Uint8Array;
  try {
    signPub = b64uDecodeExact(data.sign_pub, 32, "sign_pub");
    boxPub = b64uDecodeExact(data.box_pub, 32, "box_pub");
    sig = b64uDecodeExact(data.sig, 64, "sig");
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new BundleError(error.message);
    }
    throw error;
  }
  const bundle = new IdentityBundle(CONSTRUCT, { tenant, user, signPub, boxPub, created, sig });
  verify(SignatureTag.IDENTITY, canonicalJson(bundle.unsignedJson()), sig, signPub);
  return bundle;
}
