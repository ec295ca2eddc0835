/**
 * Remembers, per tenant, the trust-chain head this browser verified last, so
 * that a server showing a shorter chain (a rollback) or a different history
 * (a fork) is caught (PROTOCOL.md §6.6), and the tenant fingerprint pinned
 * from an invite or enrolment link (`#fp=`).
 *
 * ```
 * IndexedDB "pipo-chain" / object store "head" / key <tenant slug>:
 *   {v: 1, tenant, seq, hash: b64u, fingerprint: b64u}
 * IndexedDB "pipo-chain" / object store "pinned" / key <tenant slug>:
 *   {v: 1, tenant, fingerprint: b64u}
 * ```
 *
 * Only hashes: nothing here is secret. Each tenant is its own origin, so each
 * has its own database; the tenant key is belt and braces.
 */

import { b64uDecodeExact } from "./encoding";
import { type StoreDatabase, withStore } from "./indexedDb";

const DB_NAME = "pipo-chain";
const DB_VERSION = 1;
const HEAD_STORE = "head";
const PIN_STORE = "pinned";
const DATABASE: StoreDatabase = { name: DB_NAME, version: DB_VERSION, stores: [HEAD_STORE, PIN_STORE] };
const RECORD_VERSION = 1;

/** The last verified head of a tenant's chain. */
export interface VerifiedHead {
  /** Seq of the last verified link (0 = the genesis). */
  readonly seq: number;
  /** b64u SHA-256 of that link. */
  readonly hash: string;
  /** b64u hash of the genesis: the tenant fingerprint. */
  readonly fingerprint: string;
}

function isHash(value: unknown): value is string {
  try {
    b64uDecodeExact(value, 32, "hash");
    return true;
  } catch {
    return false;
  }
}

function checkHead(head: VerifiedHead): void {
  if (!Number.isSafeInteger(head.seq) || head.seq < 0 || !isHash(head.hash) || !isHash(head.fingerprint)) {
    throw new TypeError("a verified head is {seq >= 0, hash, fingerprint} with 32-byte b64u hashes");
  }
}

/**
 * The head verified last for `tenant`, or null when there is none (or the
 * record is unreadable).
 *
 * @throws if IndexedDB is unavailable: the caller decides whether a browser
 *   that cannot remember may go on (it cannot detect a rollback then).
 */
export async function loadVerifiedHead(tenant: string): Promise<VerifiedHead | null> {
  const record: unknown = await withStore(DATABASE, HEAD_STORE, "readonly", (store) => store.get(tenant));
  if (typeof record !== "object" || record === null) {
    return null;
  }
  const fields = record as Record<string, unknown>;
  const head = { seq: fields.seq, hash: fields.hash, fingerprint: fields.fingerprint };
  if (
    fields.v !== RECORD_VERSION ||
    fields.tenant !== tenant ||
    typeof head.seq !== "number" ||
    !Number.isSafeInteger(head.seq) ||
    head.seq < 0 ||
    !isHash(head.hash) ||
    !isHash(head.fingerprint)
  ) {
    return null;
  }
  return { seq: head.seq, hash: head.hash, fingerprint: head.fingerprint };
}

/** Remember `head` as the last verified head of `tenant` (replacing the one before). */
export async function storeVerifiedHead(tenant: string, head: VerifiedHead): Promise<void> {
  checkHead(head);
  const record = {
    v: RECORD_VERSION,
    tenant,
    seq: head.seq,
    hash: head.hash,
    fingerprint: head.fingerprint,
  };
  await withStore(DATABASE, HEAD_STORE, "readwrite", (store) => store.put(record, tenant));
}

/** Forget the verified head of `tenant` (the next sync trusts the chain from its genesis again). */
export async function forgetVerifiedHead(tenant: string): Promise<void> {
  if (typeof indexedDB === "undefined") {
    return;
  }
  await withStore(DATABASE, HEAD_STORE, "readwrite", (store) => store.delete(tenant));
}

/** The tenant fingerprint (b64u genesis hash) pinned from an invite or enrolment link, or null. */
export async function loadPinnedFingerprint(tenant: string): Promise<string | null> {
  const record: unknown = await withStore(DATABASE, PIN_STORE, "readonly", (store) => store.get(tenant));
  if (typeof record !== "object" || record === null) {
    return null;
  }
  const fields = record as Record<string, unknown>;
  return fields.v === RECORD_VERSION && fields.tenant === tenant && isHash(fields.fingerprint)
    ? fields.fingerprint
    : null;
}

/** Pin `fingerprint` (b64u, 32 bytes) for `tenant`, replacing any pin before. */
export async function storePinnedFingerprint(tenant: string, fingerprint: string): Promise<void> {
  if (!isHash(fingerprint)) {
    throw new TypeError("a tenant fingerprint is 32 bytes of unpadded base64url");
  }
  const record = { v: RECORD_VERSION, tenant, fingerprint };
  await withStore(DATABASE, PIN_STORE, "readwrite", (store) => store.put(record, tenant));
}

/** Forget the pinned fingerprint of `tenant`. */
export async function forgetPinnedFingerprint(tenant: string): Promise<void> {
  if (typeof indexedDB === "undefined") {
    return;
  }
  await withStore(DATABASE, PIN_STORE, "readwrite", (store) => store.delete(tenant));
}
