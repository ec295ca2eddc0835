/**
 * Keeps the unlocked identity across page reloads without storing a raw key.
 *
 * On unlock the client makes a fresh, **non-extractable** WebCrypto AES-GCM-256
 * key and stores it in IndexedDB (a `CryptoKey` is structured-cloneable, and a
 * non-extractable one can be used but never read back, not even by this
 * page's own script), next to the identity keys encrypted under it:
 *
 * ```
 * IndexedDB "pipo-keys" / object store "identity" / record "current":
 * {v: 1, tenant, username, key: CryptoKey, iv: 12 bytes, ciphertext}
 * ciphertext = AES-GCM(key, iv, JCS({"v":1,"kind":"pipo/identity-keys","sign_seed","box_secret"}),
 *                      ad = JCS({"purpose":"pipo/key-store/v1","tenant","user"}))
 * ```
 *
 * What this protects against: a copy of the browser profile's files or
 * IndexedDB export, read elsewhere, holds no usable key (the AES key lives in
 * the browser's key storage, bound to this profile). What it does not: script
 * running in this origin can still *use* the key while the record exists,
 * which is why "Lock" and "Log out" delete it. Each tenant is its own origin,
 * so each has its own database. No key is ever written to localStorage or
 * sessionStorage (the only thing there is the colour theme, ui/theme.ts).
 */

import { b64uDecodeExact, b64uEncode, canonicalJson } from "./encoding";
import { IdentityKeys } from "./identity";
import { type StoreDatabase, withStore } from "./indexedDb";
import { sodiumReady } from "./sodium";

const DB_NAME = "pipo-keys";
const DB_VERSION = 1;
const STORE = "identity";
const DATABASE: StoreDatabase = { name: DB_NAME, version: DB_VERSION, stores: [STORE] };
const RECORD_KEY = "current";
const RECORD_VERSION = 1;
const IV_BYTES = 12;

/** Whose keys a stored record holds. */
export interface KeyStoreMeta {
  /** The tenant's slug. */
  readonly tenant: string;
  /** The username (lower case). */
  readonly username: string;
}

interface StoredRecord {
  v: number;
  tenant: string;
  username: string;
  key: CryptoKey;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

function isStoredRecord(value: unknown): value is StoredRecord {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const record = value as Record<string, unknown>;
  return (
    record.v === RECORD_VERSION &&
    typeof record.tenant === "string" &&
    typeof record.username === "string" &&
    record.key instanceof CryptoKey &&
    record.iv instanceof Uint8Array &&
    record.ciphertext instanceof Uint8Array
  );
}

function associatedData(meta: KeyStoreMeta): Uint8Array<ArrayBuffer> {
  return toArrayBuffered(
    canonicalJson({ purpose: "pipo/key-store/v1", tenant: meta.tenant, user: meta.username }),
  );
}

/** WebCrypto wants `BufferSource` backed by an `ArrayBuffer` (not a shared one). */
function toArrayBuffered(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}

/**
 * Store `keys` for `meta`, replacing any stored identity. The AES key is new
 * each time and cannot be exported.
 *
 * @throws if IndexedDB or WebCrypto is unavailable (e.g. some private modes);
 *   the caller keeps the keys in memory for this page only.
 */
export async function storeUnlockedKeys(keys: IdentityKeys, meta: KeyStoreMeta): Promise<void> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const plaintext = toArrayBuffered(
    canonicalJson({
      v: 1,
      kind: "pipo/identity-keys",
      sign_seed: b64uEncode(keys.signSeed),
      box_secret: b64uEncode(keys.boxSecret),
    }),
  );
  let ciphertext: ArrayBuffer;
  try {
    ciphertext = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: associatedData(meta) },
      key,
      plaintext,
    );
  } finally {
    plaintext.fill(0);
  }
  const record: StoredRecord = {
    v: RECORD_VERSION,
    tenant: meta.tenant,
    username: meta.username,
    key,
    iv,
    ciphertext: new Uint8Array(ciphertext),
  };
  await withStore(DATABASE, STORE, "readwrite", (store) => store.put(record, RECORD_KEY));
}

/**
 * The identity stored for `meta`, or null when there is none. A record that
 * belongs to another user or cannot be decrypted is a leftover (a session
 * that ended without "Log out"): it is deleted and null is returned.
 * Never throws for storage problems: an unavailable store reads as empty.
 */
export async function loadUnlockedKeys(meta: KeyStoreMeta): Promise<IdentityKeys | null> {
  let record: unknown;
  try {
    record = await withStore(DATABASE, STORE, "readonly", (store) => store.get(RECORD_KEY));
  } catch {
    return null;
  }
  if (record === undefined) {
    return null;
  }
  if (!isStoredRecord(record) || record.tenant !== meta.tenant || record.username !== meta.username) {
    await forgetUnlockedKeys().catch(() => undefined);
    return null;
  }
  let plaintext: Uint8Array | null = null;
  try {
    plaintext = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: toArrayBuffered(record.iv), additionalData: associatedData(meta) },
        record.key,
        toArrayBuffered(record.ciphertext),
      ),
    );
    const parsed: unknown = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plaintext));
    if (typeof parsed !== "object" || parsed === null) {
      throw new Error("not an object");
    }
    const fields = parsed as Record<string, unknown>;
    if (fields.v !== 1 || fields.kind !== "pipo/identity-keys") {
      throw new Error("not identity keys");
    }
    const signSeed = b64uDecodeExact(fields.sign_seed, 32, "sign_seed");
    const boxSecret = b64uDecodeExact(fields.box_secret, 32, "box_secret");
    await sodiumReady();
    try {
      return IdentityKeys.fromSecrets(signSeed, boxSecret);
    } finally {
      signSeed.fill(0);
      boxSecret.fill(0);
    }
  } catch {
    await forgetUnlockedKeys().catch(() => undefined);
    return null;
  } finally {
    plaintext?.fill(0);
  }
}

/** Delete the stored identity (and its AES key). Resolves when it is gone. */
export async function forgetUnlockedKeys(): Promise<void> {
  if (typeof indexedDB === "undefined") {
    return;
  }
  await withStore(DATABASE, STORE, "readwrite", (store) => store.delete(RECORD_KEY));
}
