/**
 * Crypto readiness: whether libsodium loaded, as a signal the UI reads.
 */

import { type ReadonlySignal, signal } from "@preact/signals-core";
import { sodiumVersion } from "../protocol";

export type CryptoStatus =
  | { readonly kind: "initialising" }
  | { readonly kind: "ready"; readonly libsodiumVersion: string }
  | { readonly kind: "failed"; readonly message: string };

export interface CryptoStore {
  readonly status: ReadonlySignal<CryptoStatus>;
}

/** Make the store and start loading libsodium; the promise settles when the store has. */
export function initialiseCrypto(load: () => Promise<string> = sodiumVersion): {
  store: CryptoStore;
  done: Promise<void>;
} {
  const status = signal<CryptoStatus>({ kind: "initialising" });
  const done = load().then(
    (version) => {
      status.value = { kind: "ready", libsodiumVersion: version };
    },
    (error: unknown) => {
      status.value = { kind: "failed", message: error instanceof Error ? error.message : String(error) };
    },
  );
  return { store: { status }, done };
}
