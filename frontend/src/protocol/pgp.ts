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
