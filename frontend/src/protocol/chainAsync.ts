/**
 * {@link verifyChainAsync}: {@link verifyChain} with the Ed25519 checks made
 * concurrently, on other cores where the browser can (PROTOCOL.md §6.6).
 *
 * The links are applied in order on the main thread with every signature
 * check put off ({@link DeferredChainRun}). Meanwhile a verifying worker
 * (WebCrypto Ed25519, which Chromium runs on the calling thread, hence the
 * worker) takes the checks from the front, a batch at a time; once every link
 * is applied, the main thread takes them from the back (WebCrypto, else
 * libsodium) until the two meet. Without WebCrypto's Ed25519 or workers (Node,
 * an insecure context, old browsers) the main thread makes them all.
 *
 * The result is exactly verifyChain's: the same state, or the same
 * {@link ChainError} code at the same `at`. The checks are in the sequential
 * verifier's order, so its first refusal is the first failing check if any
 * fails before the link the rules refused (or before the rule that refused
 * it), else that refusal. And every check decides as libsodium does: what
 * WebCrypto refuses is checked again with libsodium, and what libsodium
 * refuses before any curve arithmetic (a scalar S ≥ L, a small-order R or
 * public key, a non-canonical public key: cases other Ed25519
 * implementations accept) never goes to WebCrypto.
 */

import type { ChainState, DeferredSignature } from "./chain";
import { DeferredChainRun } from "./chain";
import { ChainError } from "./errors";
import { lib, sodiumReady } from "./sodium";

/** Main-thread work between two yields to the event loop (ms). */
const SLICE_MS = 8;
const ED25519 = { name: "Ed25519" } as const;

const Status = { PENDING: 0, IN_FLIGHT: 1, VALID: 2, INVALID: 3 } as const;
type Status = (typeof Status)[keyof typeof Status];

/**
 * Like {@link verifyChain}, but the signatures are checked concurrently
 * (WebCrypto Ed25519 where available, else libsodium); initialises libsodium
 * itself.
 *
 * @param options.subtle - @internal tests only: the SubtleCrypto to use
 *   (null: libsodium only). Defaults to `globalThis.crypto.subtle`.
 * @throws (rejects with) the very error verifyChain would throw: a
 *   {@link ChainError} with `at` set to the failing link's index.
 */
export async function verifyChainAsync(
  links: Iterable<unknown>,
  options: { tenant: string; state?: ChainState; subtle?: SubtleCrypto | null },
): Promise<ChainState> {
  await sodiumReady();
  const run = new DeferredChainRun(options.tenant, options.state);
  // verifyChain reads the links one by one: an iterator failing part-way is
  // its error only if every link before it passes.
  const list: unknown[] = [];
  let iterationError: { error: unknown } | undefined;
  try {
    for (const data of links) {
      list.push(data);
    }
  } catch (error) {
    iterationError = { error };
  }
  const subtle = await withEd25519(options.subtle === undefined ? defaultSubtle() : options.subtle);
  const checker = new Checker(run.checks, subtle, new Yielder());
  try {
    checker.startWorkers(list.length);
    let refusal: { error: unknown } | undefined;
    let deadline = performance.now() + SLICE_MS;
    for (let index = 0; index < list.length; index++) {
      try {
        run.step(list[index], index);
      } catch (error) {
        refusal = { error };
        break;
      }
      checker.pump();
      if ((index & 15) === 15 && performance.now() > deadline) {
        await checker.yielder.next();
        deadline = performance.now() + SLICE_MS;
      }
    }
    const failed = await checker.finish();
    if (failed !== undefined) {
      const error = new ChainError("bad_signature", failed.message);
      error.at = failed.at;
      throw error;
    }
    refusal ??= iterationError;
    if (refusal !== undefined) {
      throw refusal.error;
    }
    return run.finish();
  } finally {
    checker.close();
    checker.yielder.close();
  }
}

function defaultSubtle(): SubtleCrypto | null {
  // Undefined outside a secure context (and in old runtimes).
  return globalThis.crypto?.subtle ?? null;
}

const probed = new WeakMap<SubtleCrypto, Promise<boolean>>();

/** `subtle` if it has Ed25519 (asked once: importing a key), else null. */
async function withEd25519(subtle: SubtleCrypto | null): Promise<SubtleCrypto | null> {
  if (subtle === null) {
    return null;
  }
  let probe = probed.get(subtle);
  if (probe === undefined) {
    // Any 32 bytes that are a point: here the base point's encoding.
    const point = Uint8Array.from({ length: 32 }, (_, index) => (index === 0 ? 0x58 : 0x66));
    probe = subtle.importKey("raw", point, ED25519, false, ["verify"]).then(
      () => true,
      () => false,
    );
    probed.set(subtle, probe);
  }
  return (await probe) ? subtle : null;
}

