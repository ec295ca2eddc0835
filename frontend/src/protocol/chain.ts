/**
 * The trust chain: admin-signed membership (PROTOCOL.md §6; mirrors
 * `protocol/chain.py`).
 *
 * Each tenant has one append-only chain of signed links. Applying the links
 * in order gives a {@link ChainState}: who is a member, with which keys and
 * roles, the signup policy, the invites and who is in which room. The server
 * applies each link before storing it and this client applies the chain
 * again, with the very same rules (both pass `tests/vectors/chain/`).
 *
 * {@link parseLink} checks a link on its own (shape, body schema, size, its
 * signatures); {@link ChainState.apply} judges it against the state before it
 * (order, time, authorization); {@link verifyChain} does both for a list of
 * links, from the genesis or incrementally from a verified state. Every
 * refusal is a {@link ChainError} with a stable code.
 *
 * Everything is synchronous after `await sodiumReady()`.
 */

import { b64uDecodeExact, b64uEncode, canonicalJson, isPlainObject, MAX_SAFE_INTEGER } from "./encoding";
import { BundleError, CanonicalJsonError, ChainError, EncodingError, SignatureError } from "./errors";
import {
  BUNDLE_VERSION,
  IdentityBundle,
  type IdentityBundleJson,
  parseIdentityBundle,
  TENANT_SLUG_PATTERN,
  USERNAME_PATTERN,
} from "./identity";
import { SignatureTag, sign, signingInput, signPublicKey, verify } from "./signing";
import { lib } from "./sodium";

export const LINK_VERSION = 1;
export const MAX_LINK_BYTES = 16 * 1024;
export const MAX_ROOTS = 8;
export const MAX_DOMAINS = 64;
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const MAX_PGP_FINGERPRINTS = MAX_ROOTS;
const HASH_BYTES = 32;
const MAX_DOMAIN_CHARS = 253;
const DOMAIN_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const ROOM_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PGP_FINGERPRINT_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The link types of PROTOCOL.md §6.2. */
export const LinkType = {
  GENESIS: "genesis",
  POLICY: "policy",
  INVITE: "invite",
  ADMIT: "admit",
  SET_ROLE: "set_role",
  REMOVE: "remove",
  ROTATE_KEYS: "rotate_keys",
  ROOM_CREATE: "room_create",
  ROOM_ADD: "room_add",
  ROOM_REMOVE: "room_remove",
  ROOM_ROLE: "room_role",
} as const;
/** One of the {@link LinkType} values. */
export type LinkType = (typeof LinkType)[keyof typeof LinkType];

/** A member's tenant role. "Admin" in the rules means `admin` or `owner`. */
export const Role = { OWNER: "owner", ADMIN: "admin", MEMBER: "member" } as const;
/** One of the {@link Role} values. */
export type Role = (typeof Role)[keyof typeof Role];

/** A member's role in one room. */
export const RoomRole = { OWNER: "owner", ADMIN: "admin", MEMBER: "member" } as const;
/** One of the {@link RoomRole} values. */
export type RoomRole = (typeof RoomRole)[keyof typeof RoomRole];

/** How a member was admitted: shown to everyone beside their name. */
export const AdmitHow = {
  GENESIS: "genesis",
  APPROVAL: "approval",
  INVITE: "invite",
  OPEN: "open",
  DOMAIN: "domain",
} as const;
/** One of the {@link AdmitHow} values. */
export type AdmitHow = (typeof AdmitHow)[keyof typeof AdmitHow];

/** The tenant's signup policy mode. */
export const PolicyMode = { OPEN: "open", APPROVAL: "approval", DOMAIN: "domain", INVITE: "invite" } as const;
/** One of the {@link PolicyMode} values. */
export type PolicyMode = (typeof PolicyMode)[keyof typeof PolicyMode];

/** A room's kind. */
export const RoomKind = { CHANNEL: "channel", PRIVATE: "private", DM: "dm" } as const;
/** One of the {@link RoomKind} values. */
export type RoomKind = (typeof RoomKind)[keyof typeof RoomKind];

/** Which history a newcomer to a room may read. */
export const RoomHistory = { ALL: "all", JOINED: "joined" } as const;
/** One of the {@link RoomHistory} values. */
export type RoomHistory = (typeof RoomHistory)[keyof typeof RoomHistory];

/** A JSON object as `JSON.parse` makes it. */
export type JsonObject = Record<string, unknown>;

/** The wire form of a link (PROTOCOL.md §6.1). */
export interface LinkJson {
  v: number;
  tenant: string;
  seq: number;
  prev: string | null;
  ts: number;
  type: LinkType;
  body: JsonObject;
  signer: string;
  sig: string;
  cosigs?: { signer: string; sig: string }[];
}

const LINK_FIELDS: readonly string[] = ["v", "tenant", "seq", "prev", "ts", "type", "body", "signer", "sig"];
const COSIG_FIELDS: readonly string[] = ["signer", "sig"];
const INVITE_ROLES: readonly Role[] = [Role.MEMBER, Role.ADMIN];
/** The fields of an identity bundle (identity.ts). */
const BUNDLE_FIELDS: readonly string[] = ["v", "tenant", "user", "sign_pub", "box_pub", "created", "sig"];

function malformed(message: string): ChainError {
  return new ChainError("malformed_link", message);
}

// --- The link ------------------------------------------------------------------

const CONSTRUCT: unique symbol = Symbol("Link");

/**
 * One link. {@link parseLink} makes verified ones; {@link signLink} signs new
 * ones. `body` is the JSON body as received.
 */
export class Link {
  readonly v: number = LINK_VERSION;
  readonly tenant: string;
  readonly seq: number;
  readonly prev: Uint8Array | null;
  readonly ts: number;
  readonly type: LinkType;
  readonly body: JsonObject;
  readonly signer: Uint8Array;
  readonly sig: Uint8Array;
  /** (signer, sig) pairs of the other roots; only in a genesis. */
  readonly cosigs: readonly (readonly [Uint8Array, Uint8Array])[];
  /** @internal Set by parseLink: the verified bundles in the body (undefined: not verified). */
  readonly bundles: readonly IdentityBundle[] | undefined;
  #encoded: Uint8Array | undefined;
  #hash: Uint8Array | undefined;

  /** @internal Use {@link parseLink} or {@link signLink}. */
  constructor(
    token: typeof CONSTRUCT,
    fields: {
      tenant: string;
      seq: number;
      prev: Uint8Array | null;
      ts: number;
      type: LinkType;
      body: JsonObject;
      signer: Uint8Array;
      sig: Uint8Array;
      cosigs: readonly (readonly [Uint8Array, Uint8Array])[];
      encoded?: Uint8Array;
      bundles?: readonly IdentityBundle[];
    },
  ) {
    if (token !== CONSTRUCT) {
      throw new TypeError("use parseLink() or signLink()");
    }
    this.tenant = fields.tenant;
    this.seq = fields.seq;
    this.prev = fields.prev;
    this.ts = fields.ts;
    this.type = fields.type;
    this.body = fields.body;
    this.signer = fields.signer;
    this.sig = fields.sig;
    this.cosigs = fields.cosigs;
    this.#encoded = fields.encoded;
    this.bundles = fields.bundles;
  }

