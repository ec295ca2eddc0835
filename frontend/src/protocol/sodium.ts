/**
 * The one place that loads libsodium (the same library PyNaCl wraps, so every
 * primitive is byte-identical with the Python reference).
 *
 * libsodium compiles WebAssembly at start-up, so it must be awaited once:
 * call {@link sodiumReady} before any signing, verifying, hashing or
 * key-making function of this package. Those functions are synchronous, as in
 * Python, and throw a plain `Error` (a programming error, not a
 * `ProtocolError`) if called too early.
 *
 * The module is imported dynamically so the bundler puts its ~500 kB (wasm
 * inlined) in a chunk of its own: the shell paints before it has loaded.
 */

/** The initialised libsodium module. */
export type Sodium = typeof import("libsodium-wrappers-sumo")["default"];

let loading: Promise<Sodium> | undefined;
let loaded: Sodium | undefined;

/** Initialise libsodium (once) and return the module. */
export function sodiumReady(): Promise<Sodium> {
  if (loading === undefined) {
    const attempt = import("libsodium-wrappers-sumo").then(async ({ default: sodium }) => {
      await sodium.ready;
      loaded = sodium;
      return sodium;
    });
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

/** The libsodium version string, e.g. "1.0.20"; initialises libsodium first. */
export async function sodiumVersion(): Promise<string> {
  const sodium = await sodiumReady();
  return sodium.sodium_version_string();
}

/** @internal The initialised module, for this package's synchronous functions. */
export function lib(): Sodium {
  if (loaded === undefined) {
    throw new Error("libsodium is not initialised: await sodiumReady() first");
  }
  return loaded;
}
