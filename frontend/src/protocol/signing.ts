/**
 * Domain-separated Ed25519 signatures (mirrors `protocol/signing.py`).
 *
 * Every signature covers `tag || 0x00 || message`, where the tag names what is
 * being signed and its version, so a signature made for one purpose can never
 * be presented as valid for another.
 */

import { KeyFormatError, SignatureError } from "./errors";
import { lib } from "./sodium";

export const SIGN_SEED_BYTES = 32;
export const SIGN_PUBLIC_BYTES = 32;
export const SIGNATURE_BYTES = 64;
const TAG_PATTERN = /^pipo\/[a-z0-9_/-]+\/v[0-9]+$/;

/** Every context PiPo signs in. A new context gets a new tag. */
export const SignatureTag = {
  IDENTITY: "pipo/identity/v1",
  MESSAGE: "pipo/msg/v1",
  LINK: "pipo/link/v1",
  EPOCH: "pipo/epoch/v1",
  EPOCH_SHARE: "pipo/epoch-share/v1",
  TEST: "pipo/test/v1",
} as const;

/** One of the {@link SignatureTag} values. */
export type SignatureTag = (typeof SignatureTag)[keyof typeof SignatureTag];

/**
 * The exact bytes an Ed25519 signature covers: `ascii(tag) || 0x00 || message`.
 *
 * @throws {@link SignatureError} if `tag` is not of the form `pipo/<name>/v<n>`.
 */
export function signingInput(tag: string, message: Uint8Array): Uint8Array {
  if (!TAG_PATTERN.test(tag)) {
    throw new SignatureError(`invalid signature tag ${JSON.stringify(tag)}`);
  }
  // The pattern admits ASCII only, so one char is one byte.
  const out = new Uint8Array(tag.length + 1 + message.length);
  for (let index = 0; index < tag.length; index++) {
    out[index] = tag.charCodeAt(index);
  }
  out[tag.length] = 0;
  out.set(message, tag.length + 1);
  return out;
}

/**
 * The Ed25519 public key for a 32-byte seed.
 *
 * @throws {@link KeyFormatError} if the seed is not 32 bytes.
 */
export function signPublicKey(seed: Uint8Array): Uint8Array {
  if (seed.length !== SIGN_SEED_BYTES) {
    throw new KeyFormatError("an Ed25519 seed is 32 bytes");
  }
  const { publicKey, privateKey } = lib().crypto_sign_seed_keypair(seed);
  lib().memzero(privateKey);
  return publicKey;
}

/**
 * Sign `message` in the context `tag` with the key made from `seed`; returns
 * the 64-byte detached signature (deterministic, as Ed25519 is).
 *
 * @throws {@link KeyFormatError} for a seed that is not 32 bytes,
 *   {@link SignatureError} for an invalid tag.
 */
export function sign(tag: string, message: Uint8Array, seed: Uint8Array): Uint8Array {
  if (seed.length !== SIGN_SEED_BYTES) {
    throw new KeyFormatError("an Ed25519 seed is 32 bytes");
  }
  const sodium = lib();
  const { privateKey } = sodium.crypto_sign_seed_keypair(seed);
  try {
    return sodium.crypto_sign_detached(signingInput(tag, message), privateKey);
  } finally {
    sodium.memzero(privateKey);
  }
}

/**
 * Check `signature` over `message` in the context `tag`. Returns nothing:
 * it throws unless the signature is valid, so a result cannot be ignored.
 *
 * @throws {@link KeyFormatError} if `publicKey` is not 32 bytes;
 *   {@link SignatureError} if the signature is not 64 bytes, the tag is
 *   invalid, or the signature does not verify.
 */
export function verify(tag: string, message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): void {
  if (publicKey.length !== SIGN_PUBLIC_BYTES) {
    throw new KeyFormatError("an Ed25519 public key is 32 bytes");
  }
  if (signature.length !== SIGNATURE_BYTES) {
    throw new SignatureError("an Ed25519 signature is 64 bytes");
  }
  const input = signingInput(tag, message);
  const sodium = lib();
  let valid = false;
  try {
    valid = sodium.crypto_sign_verify_detached(signature, input, publicKey);
  } catch {
    valid = false;
  }
  if (!valid) {
    throw new SignatureError("signature does not verify");
  }
}