/** The code of the verifying workers (a blob: worker, so it needs no bundling). */
const WORKER_SOURCE = `"use strict";
const ED25519 = { name: "Ed25519" };
const keys = new Map();
self.onmessage = async ({ data }) => {
  const { id, keyTexts, keyBytes, signatures, inputs, ends } = data;
  const results = new Uint8Array(keyTexts.length);
  const work = [];
  let start = 0;
  for (let i = 0; i < keyTexts.length; i++) {
    let key = keys.get(keyTexts[i]);
    if (key === undefined) {
      key = crypto.subtle
        .importKey("raw", keyBytes.slice(32 * i, 32 * i + 32), ED25519, false, ["verify"])
        .catch(() => null);
      keys.set(keyTexts[i], key);
    }
    const input = inputs.subarray(start, ends[i]);
    start = ends[i];
    const signature = signatures.subarray(64 * i, 64 * i + 64);
    work.push(
      key
        .then((cryptoKey) => cryptoKey !== null && crypto.subtle.verify(ED25519, cryptoKey, signature, input))
        .then((valid) => { results[i] = valid ? 1 : 2; }, () => { results[i] = 2; }),
    );
  }
  await Promise.all(work);
  self.postMessage({ id, results }, [results.buffer]);
};
`;

/** Checks per message to a worker, and messages a worker holds at most. */
const BATCH = 128;
const QUEUED_BATCHES = 3;
/** A chain of fewer links (about as many checks) is not worth starting a worker for. */
const MIN_LINKS_FOR_WORKERS = 512;
const MAX_WORKERS = 3;

interface Helper {
  readonly worker: Worker;
  /** Batches sent and not answered, by id: the indices of their checks. */
  readonly batches: Map<number, number[]>;
  dead: boolean;
}

/**
 * Makes the checks of one chain run: verifying workers (WebCrypto Ed25519 in
 * each) take them from the front, a batch at a time, while the links are
 * applied; then the main thread takes them from the back until the two meet.
 */
class Checker {
  readonly yielder: Yielder;
  readonly #checks: DeferredSignature[];
  readonly #status: Status[] = [];
  readonly #subtle: SubtleCrypto | null;
  /** The main thread's CryptoKeys (null: WebCrypto would not import the key). */
  readonly #keys = new Map<string, Promise<CryptoKey | null>>();
  readonly #helpers: Helper[] = [];
  /** Checks the workers gave back unmade (a worker failed). */
  readonly #returned: number[] = [];
  #workerUrl: string | undefined;
  #nextBatch = 0;
  /** Next check to hand to a worker. */
  #head = 0;
  /** Checks from here on are the main thread's (once every link is applied). */
  #limit = Number.POSITIVE_INFINITY;

  constructor(checks: DeferredSignature[], subtle: SubtleCrypto | null, yielder: Yielder) {
    this.#checks = checks;
    this.#subtle = subtle;
    this.yielder = yielder;
  }