  /** What `sig` and every cosig cover: the link without `sig` and `cosigs`. */
  unsignedJson(): Omit<LinkJson, "sig" | "cosigs"> {
    return {
      v: this.v,
      tenant: this.tenant,
      seq: this.seq,
      prev: this.prev === null ? null : b64uEncode(this.prev),
      ts: this.ts,
      type: this.type,
      body: this.body,
      signer: b64uEncode(this.signer),
    };
  }

  /** The wire form (`cosigs` only when there are some). */
  toJson(): LinkJson {
    const document: LinkJson = { ...this.unsignedJson(), sig: b64uEncode(this.sig) };
    if (this.cosigs.length > 0) {
      document.cosigs = this.cosigs.map(([signer, sig]) => ({
        signer: b64uEncode(signer),
        sig: b64uEncode(sig),
      }));
    }
    return document;
  }

  /** JCS of the whole link, signatures included. */
  get encoded(): Uint8Array {
    if (this.#encoded === undefined) {
      this.#encoded = canonicalJson(this.toJson());
    }
    return this.#encoded;
  }

  /** SHA-256 of {@link Link.encoded}: what the next link's `prev` names. */
  get hash(): Uint8Array {
    if (this.#hash === undefined) {
      this.#hash = lib().crypto_hash_sha256(this.encoded);
    }
    return this.#hash;
  }
}

/** The hash of a link given in wire form (it is parsed and verified first). */
export function linkHash(data: unknown): Uint8Array {
  return parseLink(data).hash;
}

/**
 * JCS of a link whose fields are already validated (all ASCII that JSON
 * leaves unescaped), around the body's canonical bytes. Keys in RFC 8785
 * order: body, cosigs, prev, seq, sig, signer, tenant, ts, type, v.
 */
function encodeLink(
  fields: { tenant: string; seq: number; prev: string | null; ts: number; type: string; signer: string },
  body: Uint8Array,
  sig: string | null,
  cosigs: readonly (readonly [string, string])[],
  tag?: SignatureTag,
): Uint8Array {
  let head = "";
  if (sig !== null && cosigs.length > 0) {
    head = `,"cosigs":[${cosigs.map(([key, cosig]) => `{"sig":"${cosig}","signer":"${key}"}`).join(",")}]`;
  }
  head += `,"prev":${fields.prev === null ? "null" : `"${fields.prev}"`},"seq":${fields.seq}`;
  if (sig !== null) {
    head += `,"sig":"${sig}"`;
  }
  head += `,"signer":"${fields.signer}","tenant":"${fields.tenant}","ts":${fields.ts},"type":"${fields.type}","v":${LINK_VERSION}}`;
  // With a tag: the signing input `tag || 0x00 || JCS` (signing.ts), made in one go.
  const prefix = tag === undefined ? '{"body":' : `${tag}\u0000{"body":`;
  const out = new Uint8Array(prefix.length + body.length + head.length);
  writeAscii(out, 0, prefix);
  out.set(body, prefix.length);
  writeAscii(out, prefix.length + body.length, head);
  return out;
}

/** Write ASCII `text` into `out` at `offset` (what TextEncoder gives for it, without a call per piece). */
function writeAscii(out: Uint8Array, offset: number, text: string): void {
  for (let index = 0; index < text.length; index++) {
    out[offset + index] = text.charCodeAt(index);
  }
}

/** Strings whose JSON form is the text in quotes: printable ASCII but `"` and `\\`. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const MAX_FAST_DEPTH = 32;

/**
 * The text of `canonicalJson(value)` for plain JSON data: plain objects and
 * arrays, safe integers, booleans, null, and strings and keys of
 * {@link PLAIN_STRING}. Undefined for anything else (the caller then lets
 * canonicalJson decide): the same bytes, without its separate checking walk
 * and text encoding.
 */
