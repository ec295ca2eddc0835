/**
 * OpenPGP in the browser (ARCHITECTURE.md §4, "OpenPGP"): for now, encrypting
 * a short text, such as an invite link, to a person's existing PGP key.
 *
 * OpenPGP.js is large, and most sessions never need it, so it is imported
 * dynamically: the bundler puts it in a chunk of its own that loads on the
 * first call. No libsodium here, and no `sodiumReady()` needed.
 */

import { PgpError } from "./errors";

/** The OpenPGP.js module, loaded on first use. */
type OpenPgp = typeof import("openpgp");
type PublicKey = Awaited<ReturnType<OpenPgp["readKey"]>>;

let loading: Promise<OpenPgp> | undefined;

function openpgp(): Promise<OpenPgp> {
  if (loading === undefined) {
    const attempt = import("openpgp");
    // A failed load (network, CSP) may be retried by calling again.
    attempt.catch(() => {
      if (loading === attempt) {
        loading = undefined;
      }
    });
    loading = attempt;
  }
  return loading;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Read an armored OpenPGP public key and check that it can receive
 * encrypted messages now.
 *
 * @throws {@link PgpError} for text that is not an armored key, a private
 *   key (so one pasted by mistake is not used), or a key that is revoked,
 *   expired or has no usable encryption subkey.
 */
async function usablePublicKey(pgp: OpenPgp, armoredPublicKey: string): Promise<PublicKey> {
  let key: PublicKey;
  try {
    key = await pgp.readKey({ armoredKey: armoredPublicKey });
  } catch (error) {
    throw new PgpError(`not an armored OpenPGP public key: ${reason(error)}`);
  }
  if (key.isPrivate()) {
    throw new PgpError(
      "this is a private key: paste the public key instead, and keep the private one secret",
    );
  }
  try {
    await key.verifyPrimaryKey();
    await key.getEncryptionKey();
  } catch (error) {
    throw new PgpError(
      `this OpenPGP key cannot be used (revoked, expired or no encryption subkey): ${reason(error)}`,
    );
  }
  return key;
}

/**
 * Encrypt `text` to the holder of `armoredPublicKey` and return an armored
 * OpenPGP message (`-----BEGIN PGP MESSAGE-----`) they can open with gpg.
 *
 * @throws {@link PgpError} for a key that is unreadable, private, revoked,
 *   expired or without an encryption subkey.
 */
export async function encryptForPgpKey(text: string, armoredPublicKey: string): Promise<string> {
  const pgp = await openpgp();
  const key = await usablePublicKey(pgp, armoredPublicKey);
  const message = await pgp.createMessage({ text });
  return pgp.encrypt({ message, encryptionKeys: key, format: "armored" });
}

/** One proof from `GET /api/chain/genesis` (PROTOCOL.md §6.5, §6.7), as the server serves it. */
export interface GenesisAnchor {
  /** The fingerprint the server claims; never trusted: the certificate's own one is checked. */
  readonly fingerprint: string;
  /** The armored OpenPGP public key. */
  readonly certificate: string;
  /** The armored cleartext-signed statement (`gpg --clearsign`). */
  readonly clearsigned: string;
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The line a root admin clearsigns to anchor the genesis: `pipo-genesis:<tenant>:<hex genesis hash>`. */
export function genesisStatement(tenant: string, genesisHash: Uint8Array): string {
  return `pipo-genesis:${tenant}:${hexOf(genesisHash)}`;
}

/**
 * Check one PGP anchor of a genesis as the server does (`rooms/pgp_anchor.py`):
 * the certificate's own fingerprint is one the genesis lists, the key is
 * neither revoked nor expired, the clearsigned text carries a valid signature
 * by it, and the signed text is this tenant's genesis statement.
 *
 * @returns The certificate's fingerprint, lower-case hex.
 * @throws {@link PgpError} with the server's code: `bad_pgp_key`,
 *   `pgp_not_in_genesis`, `pgp_key_revoked`, `pgp_key_expired`,
 *   `bad_pgp_signature` or `wrong_statement`.
 */
export async function verifyGenesisAnchor(options: {
  readonly tenant: string;
  readonly genesisHash: Uint8Array;
  readonly genesisPgpFingerprints: readonly string[];
  readonly anchor: GenesisAnchor;
}): Promise<string> {
  const { tenant, genesisHash, genesisPgpFingerprints, anchor } = options;
  const pgp = await openpgp();
  let key: PublicKey;
  try {
    key = await pgp.readKey({ armoredKey: anchor.certificate });
  } catch (error) {
    throw new PgpError(`The OpenPGP certificate cannot be read: ${reason(error)}`, "bad_pgp_key");
  }
  const fingerprint = key.getFingerprint().toLowerCase();
  const listed = new Set(genesisPgpFingerprints.map((value) => value.toLowerCase()));
  if (!listed.has(fingerprint)) {
    throw new PgpError(
      `The genesis does not list the OpenPGP key ${fingerprint}.`,
      "pgp_not_in_genesis",
      fingerprint,
    );
  }
  if (await key.isRevoked()) {
    throw new PgpError(`The OpenPGP key ${fingerprint} is revoked.`, "pgp_key_revoked", fingerprint);
  }
  const expiration = await key.getExpirationTime();
  if (expiration instanceof Date && expiration.getTime() <= Date.now()) {
    throw new PgpError(`The OpenPGP key ${fingerprint} has expired.`, "pgp_key_expired", fingerprint);
  }
  let signedText: string;
  try {
    const message = await pgp.readCleartextMessage({ cleartextMessage: anchor.clearsigned });
    const { data, signatures } = await pgp.verify({ message, verificationKeys: key });
    // Like Sequoia's `valid_sigs`: at least one signature by this key verifies.
    const results = await Promise.all(
      signatures.map((signature) =>
        signature.verified.then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!results.includes(true)) {
      throw new Error("no valid signature by this key");
    }
    signedText = data;
  } catch (error) {
    throw new PgpError(
      `The clearsigned text does not verify with the OpenPGP key ${fingerprint}: ${reason(error)}`,
      "bad_pgp_signature",
      fingerprint,
    );
  }
  const statement = genesisStatement(tenant, genesisHash);
  if (signedText.replace(/\r\n?/g, "\n").trim() !== statement) {
    throw new PgpError(
      `The signed text is not this tenant's genesis (${statement}).`,
      "wrong_statement",
      fingerprint,
    );
  }
  return fingerprint;
}