  /** Start the workers if a run of `links` links is big enough to pay for them. */
  startWorkers(links: number): void {
    if (this.#subtle === null || links < MIN_LINKS_FOR_WORKERS || typeof Worker !== "function") {
      return;
    }
    const cores = globalThis.navigator?.hardwareConcurrency ?? 2;
    const count = Math.max(1, Math.min(MAX_WORKERS, cores - 1));
    try {
      this.#workerUrl = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
      for (let index = 0; index < count; index++) {
        const helper: Helper = { worker: new Worker(this.#workerUrl), batches: new Map(), dead: false };
        helper.worker.onmessage = (event: MessageEvent<{ id: number; results: Uint8Array }>) =>
          this.#answered(helper, event.data.id, event.data.results);
        helper.worker.onerror = (event) => {
          event.preventDefault();
          this.#lost(helper);
        };
        helper.worker.onmessageerror = () => this.#lost(helper);
        this.#helpers.push(helper);
      }
    } catch {
      // No workers here (a CSP without blob:, say): the main thread makes every check.
      this.close();
    }
  }

  close(): void {
    for (const helper of this.#helpers) {
      helper.dead = true;
      helper.worker.terminate();
    }
    this.#helpers.length = 0;
    if (this.#workerUrl !== undefined) {
      URL.revokeObjectURL(this.#workerUrl);
      this.#workerUrl = undefined;
    }
  }

  /** Hand checks to the workers that have room. */
  pump(): void {
    for (const helper of this.#helpers) {
      while (!helper.dead && helper.batches.size < QUEUED_BATCHES && this.#head < this.#end()) {
        this.#send(helper);
      }
    }
  }

  #end(): number {
    return Math.min(this.#checks.length, this.#limit);
  }

  #send(helper: Helper): void {
    const checks = this.#checks;
    const indices: number[] = [];
    let inputBytes = 0;
    const end = Math.min(this.#end(), this.#head + BATCH);
    for (; this.#head < end; this.#head++) {
      const index = this.#head;
      const check = checks[index] as DeferredSignature;
      if (refusedBeforeArithmetic(check)) {
        this.#status[index] = sodiumVerify(check) ? Status.VALID : Status.INVALID;
      } else {
        this.#status[index] = Status.IN_FLIGHT;
        indices.push(index);
        inputBytes += check.input.length;
      }
    }
    if (indices.length === 0) {
      return;
    }
    const keyTexts: string[] = [];
    const keyBytes = new Uint8Array(32 * indices.length);
    const signatures = new Uint8Array(64 * indices.length);
    const inputs = new Uint8Array(inputBytes);
    const ends = new Uint32Array(indices.length);
    let offset = 0;
    indices.forEach((index, position) => {
      const check = checks[index] as DeferredSignature;
      keyTexts.push(check.keyText);
      keyBytes.set(check.publicKey, 32 * position);
      signatures.set(check.signature, 64 * position);
      inputs.set(check.input, offset);
      offset += check.input.length;
      ends[position] = offset;
    });
    const id = this.#nextBatch++;
    helper.batches.set(id, indices);
    try {
      helper.worker.postMessage({ id, keyTexts, keyBytes, signatures, inputs, ends }, [
        keyBytes.buffer,
        signatures.buffer,
        inputs.buffer,
        ends.buffer,
      ]);
    } catch {
      this.#lost(helper);
    }
  }

  #answered(helper: Helper, id: number, results: Uint8Array): void {
    const indices = helper.batches.get(id);
    if (indices === undefined || helper.dead) {
      return;
    }
    helper.batches.delete(id);
    indices.forEach((index, position) => {
      if (this.#status[index] !== Status.IN_FLIGHT) {
        return; // made on the main thread meanwhile
      }
      // A worker's "no" is checked again: only libsodium's counts.
      const valid = results[position] === 1 || sodiumVerify(this.#checks[index] as DeferredSignature);
      this.#status[index] = valid ? Status.VALID : Status.INVALID;
    });
    this.pump();
  }

  #lost(helper: Helper): void {
    if (helper.dead) {
      return;
    }
    helper.dead = true;
    helper.worker.terminate();
    for (const indices of helper.batches.values()) {
      for (const index of indices) {
        if (this.#status[index] === Status.IN_FLIGHT) {
          this.#status[index] = Status.PENDING;
          this.#returned.push(index);
        }
      }
    }
    helper.batches.clear();
  }

  /**
   * Make every check (no more will come); the first that fails, if any.
   * The main thread takes the checks no worker has from the back, a slice at
   * a time, until it meets the workers; then, rather than wait for them, it
   * makes what they still hold, from the back too (the first answer counts:
   * both are the same).
   */
  async finish(): Promise<DeferredSignature | undefined> {
    const checks = this.#checks;
    const status = this.#status;
    let tail = checks.length;
    this.#limit = tail;
    this.pump();
    let back: number | undefined;
    while (true) {
      const slice: number[] = this.#returned.splice(0);
      // About SLICE_MS / 2 of work between two yields (a check costs under 0.1 ms).
      const deadline = performance.now() + SLICE_MS / 2;
      const room = () => slice.length < 64 && (slice.length % 8 !== 0 || performance.now() < deadline);
      while (tail > this.#head && room()) {
        tail--;
        this.#limit = tail;
        if ((status[tail] ?? Status.PENDING) === Status.PENDING) {
          slice.push(tail);
        }
      }
      if (tail <= this.#head) {
        back ??= this.#head - 1;
        for (; back >= 0 && room(); back--) {
          if (status[back] === Status.IN_FLIGHT) {
            slice.push(back);
          }
        }
      }
      if (slice.length > 0) {
        await this.#verifyHere(slice);
        await this.yielder.next();
      } else if (back !== undefined && back < 0 && this.#returned.length === 0) {
        break;
      }
    }
    const first = status.indexOf(Status.INVALID);
    return first < 0 ? undefined : checks[first];
  }

  /** Make `indices` on the main thread: WebCrypto if it has the key, else libsodium. */
  async #verifyHere(indices: readonly number[]): Promise<void> {
    await Promise.all(
      indices.map(async (index) => {
        const check = this.#checks[index] as DeferredSignature;
        let valid = false;
        if (this.#subtle !== null && !refusedBeforeArithmetic(check)) {
          const key = await this.#key(check);
          if (key !== null) {
            valid = await this.#subtle
              .verify(ED25519, key, check.signature as BufferSource, check.input as BufferSource)
              .catch(() => false);
          }
        }
        // WebCrypto's "no" (or none) is checked again: only libsodium's counts.
        this.#status[index] = valid || sodiumVerify(check) ? Status.VALID : Status.INVALID;
      }),
    );
  }

  #key(check: DeferredSignature): Promise<CryptoKey | null> {
    let key = this.#keys.get(check.keyText);
    if (key === undefined) {
      const subtle = this.#subtle as SubtleCrypto;
      key = subtle
        .importKey("raw", check.publicKey as BufferSource, ED25519, false, ["verify"])
        .catch(() => null);
      this.#keys.set(check.keyText, key);
    }
    return key;
  }
}