function plainCanonicalJson(value: unknown, depth = 0): string | undefined {
  if (value === null) {
    return "null";
  }
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return Number.isSafeInteger(value) ? `${value}` : undefined;
    case "string":
      return PLAIN_STRING.test(value) ? `"${value}"` : undefined;
    case "object": {
      if (depth >= MAX_FAST_DEPTH) {
        return undefined;
      }
      const parts: string[] = [];
      if (Object.getPrototypeOf(value) === Array.prototype) {
        const array = value as unknown[];
        for (let index = 0; index < array.length; index++) {
          const item = Object.hasOwn(array, index) ? plainCanonicalJson(array[index], depth + 1) : undefined;
          if (item === undefined) {
            return undefined;
          }
          parts.push(item);
        }
        return `[${parts.join(",")}]`;
      }
      if (!isPlainObject(value) || Object.getOwnPropertySymbols(value).length > 0) {
        return undefined;
      }
      for (const key of Object.keys(value).sort()) {
        const item = plainCanonicalJson(value[key], depth + 1);
        if (item === undefined || !PLAIN_STRING.test(key)) {
          return undefined;
        }
        parts.push(`"${key}":${item}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      return undefined;
  }
}

// --- Field checks ----------------------------------------------------------------

function checkObject(
  value: unknown,
  required: readonly string[],
  optional: readonly string[],
  what: string,
): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw malformed(`${what} must be a JSON object`);
  }
  const missing = required.filter((name) => !Object.hasOwn(value, name)).sort();
  const extra = Object.keys(value)
    .filter((name) => !required.includes(name) && !optional.includes(name))
    .sort();
  if (missing.length > 0 || extra.length > 0) {
    throw malformed(
      `${what} fields: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(extra)}`,
    );
  }
  return value;
}

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= MAX_SAFE_INTEGER;
}

const B64U_VALUES: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (let index = 0; index < alphabet.length; index++) {
    table[alphabet.charCodeAt(index)] = index;
  }
  return table;
})();

/**
 * What `b64uDecodeExact(text, length)` returns, when it returns: strict
 * unpadded base64url of exactly `length` bytes, zero trailing bits. Undefined
 * for any other input (the caller then lets b64uDecodeExact name the fault).
 */
function decodeExactFast(text: unknown, length: number): Uint8Array | undefined {
  // The one text length that decodes to `length` bytes (a length ≡ 1 mod 4 is refused).
  if (typeof text !== "string" || text.length !== Math.ceil((length * 4) / 3)) {
    return undefined;
  }
  const out = new Uint8Array(length);
  let buffer = 0;
  let bits = 0;
  let position = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const value = code < 128 ? (B64U_VALUES[code] ?? -1) : -1;
    if (value < 0) {
      return undefined;
    }
    buffer = ((buffer << 6) | value) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[position++] = (buffer >> bits) & 0xff;
    }
  }
  // Non-zero trailing bits would not re-encode to the same text.
  return position === length && (buffer & ((1 << bits) - 1)) === 0 ? out : undefined;
}

function bytes(value: unknown, length: number, what: string): Uint8Array {
  const fast = decodeExactFast(value, length);
  if (fast !== undefined) {
    return fast;
  }
  try {
    return b64uDecodeExact(value, length, what);
  } catch (error) {
    if (error instanceof EncodingError) {
      throw malformed(error.message);
    }
    throw error;
  }
}

function checkUser(value: unknown, what = "user"): string {
  if (typeof value !== "string" || !USERNAME_PATTERN.test(value)) {
    throw malformed(`${what} must be a username (PROTOCOL.md §3.1)`);
  }
  return value;
}

function choice<T extends string>(value: unknown, kind: Readonly<Record<string, T>>, what: string): T {
  const values: readonly string[] = Object.values(kind);
  if (typeof value !== "string" || !values.includes(value)) {
    throw malformed(`${what} must be one of ${JSON.stringify(values)}`);
  }
  return value as T;
}

function checkRoomId(value: unknown): string {
  if (typeof value !== "string" || !ROOM_ID_PATTERN.test(value)) {
    throw malformed("room must be a lower-case UUID string");
  }
  return value;
}

/**
 * @internal A signature check that {@link DeferredChainRun} puts off: Ed25519
 * over `input` (the full signing input, tag included) by `publicKey`. The
 * checks of a run are in the order the sequential verifier makes them.
 */
export interface DeferredSignature {
  readonly publicKey: Uint8Array;
  /** `publicKey` in base64url (its text in the link). */
  readonly keyText: string;
  readonly input: Uint8Array;
  readonly signature: Uint8Array;
  /** The `bad_signature` message if it fails. */
  readonly message: string;
  /** Index of the link in the list given to the run. */
  readonly at: number;
}

/** Where a link's signature checks go when they are put off. */
interface Sink {
  readonly checks: DeferredSignature[];
  readonly at: number;
}

function checkSignature(
  sink: Sink | undefined,
  tag: SignatureTag,
  input: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  publicKey: Uint8Array,
  keyText: string,
  failure: string,
): void {
  if (sink !== undefined) {
    sink.checks.push({ publicKey, keyText, input, signature, message: failure, at: sink.at });
    return;
  }
  try {
    verify(tag, message, signature, publicKey);
  } catch (error) {
    if (error instanceof SignatureError) {
      throw new ChainError("bad_signature", failure);
    }
    throw error;
  }
}

/**
 * An identity bundle whose self-signature check goes to `sink`. Only a
 * bundle that parseIdentityBundle's checks certainly accept takes this way
 * (the same conditions, without their messages); any other goes to
 * {@link checkBundle}, which names its fault exactly as the sequential
 * verifier does.
 */
function checkBundleDeferred(value: unknown, what: string, sink: Sink): IdentityBundle {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    return checkBundle(value, what);
  }
  const keys = Object.keys(value);
  const { v, tenant, user, created, sign_pub: signText, box_pub: boxText } = value;
  if (
    keys.length !== BUNDLE_FIELDS.length ||
    !keys.every((key) => BUNDLE_FIELDS.includes(key)) ||
    typeof v !== "number" ||
    v !== BUNDLE_VERSION ||
    typeof tenant !== "string" ||
    !TENANT_SLUG_PATTERN.test(tenant) ||
    typeof user !== "string" ||
    !USERNAME_PATTERN.test(user) ||
    typeof created !== "number" ||
    !Number.isSafeInteger(created) ||
    created < 0 ||
    typeof signText !== "string" ||
    typeof boxText !== "string"
  ) {
    return checkBundle(value, what);
  }
  const signPub = decodeExactFast(signText, 32);
  const boxPub = decodeExactFast(boxText, 32);
  const sig = decodeExactFast(value.sig, 64);
  if (signPub === undefined || boxPub === undefined || sig === undefined) {
    return checkBundle(value, what);
  }
  // JCS of the unsigned bundle: every field is ASCII that JSON leaves as it
  // is, and strict base64url re-encodes to the very same text.
  const json = `{"box_pub":"${boxText}","created":${created},"sign_pub":"${signText}","tenant":"${tenant}","user":"${user}","v":${BUNDLE_VERSION}}`;
  const text = `${SignatureTag.IDENTITY}\u0000${json}`;
  const input = new Uint8Array(text.length);
  writeAscii(input, 0, text);
  sink.checks.push({
    publicKey: signPub,
    keyText: signText,
    input,
    signature: sig,
    message: `${what}: its self-signature does not verify`,
    at: sink.at,
  });
  // An IdentityBundle like parseIdentityBundle's (same prototype and fields):
  // its signature is checked before the run's result is given out.
  const bundle: IdentityBundle = Object.create(IdentityBundle.prototype);
  return Object.assign(bundle, { v: BUNDLE_VERSION, tenant, user, signPub, boxPub, created, sig });
}

function checkBundle(value: unknown, what: string): IdentityBundle {
  try {
    return parseIdentityBundle(value);
  } catch (error) {
    if (error instanceof BundleError) {
      throw malformed(`${what}: ${error.message}`);
    }
    if (error instanceof SignatureError) {
      throw new ChainError("bad_signature", `${what}: its self-signature does not verify`);
    }
    throw error;
  }
}

function checkPolicy(value: unknown, what: string): Policy {
  const object = checkObject(value, ["mode", "domains"], [], what);
  const mode = choice(object.mode, PolicyMode, `${what}.mode`);
  const domains = object.domains;
  if (!Array.isArray(domains) || domains.length > MAX_DOMAINS) {
    throw malformed(`${what}.domains must be a list of at most ${MAX_DOMAINS} domains`);
  }
  for (const domain of domains) {
    if (typeof domain !== "string" || domain.length > MAX_DOMAIN_CHARS || !DOMAIN_PATTERN.test(domain)) {
      throw malformed(`${what}.domains must be lower-case domain names`);
    }
  }
  if (new Set(domains).size !== domains.length) {
    throw malformed(`${what}.domains must be distinct`);
  }
  if (mode === PolicyMode.DOMAIN && domains.length === 0) {
    throw malformed(`${what}: the domain mode needs at least one domain`);
  }
  return { mode, domains: [...(domains as string[])] };
}

const BODY_FIELDS: Readonly<Record<LinkType, readonly [readonly string[], readonly string[]]>> = {
  genesis: [["roots", "policy", "server_key"], ["pgp"]],
  policy: [["mode", "domains"], []],
  invite: [["token_hash", "role", "expires"], []],
  admit: [["bundle", "role", "how"], ["token"]],
  set_role: [["user", "role"], []],
  remove: [["user"], []],
  rotate_keys: [["user", "bundle"], []],
  room_create: [["room", "kind", "history"], []],
  room_add: [["room", "user", "role"], []],
  room_remove: [["room", "user"], []],
  room_role: [["room", "user", "role"], []],
};

/** The per-type schema (PROTOCOL.md §6.2); returns the verified bundles in the body. */
function checkBody(type: LinkType, body: JsonObject, ts: number, sink: Sink | undefined): IdentityBundle[] {
  const bundle = (value: unknown, what: string): IdentityBundle =>
    sink === undefined ? checkBundle(value, what) : checkBundleDeferred(value, what, sink);
  const [fields, optional] = BODY_FIELDS[type];
  checkObject(body, fields, optional, `${type} body`);
  switch (type) {
    case LinkType.GENESIS: {
      const roots = body.roots;
      if (!Array.isArray(roots) || roots.length < 1 || roots.length > MAX_ROOTS) {
        throw malformed(`roots must be a list of 1 to ${MAX_ROOTS} identity bundles`);
      }
      const bundles = roots.map((root: unknown, index) => bundle(root, `roots[${index}]`));
      if (new Set(bundles.map((bundle) => bundle.user)).size !== bundles.length) {
        throw malformed("roots must be distinct users");
      }
      if (new Set(bundles.map((bundle) => b64uEncode(bundle.signPub))).size !== bundles.length) {
        throw malformed("roots must have distinct signing keys");
      }
      checkPolicy(body.policy, "policy");
      bytes(body.server_key, 32, "server_key");
      if (Object.hasOwn(body, "pgp")) {
        const pgp = body.pgp;
        if (!Array.isArray(pgp) || pgp.length > MAX_PGP_FINGERPRINTS) {
          throw malformed(`pgp must be a list of at most ${MAX_PGP_FINGERPRINTS}`);
        }
        for (const fingerprint of pgp) {
          if (typeof fingerprint !== "string" || !PGP_FINGERPRINT_PATTERN.test(fingerprint)) {
            throw malformed("pgp fingerprints are 40 or 64 lower-case hex digits");
          }
        }
        if (new Set(pgp).size !== pgp.length) {
          throw malformed("pgp fingerprints must be distinct");
        }
      }
      return bundles;
    }
    case LinkType.POLICY:
      checkPolicy(body, "policy body");
      return [];
    case LinkType.INVITE:
      bytes(body.token_hash, HASH_BYTES, "token_hash");
      if (!INVITE_ROLES.includes(choice(body.role, Role, "role"))) {
        throw malformed("an invite's role is member or admin");
      }
      if (!isInt(body.expires) || body.expires <= ts) {
        throw malformed("expires must be an integer (Unix ms) after the link's ts");
      }
      return [];
    case LinkType.ADMIT: {
      const how = choice(body.how, AdmitHow, "how");
      const role = choice(body.role, Role, "role");
      if (how === AdmitHow.GENESIS) {
        throw malformed("only the genesis admits with how 'genesis'");
      }
      if (!INVITE_ROLES.includes(role)) {
        throw malformed("an admit's role is member or admin");
      }
      if ((how === AdmitHow.OPEN || how === AdmitHow.DOMAIN) && role !== Role.MEMBER) {
        throw malformed(`an admit by ${how} has the role member`);
      }
      if ((how === AdmitHow.INVITE) !== Object.hasOwn(body, "token")) {
        throw malformed("token is present exactly when how is 'invite'");
      }
      if (how === AdmitHow.INVITE) {
        bytes(body.token, 32, "token");
      }
      return [bundle(body.bundle, "bundle")];
    }
    case LinkType.SET_ROLE:
      checkUser(body.user);
      choice(body.role, Role, "role");
      return [];
    case LinkType.REMOVE:
      checkUser(body.user);
      return [];
    case LinkType.ROTATE_KEYS:
      checkUser(body.user);
      return [bundle(body.bundle, "bundle")];
    case LinkType.ROOM_CREATE:
      checkRoomId(body.room);
      choice(body.kind, RoomKind, "kind");
      choice(body.history, RoomHistory, "history");
      return [];
    case LinkType.ROOM_ADD:
    case LinkType.ROOM_ROLE:
      checkRoomId(body.room);
      checkUser(body.user);
      choice(body.role, RoomRole, "role");
      return [];
    case LinkType.ROOM_REMOVE:
      checkRoomId(body.room);
      checkUser(body.user);
      return [];
  }
}

/**
 * Check a link on its own: shape, types, body schema, size and every
 * signature. Does not look at the chain (order, time, authorization): that is
 * {@link ChainState.apply}.
 *
 * @throws {@link ChainError} `malformed_link`, or `bad_signature` for a
 *   signature, cosignature or embedded bundle that does not verify.
 */
export function parseLink(data: unknown): Link {
  return readLink(data, undefined);
}

/** {@link parseLink}, with the signature checks put in `sink` if given. */
function readLink(data: unknown, sink: Sink | undefined): Link {
  const link = checkObject(data, LINK_FIELDS, ["cosigs"], "link");
  if (typeof link.v !== "number" || link.v !== LINK_VERSION) {
    throw malformed(`unsupported link version ${JSON.stringify(link.v) ?? String(link.v)}`);
  }
  const tenant = link.tenant;
  if (typeof tenant !== "string" || !TENANT_SLUG_PATTERN.test(tenant)) {
    throw malformed("tenant must be a slug");
  }
  const { seq, ts } = link;
  if (!isInt(seq)) {
    throw malformed("seq must be a non-negative integer");
  }
  if (!isInt(ts)) {
    throw malformed("ts must be a non-negative integer (Unix milliseconds)");
  }
  const prevText = link.prev;
  const prev = prevText === null ? null : bytes(prevText, HASH_BYTES, "prev");
  const type = choice(link.type, LinkType, "type");
  const body = link.body;
  if (typeof body !== "object" || body === null || Array.isArray(body) || !isPlainObject(body)) {
    throw malformed("body must be a JSON object");
  }
  const signer = bytes(link.signer, 32, "signer");
  const sig = bytes(link.sig, 64, "sig");
  const cosigTexts: [string, string][] = [];
  const cosigs: [Uint8Array, Uint8Array][] = [];
  if (Object.hasOwn(link, "cosigs")) {
    const items = link.cosigs;
    if (!Array.isArray(items) || items.length < 1 || items.length >= MAX_ROOTS) {
      throw malformed(`cosigs must be a list of 1 to ${MAX_ROOTS - 1} (or absent)`);
    }
    items.forEach((item: unknown, index) => {
      const cosig = checkObject(item, COSIG_FIELDS, [], `cosigs[${index}]`);
      cosigs.push([
        bytes(cosig.signer, 32, `cosigs[${index}].signer`),
        bytes(cosig.sig, 64, `cosigs[${index}].sig`),
      ]);
      cosigTexts.push([cosig.signer as string, cosig.sig as string]);
    });
    if (type !== LinkType.GENESIS) {
      throw malformed("cosigs appear only in the genesis");
    }
  }
  let bodyBytes: Uint8Array;
  try {
    const plain = plainCanonicalJson(body);
    if (plain === undefined) {
      bodyBytes = canonicalJson(body);
    } else {
      bodyBytes = new Uint8Array(plain.length);
      writeAscii(bodyBytes, 0, plain);
    }
  } catch (error) {
    if (error instanceof CanonicalJsonError) {
      throw malformed(`body: ${error.message}`);
    }
    throw error;
  }
  const fields = { tenant, seq, prev: prevText as string | null, ts, type, signer: link.signer as string };
  const encoded = encodeLink(fields, bodyBytes, link.sig as string, cosigTexts);
  if (encoded.length > MAX_LINK_BYTES) {
    throw malformed(`a link is at most ${MAX_LINK_BYTES} bytes of canonical JSON`);
  }
  const bundles = checkBody(type, body, ts, sink);
  // The signing input, and in it the message (JCS of the unsigned link).
  const input = encodeLink(fields, bodyBytes, null, [], SignatureTag.LINK);
  const message = input.subarray(SignatureTag.LINK.length + 1);
  const failure = "the link's signature does not verify";
  checkSignature(sink, SignatureTag.LINK, input, message, sig, signer, fields.signer, failure);
  cosigs.forEach(([cosigner, cosig], index) => {
    const [keyText] = cosigTexts[index] as [string, string];
    const failure = `cosigs[${index}] does not verify`;
    checkSignature(sink, SignatureTag.LINK, input, message, cosig, cosigner, keyText, failure);
  });
  return new Link(CONSTRUCT, { tenant, seq, prev, ts, type, body, signer, sig, cosigs, encoded, bundles });
}

/**
 * A multi-root genesis as the server drafts it (PROTOCOL.md §6.8): the
 * genesis link without `sig` and `cosigs`, which every root signs. Checked
 * exactly like a genesis on its own (shape, size, body, each root bundle's
 * self-signature); only the roots' signatures, which do not exist yet, are
 * left out. Returns the parsed link (its `sig` and cosigs are placeholders)
 * and the bytes each root signs.
 *
 * @throws {@link ChainError} `malformed_link` (also for a draft that is not a
 *   genesis or carries `sig`/`cosigs`), or `bad_signature` for a root bundle.
 */
export function parseGenesisDraft(data: unknown): { readonly link: Link; readonly message: Uint8Array } {
  const draft = checkObject(
    data,
    LINK_FIELDS.filter((name) => name !== "sig"),
    [],
    "genesis draft",
  );
  if (draft.type !== LinkType.GENESIS) {
    throw malformed("a genesis draft is a genesis");
  }
  const body = draft.body;
  const isObject = (value: unknown): value is Record<string, unknown> =>
    typeof value === "object" && value !== null && !Array.isArray(value) && isPlainObject(value);
  const roots: unknown[] = isObject(body) && Array.isArray(body.roots) ? body.roots : [];
  const placeholder = b64uEncode(new Uint8Array(64));
  const candidate: JsonObject = { ...draft, sig: placeholder };
  if (roots.length > 1) {
    candidate.cosigs = roots.slice(1).map((root: unknown) => ({
      signer: isObject(root) ? root.sign_pub : null,
      sig: placeholder,
    }));
  }
  const sink: Sink = { checks: [], at: 0 };
  const link = readLink(candidate, sink);
  let message: Uint8Array;
  try {
    message = canonicalJson(draft);
  } catch (error) {
    if (error instanceof CanonicalJsonError) {
      throw malformed(`genesis draft: ${error.message}`);
    }
    throw error;
  }
  const linkInput = signingInput(SignatureTag.LINK, message);
  for (const check of sink.checks) {
    if (equalBytes(check.input, linkInput)) {
      continue; // a root's signature over the draft: what is being collected
    }
    // A root bundle's self-signature (its input carries its own tag).
    if (!lib().crypto_sign_verify_detached(check.signature, check.input, check.publicKey)) {
      throw new ChainError("bad_signature", check.message);
    }
  }
  return { link, message };
}

/**
 * Make and sign a link (cosigned by `cosignerSeeds`: the other roots of a
 * genesis). Nothing is validated here: {@link ChainState.apply} parses an
 * unverified link before judging it.
 */
export function signLink(args: {
  tenant: string;
  seq: number;
  prev: Uint8Array | null;
  ts: number;
  type: LinkType;
  body: JsonObject;
  seed: Uint8Array;
  cosignerSeeds?: readonly Uint8Array[];
}): Link {
  const { tenant, seq, prev, ts, type, body, seed } = args;
  const signer = signPublicKey(seed);
  const fields = { tenant, seq, prev, ts, type, body, signer };
  const draft = new Link(CONSTRUCT, { ...fields, sig: new Uint8Array(64), cosigs: [] });
  const message = canonicalJson(draft.unsignedJson());
  const cosigs = (args.cosignerSeeds ?? []).map(
    (other) => [signPublicKey(other), sign(SignatureTag.LINK, message, other)] as const,
  );
  return new Link(CONSTRUCT, { ...fields, sig: sign(SignatureTag.LINK, message, seed), cosigs });
}

// --- The derived state --------------------------------------------------------------

/** The signup policy. */
export interface Policy {
  readonly mode: PolicyMode;
  readonly domains: readonly string[];
}

/** A current member: their keys (from the bundle the chain admitted), role and origin. */
export interface Member {
  readonly user: string;
  readonly signPub: Uint8Array;
  readonly boxPub: Uint8Array;
  readonly role: Role;
  readonly how: AdmitHow;
  readonly admittedSeq: number;
  readonly bundle: IdentityBundleJson;
}

/** True for a tenant `admin` or `owner`. */
export function isAdmin(member: Member): boolean {
  return member.role === Role.OWNER || member.role === Role.ADMIN;
}

/** An invite; keyed in {@link ChainState.invites} by the base64url of its token hash. */
export interface Invite {
  readonly tokenHash: Uint8Array;
  readonly role: Role;
  readonly expires: number;
  readonly used: boolean;
}

/** A room; `members` maps usernames to room roles (never changed once in a state). */
export interface Room {
  readonly room: string;
  readonly kind: RoomKind;
  readonly history: RoomHistory;
  readonly members: ReadonlyMap<string, RoomRole>;
}

/** The JSON summary of a state (what the vectors' `expect` holds). */
export interface ChainSummary {
  seq: number;
  head: string | null;
  fingerprint: string | null;
  policy: { mode: PolicyMode; domains: string[] };
  members: Record<
    string,
    { role: Role; how: AdmitHow; sign_pub: string; box_pub: string; admitted_seq: number }
  >;
  invites: Record<string, { role: Role; expires: number; used: boolean }>;
  rooms: Record<string, { kind: RoomKind; history: RoomHistory; members: Record<string, RoomRole> }>;
  removed: string[];
}

function toHex(data: Uint8Array): string {
  return Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function equalBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  if (a === null || b === null) {
    return a === b;
  }
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

function sortedEntries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  // Code-unit order, as Python's sorted() on these ASCII keys.
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const STATE: unique symbol = Symbol("ChainState");

interface StateFields {
  tenant: string;
  seq: number;
  head: Uint8Array | null;
  ts: number;
  fingerprint: Uint8Array | null;
  serverKey: Uint8Array | null;
  policy: Policy;
  members: Map<string, Member>;
  byKey: Map<string, string>;
  invites: Map<string, Invite>;
  rooms: Map<string, Room>;
  removed: Set<string>;
}

/**
 * The state after the links applied so far. Immutable: {@link ChainState.apply}
 * returns a new one. `seq` is -1 and `head` null before the genesis.
 */
export class ChainState {
  readonly tenant: string;
  /** Seq of the last applied link; -1 before the genesis. */
  readonly seq: number;
  /** Hash of the last applied link. */
  readonly head: Uint8Array | null;
  /** ts of the last applied link. */
  readonly ts: number;
  /** The genesis hash: the tenant fingerprint. */
  readonly fingerprint: Uint8Array | null;
  readonly serverKey: Uint8Array | null;
  readonly policy: Policy;
  readonly members: ReadonlyMap<string, Member>;
  /** Keyed by the base64url of the token hash. */
  readonly invites: ReadonlyMap<string, Invite>;
  readonly rooms: ReadonlyMap<string, Room>;
  /** Every user ever removed (some may have been admitted again). */
  readonly removed: ReadonlySet<string>;
  readonly #byKey: ReadonlyMap<string, string>;

  /** @internal Use {@link ChainState.empty}, {@link ChainState.apply} or {@link verifyChain}. */
  constructor(token: typeof STATE, fields: StateFields) {
    if (token !== STATE) {
      throw new TypeError("use ChainState.empty(), apply() or verifyChain()");
    }
    this.tenant = fields.tenant;
    this.seq = fields.seq;
    this.head = fields.head;
    this.ts = fields.ts;
    this.fingerprint = fields.fingerprint;
    this.serverKey = fields.serverKey;
    this.policy = fields.policy;
    this.members = fields.members;
    this.#byKey = fields.byKey;
    this.invites = fields.invites;
    this.rooms = fields.rooms;
    this.removed = fields.removed;
  }

  /** The state before the genesis of `tenant`. */
  static empty(tenant: string): ChainState {
    if (typeof tenant !== "string" || !TENANT_SLUG_PATTERN.test(tenant)) {
      throw new TypeError("tenant must be a slug");
    }
    return new ChainState(STATE, {
      tenant,
      seq: -1,
      head: null,
      ts: 0,
      fingerprint: null,
      serverKey: null,
      policy: { mode: PolicyMode.INVITE, domains: [] },
      members: new Map(),
      byKey: new Map(),
      invites: new Map(),
      rooms: new Map(),
      removed: new Set(),
    });
  }

  /** @internal A private, mutable copy of `state`, for applying links in place. */
  static work(token: typeof STATE, state: ChainState): Work {
    if (token !== STATE) {
      throw new TypeError("internal");
    }
    return new Work({
      tenant: state.tenant,
      seq: state.seq,
      head: state.head,
      ts: state.ts,
      fingerprint: state.fingerprint,
      serverKey: state.serverKey,
      policy: state.policy,
      members: new Map(state.members),
      byKey: new Map(state.#byKey),
      invites: new Map(state.invites),
      rooms: new Map(state.rooms),
      removed: new Set(state.removed),
    });
  }

  /**
   * The state after `link`.
   *
   * @param nowMs - the server passes its clock, and so refuses a `ts` more
   *   than 5 minutes from it; clients pass nothing.
   * @throws {@link ChainError} if the link may not come next.
   */
  apply(link: Link, { nowMs }: { nowMs?: number } = {}): ChainState {
    const work = ChainState.work(STATE, this);
    work.apply(link, nowMs);
    return work.freeze();
  }

  /** The current member whose signing key is `signPub`, if any. */
  memberByKey(signPub: Uint8Array): Member | undefined {
    const user = this.#byKey.get(b64uEncode(signPub));
    return user === undefined ? undefined : this.members.get(user);
  }

  /** The state as JSON, identical to Python's `ChainState.summary()`. */
  summary(): ChainSummary {
    const summary: ChainSummary = {
      seq: this.seq,
      head: this.head === null ? null : toHex(this.head),
      fingerprint: this.fingerprint === null ? null : toHex(this.fingerprint),
      policy: { mode: this.policy.mode, domains: [...this.policy.domains] },
      members: {},
      invites: {},
      rooms: {},
      removed: [...this.removed].sort(),
    };
    for (const [user, member] of sortedEntries(this.members)) {
      summary.members[user] = {
        role: member.role,
        how: member.how,
        sign_pub: b64uEncode(member.signPub),
        box_pub: b64uEncode(member.boxPub),
        admitted_seq: member.admittedSeq,
      };
    }
    for (const [tokenHash, invite] of sortedEntries(this.invites)) {
      summary.invites[tokenHash] = { role: invite.role, expires: invite.expires, used: invite.used };
    }
    for (const [id, room] of sortedEntries(this.rooms)) {
      summary.rooms[id] = {
        kind: room.kind,
        history: room.history,
        members: Object.fromEntries(sortedEntries(room.members)),
      };
    }
    return summary;
  }
}

/**
 * Parse and apply `links` in order, from the genesis or from `state`
 * (incremental verification: pass the state verified last and only the links
 * after it). Links are applied in place to one private copy of the state.
 *
 * @throws {@link ChainError} with `at` set to the failing link's index in `links`.
 */
export function verifyChain(
  links: Iterable<unknown>,
  { tenant, state }: { tenant: string; state?: ChainState },
): ChainState {
  const work = startWork(tenant, state);
  let index = 0;
  for (const data of links) {
    try {
      work.apply(parseLink(data), undefined);
    } catch (error) {
      if (error instanceof ChainError) {
        error.at = index;
      }
      throw error;
    }
    index++;
  }
  return work.freeze();
}

function startWork(tenant: string, state: ChainState | undefined): Work {
  const start = state ?? ChainState.empty(tenant);
  if (start.tenant !== tenant) {
    throw new ChainError("wrong_tenant", `the state is of tenant ${start.tenant}, not ${tenant}`);
  }
  return ChainState.work(STATE, start);
}

/**
 * @internal What verifyChainAsync (chainAsync.ts) runs: {@link verifyChain}
 * link by link, every signature check put off into {@link checks}, in the
 * order the sequential verifier makes them. A link that {@link step} refuses
 * was refused on the assumption that the checks so far pass: the chain's
 * outcome is the first failing check among them, else that refusal. The
 * state of {@link finish} is valid only once every check has passed.
 */
export class DeferredChainRun {
  readonly checks: DeferredSignature[] = [];
  readonly #work: Work;

  /** @throws {@link ChainError} `wrong_tenant`, as verifyChain. */
  constructor(tenant: string, state: ChainState | undefined) {
    this.#work = startWork(tenant, state);
  }

  /** Apply the link at index `at` of the list; throws what verifyChain would (`at` set). */
  step(data: unknown, at: number): void {
    try {
      this.#work.apply(readLink(data, { checks: this.checks, at }), undefined);
    } catch (error) {
      if (error instanceof ChainError) {
        error.at = at;
      }
      throw error;
    }
  }

  finish(): ChainState {
    return this.#work.freeze();
  }
}

function fail(code: ChainError["code"], message: string): ChainError {
  return new ChainError(code, message);
}

/** @internal A private, mutable copy of a state; links are applied to it in place. */
class Work {
  readonly #s: StateFields;
  /** Rooms whose member map this copy made (and so may change in place). */
  readonly #ownRooms = new Set<string>();
  #frozen = false;

  constructor(fields: StateFields) {
    this.#s = fields;
  }

  freeze(): ChainState {
    this.#frozen = true;
    return new ChainState(STATE, this.#s);
  }

  // --- helpers

  #actor(link: Link): Member | undefined {
    const user = this.#s.byKey.get(b64uEncode(link.signer));
    return user === undefined ? undefined : this.#s.members.get(user);
  }

  #admin(link: Link): Member {
    const actor = this.#actor(link);
    if (actor === undefined || !isAdmin(actor)) {
      throw fail("unauthorized", `a ${link.type} link must be signed by a tenant admin`);
    }
    return actor;
  }

  #member(user: string): Member {
    const member = this.#s.members.get(user);
    if (member === undefined) {
      throw fail("not_member", `${JSON.stringify(user)} is not a member`);
    }
    return member;
  }

  #owners(): number {
    let count = 0;
    for (const member of this.#s.members.values()) {
      if (member.role === Role.OWNER) {
        count++;
      }
    }
    return count;
  }

  #keyFree(signPub: Uint8Array): void {
    if (this.#s.byKey.has(b64uEncode(signPub)) || equalBytes(signPub, this.#s.serverKey)) {
      throw fail("key_in_use", "this signing key is already a member's or the server's");
    }
  }

  #room(id: string): Room {
    const room = this.#s.rooms.get(id);
    if (room === undefined) {
      throw fail("room_unknown", `no room ${id}`);
    }
    return room;
  }

  /** The room's member map, copied first if another state shares it. */
  #roomMembers(id: string): Map<string, RoomRole> {
    let room = this.#s.rooms.get(id) as Room;
    if (!this.#ownRooms.has(id)) {
      room = { room: room.room, kind: room.kind, history: room.history, members: new Map(room.members) };
      this.#s.rooms.set(id, room);
      this.#ownRooms.add(id);
    }
    return room.members as Map<string, RoomRole>;
  }

  #setMember(member: Member): void {
    this.#s.members.set(member.user, member);
    this.#s.byKey.set(b64uEncode(member.signPub), member.user);
  }

  #admit(bundle: IdentityBundle, role: Role, how: AdmitHow, seq: number): void {
    this.#setMember({
      user: bundle.user,
      signPub: bundle.signPub,
      boxPub: bundle.boxPub,
      role,
      how,
      admittedSeq: seq,
      bundle: bundle.toJson(),
    });
  }

  // --- the rules (PROTOCOL.md §6.2)

  apply(given: Link, nowMs: number | undefined): void {
    if (this.#frozen) {
      throw new Error("this work has been frozen");
    }
    // A link made by signLink is verified first.
    const link = given.bundles === undefined ? parseLink(given.toJson()) : given;
    const s = this.#s;
    if (link.tenant !== s.tenant) {
      throw fail("wrong_tenant", `a link of tenant ${link.tenant} in ${s.tenant}`);
    }
    if (s.seq < 0 && link.type !== LinkType.GENESIS) {
      throw fail("genesis_required", "a chain starts with its genesis");
    }
    if (s.seq >= 0 && link.type === LinkType.GENESIS) {
      throw fail("duplicate_genesis", "a chain has one genesis");
    }
    if (link.seq !== s.seq + 1) {
      throw fail("seq_gap", `expected seq ${s.seq + 1}, got ${link.seq}`);
    }
    if (!equalBytes(link.prev, s.head)) {
      throw fail("wrong_prev", "prev is not the hash of the previous link");
    }
    if (s.seq >= 0 && link.ts < s.ts) {
      throw fail("ts_backwards", "ts is before the previous link's");
    }
    if (nowMs !== undefined && Math.abs(link.ts - nowMs) > MAX_CLOCK_SKEW_MS) {
      throw fail("clock_skew", "ts is more than 5 minutes from the server's clock");
    }
    switch (link.type) {
      case LinkType.GENESIS:
        this.#genesis(link);
        break;
      case LinkType.POLICY:
        this.#admin(link);
        s.policy = checkPolicy(link.body, "policy body");
        break;
      case LinkType.INVITE:
        this.#invite(link);
        break;
      case LinkType.ADMIT:
        this.#admitLink(link);
        break;
      case LinkType.SET_ROLE:
        this.#setRole(link);
        break;
      case LinkType.REMOVE:
        this.#remove(link);
        break;
      case LinkType.ROTATE_KEYS:
        this.#rotateKeys(link);
        break;
      case LinkType.ROOM_CREATE:
        this.#roomCreate(link);
        break;
      case LinkType.ROOM_ADD:
        this.#roomAdd(link);
        break;
      case LinkType.ROOM_REMOVE:
        this.#roomRemove(link);
        break;
      case LinkType.ROOM_ROLE:
        this.#roomRole(link);
        break;
    }
    s.seq = link.seq;
    s.head = link.hash;
    s.ts = link.ts;
  }

  #genesis(link: Link): void {
    const roots = link.bundles ?? [];
    for (const bundle of roots) {
      if (bundle.tenant !== link.tenant) {
        throw fail("bundle_mismatch", `root ${JSON.stringify(bundle.user)} is of another tenant`);
      }
    }
    const keys = roots.map((bundle) => b64uEncode(bundle.signPub));
    const signer = b64uEncode(link.signer);
    const expected = keys.filter((key) => key !== signer);
    const cosigners = link.cosigs.map(([cosigner]) => b64uEncode(cosigner));
    const sortedCosigners = [...cosigners].sort();
    const sortedExpected = [...expected].sort();
    const sameSet =
      sortedCosigners.length === sortedExpected.length &&
      sortedCosigners.every((key, index) => key === sortedExpected[index]);
    if (!keys.includes(signer) || !sameSet) {
      throw fail("unauthorized", "the genesis is signed by exactly its roots, each once");
    }
    if (cosigners.some((key, index) => key !== expected[index])) {
      throw malformed("cosigs follow the order of the roots");
    }
    const serverKey = bytes(link.body.server_key, 32, "server_key");
    if (keys.includes(b64uEncode(serverKey))) {
      throw fail("key_in_use", "the server key is not a root's key");
    }
    const s = this.#s;
    s.serverKey = serverKey;
    s.policy = checkPolicy(link.body.policy, "policy");
    s.fingerprint = link.hash;
    for (const bundle of roots) {
      this.#admit(bundle, Role.OWNER, AdmitHow.GENESIS, link.seq);
    }
  }

  #invite(link: Link): void {
    this.#admin(link);
    const tokenHash = bytes(link.body.token_hash, HASH_BYTES, "token_hash");
    const key = b64uEncode(tokenHash);
    if (this.#s.invites.has(key)) {
      throw fail("invite_used", "an earlier invite has this token hash");
    }
    this.#s.invites.set(key, {
      tokenHash,
      role: link.body.role as Role,
      expires: link.body.expires as number,
      used: false,
    });
  }

  #admitLink(link: Link): void {
    const bundle = (link.bundles ?? [])[0] as IdentityBundle;
    const body = link.body;
    const how = body.how as AdmitHow;
    const role = body.role as Role;
    const s = this.#s;
    if (bundle.tenant !== link.tenant) {
      throw fail("bundle_mismatch", "the bundle is of another tenant");
    }
    if (s.members.has(bundle.user)) {
      throw fail("already_member", `${JSON.stringify(bundle.user)} is already a member`);
    }
    this.#keyFree(bundle.signPub);
    if (how === AdmitHow.APPROVAL) {
      this.#admin(link);
    } else if (how === AdmitHow.INVITE) {
      if (!equalBytes(link.signer, bundle.signPub)) {
        throw fail("unauthorized", "an invite admit is signed by the newcomer's key");
      }
      const key = b64uEncode(lib().crypto_hash_sha256(bytes(body.token, 32, "token")));
      const invite = s.invites.get(key);
      if (invite === undefined) {
        throw fail("invite_invalid", "no invite has this token");
      }
      if (invite.used) {
        throw fail("invite_used", "this invite has been used");
      }
      if (invite.expires <= link.ts) {
        throw fail("invite_expired", "this invite had expired");
      }
      if (invite.role !== role) {
        throw fail("invite_invalid", `this invite is for the role ${invite.role}`);
      }
      s.invites.set(key, { ...invite, used: true });
    } else if (how === AdmitHow.OPEN) {
      if (!equalBytes(link.signer, bundle.signPub)) {
        throw fail("unauthorized", "an open admit is signed by the newcomer's key");
      }
      if (s.policy.mode !== PolicyMode.OPEN) {
        throw fail("policy_forbids", "the signup policy is not open");
      }
    } else {
      if (!equalBytes(link.signer, s.serverKey)) {
        throw fail("unauthorized", "a domain admit is signed by the server key");
      }
      if (s.policy.mode !== PolicyMode.DOMAIN) {
        throw fail("policy_forbids", "the signup policy is not domain");
      }
    }
    this.#admit(bundle, role, how, link.seq);
  }

  #setRole(link: Link): void {
    const actor = this.#admin(link);
    const target = this.#member(link.body.user as string);
    const role = link.body.role as Role;
    if ((target.role === Role.OWNER || role === Role.OWNER) && actor.role !== Role.OWNER) {
      throw fail("unauthorized", "only an owner makes or unmakes an owner");
    }
    if (target.role === Role.OWNER && role !== Role.OWNER && this.#owners() === 1) {
      throw fail("last_owner", "the last owner keeps the role");
    }
    this.#s.members.set(target.user, { ...target, role });
  }

  #remove(link: Link): void {
    const actor = this.#actor(link);
    if (actor === undefined) {
      throw fail("unauthorized", "the signer is not a member");
    }
    const target = this.#member(link.body.user as string);
    if (actor.user !== target.user) {
      if (!isAdmin(actor)) {
        throw fail("unauthorized", "only an admin removes someone else");
      }
      if (target.role === Role.OWNER && actor.role !== Role.OWNER) {
        throw fail("unauthorized", "only an owner removes an owner");
      }
    }
    if (target.role === Role.OWNER && this.#owners() === 1) {
      throw fail("last_owner", "the last owner cannot be removed");
    }
    const s = this.#s;
    s.members.delete(target.user);
    s.byKey.delete(b64uEncode(target.signPub));
    s.removed.add(target.user);
    const rooms = [...s.rooms].filter(([, room]) => room.members.has(target.user)).map(([id]) => id);
    for (const id of rooms) {
      this.#roomMembers(id).delete(target.user);
    }
  }

  #rotateKeys(link: Link): void {
    const target = this.#member(link.body.user as string);
    if (!equalBytes(link.signer, target.signPub)) {
      throw fail("rotation_not_signed_by_old_key", "a rotation is signed by the member's current key");
    }
    const bundle = (link.bundles ?? [])[0] as IdentityBundle;
    if (bundle.tenant !== link.tenant || bundle.user !== target.user) {
      throw fail("bundle_mismatch", "the new bundle is of another tenant or user");
    }
    this.#keyFree(bundle.signPub);
    this.#s.byKey.delete(b64uEncode(target.signPub));
    this.#setMember({ ...target, signPub: bundle.signPub, boxPub: bundle.boxPub, bundle: bundle.toJson() });
  }

  #roomActor(link: Link): Member {
    const actor = this.#actor(link);
    if (actor === undefined) {
      throw fail("unauthorized", "room links are signed by a member");
    }
    return actor;
  }

  #roomCreate(link: Link): void {
    const actor = this.#roomActor(link);
    const id = link.body.room as string;
    if (this.#s.rooms.has(id)) {
      throw fail("room_exists", `room ${id} exists`);
    }
    this.#s.rooms.set(id, {
      room: id,
      kind: link.body.kind as RoomKind,
      history: link.body.history as RoomHistory,
      members: new Map([[actor.user, RoomRole.OWNER]]),
    });
    this.#ownRooms.add(id);
  }

  #roomAdd(link: Link): void {
    const actor = this.#roomActor(link);
    const room = this.#room(link.body.room as string);
    const user = link.body.user as string;
    const role = link.body.role as RoomRole;
    this.#member(user);
    if (room.members.has(user)) {
      throw fail("already_in_room", `${JSON.stringify(user)} is in the room`);
    }
    const mine = room.members.get(actor.user);
    const manages = mine === RoomRole.OWNER || (mine === RoomRole.ADMIN && role !== RoomRole.OWNER);
    const joins = room.kind === RoomKind.CHANNEL && role === RoomRole.MEMBER && user === actor.user;
    if (!(isAdmin(actor) || manages || joins)) {
      throw fail("unauthorized", "the signer may not add to this room");
    }
    this.#roomMembers(room.room).set(user, role);
  }

  #roomRemove(link: Link): void {
    const actor = this.#roomActor(link);
    const room = this.#room(link.body.room as string);
    const user = link.body.user as string;
    const theirs = room.members.get(user);
    if (theirs === undefined) {
      throw fail("not_in_room", `${JSON.stringify(user)} is not in the room`);
    }
    const mine = room.members.get(actor.user);
    if (
      !(
        user === actor.user ||
        isAdmin(actor) ||
        mine === RoomRole.OWNER ||
        (mine === RoomRole.ADMIN && theirs !== RoomRole.OWNER)
      )
    ) {
      throw fail("unauthorized", "the signer may not remove from this room");
    }
    this.#roomMembers(room.room).delete(user);
  }

  #roomRole(link: Link): void {
    const actor = this.#roomActor(link);
    const room = this.#room(link.body.room as string);
    const user = link.body.user as string;
    if (!room.members.has(user)) {
      throw fail("not_in_room", `${JSON.stringify(user)} is not in the room`);
    }
    if (!(isAdmin(actor) || room.members.get(actor.user) === RoomRole.OWNER)) {
      throw fail("unauthorized", "room roles are set by a room owner or a tenant admin");
    }
    this.#roomMembers(room.room).set(user, link.body.role as RoomRole);
  }
}