function sodiumVerify(check: DeferredSignature): boolean {
  try {
    return lib().crypto_sign_verify_detached(check.signature, check.input, check.publicKey);
  } catch {
    return false;
  }
}

// libsodium's own checks before any curve arithmetic (crypto_sign/ed25519/ref10/open.c):
// S < L, R and the public key not of small order, the public key canonical.

/** L, the order of the base point, little-endian. */
const ORDER = hexBytes("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
/** libsodium's `ge25519_has_small_order` list (compared with the top bit cleared). */
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(hexBytes);

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from({ length: hex.length / 2 }, (_, index) =>
    Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16),
  );
}

/** @internal True if libsodium refuses the check before any curve arithmetic. */
export function refusedBeforeArithmetic(check: { signature: Uint8Array; publicKey: Uint8Array }): boolean {
  const { signature, publicKey } = check;
  if (signature.length !== 64 || publicKey.length !== 32) {
    return true;
  }
  return (
    !scalarBelowOrder(signature.subarray(32)) ||
    hasSmallOrder(signature.subarray(0, 32)) ||
    !pointCanonical(publicKey) ||
    hasSmallOrder(publicKey)
  );
}

function scalarBelowOrder(scalar: Uint8Array): boolean {
  for (let index = 31; index >= 0; index--) {
    const a = scalar[index] as number;
    const b = ORDER[index] as number;
    if (a !== b) {
      return a < b;
    }
  }
  return false;
}

const SMALL_ORDER_FIRST_BYTES = new Set(SMALL_ORDER.map((entry) => entry[0]));

function hasSmallOrder(point: Uint8Array): boolean {
  if (!SMALL_ORDER_FIRST_BYTES.has(point[0])) {
    return false;
  }
  return SMALL_ORDER.some((entry) => {
    for (let index = 0; index < 31; index++) {
      if (point[index] !== entry[index]) {
        return false;
      }
    }
    return ((point[31] as number) & 0x7f) === entry[31];
  });
}

/** y < p = 2^255 - 19 (the sign bit aside). */
function pointCanonical(point: Uint8Array): boolean {
  if (((point[31] as number) & 0x7f) !== 0x7f) {
    return true;
  }
  for (let index = 30; index > 0; index--) {
    if (point[index] !== 0xff) {
      return true;
    }
  }
  return (point[0] as number) < 0xed;
}

/** Yields to the event loop (a task, not a microtask, and without timer clamping). */
class Yielder {
  readonly #channel: MessageChannel | undefined;
  readonly #waiting: (() => void)[] = [];

  constructor() {
    if (typeof MessageChannel === "function") {
      this.#channel = new MessageChannel();
      this.#channel.port1.onmessage = () => this.#waiting.shift()?.();
    }
  }

  next(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#channel === undefined) {
        setTimeout(resolve, 0);
        return;
      }
      this.#waiting.push(resolve);
      this.#channel.port2.postMessage(null);
    });
  }

  close(): void {
    this.#channel?.port1.close();
    this.#channel?.port2.close();
  }
}
