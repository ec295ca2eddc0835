// Entry for bench/chain_browser.py: times verifyChainAsync and verifyChain in the page itself.
import { type ChainState, sodiumReady, verifyChain, verifyChainAsync } from "../src/protocol";

interface BenchResult {
  /** verifyChainAsync, from the genesis. */
  coldMs: number[];
  /** verifyChain (synchronous), from the genesis. */
  syncColdMs: number[];
  /** verifyChainAsync of the last link on top of the state before it. */
  incrementalMs: number[];
  /** verifyChain of the last link on top of the state before it. */
  syncIncrementalMs: number[];
  members: number;
  /** True if the page could use WebCrypto's Ed25519 (a secure context that has it). */
  webCryptoEd25519: boolean;
  /** Both verifiers gave the same state. */
  same: boolean;
  /** Mutated chains on which the two verifiers disagree (with the workers at work): none. */
  mismatches: string[];
}

type Outcome = string;

function describeOutcome(state: ChainState | undefined, error: unknown): Outcome {
  if (state !== undefined) {
    return JSON.stringify(state.summary());
  }
  const failure = error as { code?: string; at?: number; message?: string };
  return JSON.stringify([failure.code, failure.at, failure.message]);
}

/** A copy of `links` with the text at `field` of link `index` changed in one character. */
function flip(
  links: unknown[],
  index: number,
  field: (link: Record<string, unknown>) => [Record<string, unknown>, string],
): unknown[] {
  const copy = [...links];
  const link = structuredClone(copy[index]) as Record<string, unknown>;
  const [holder, key] = field(link);
  const text = holder[key] as string;
  holder[key] = text.slice(0, 10) + (text[10] === "A" ? "B" : "A") + text.slice(11);
  copy[index] = link;
  return copy;
}

/** verifyChainAsync ≡ verifyChain on big mutated chains, where the workers take part. */
async function crossCheck(links: unknown[], tenant: string): Promise<string[]> {
  const sig = (link: Record<string, unknown>): [Record<string, unknown>, string] => [link, "sig"];
  const firstAdmit = links.findIndex(
    (link, index) => index > 5000 && (link as { type: string }).type === "admit",
  );
  const bundle = (link: Record<string, unknown>): [Record<string, unknown>, string] => [
    (link.body as { bundle: Record<string, unknown> }).bundle,
    "sig",
  ];
  const late = flip(links, 9000, sig);
  const cases: [string, unknown[]][] = [
    ["a bad signature at 7000", flip(links, 7000, sig)],
    ["a bad bundle signature", flip(links, firstAdmit, bundle)],
    ["bad signatures at 9000 and 3000", flip(late, 3000, sig)],
    [
      "a bad signature at 6000, link 8000 dropped",
      flip([...links.slice(0, 8000), ...links.slice(8001)], 6000, sig),
    ],
    ["link 4000 dropped, a bad signature at 9000", [...late.slice(0, 4000), ...late.slice(4001)]],
    ["the last link's signature", flip(links, links.length - 1, sig)],
  ];
  const mismatches: string[] = [];
  for (const [name, changed] of cases) {
    let expected: Outcome;
    try {
      expected = describeOutcome(verifyChain(changed, { tenant }), undefined);
    } catch (error) {
      expected = describeOutcome(undefined, error);
    }
    let actual: Outcome;
    try {
      actual = describeOutcome(await verifyChainAsync(changed, { tenant }), undefined);
    } catch (error) {
      actual = describeOutcome(undefined, error);
    }
    if (actual !== expected) {
      mismatches.push(`${name}: verifyChain ${expected}, verifyChainAsync ${actual}`);
    }
  }
  return mismatches;
}

async function hasWebCryptoEd25519(): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", new Uint8Array(32).fill(9), "Ed25519", false, [
      "verify",
    ]);
    await crypto.subtle.verify("Ed25519", key, new Uint8Array(64), new Uint8Array(0));
    return true;
  } catch {
    return false;
  }
}

async function run(links: unknown[], tenant: string, rounds: number): Promise<BenchResult> {
  await sodiumReady();
  const webCryptoEd25519 = globalThis.isSecureContext && (await hasWebCryptoEd25519());
  const coldMs: number[] = [];
  const syncColdMs: number[] = [];
  const incrementalMs: number[] = [];
  const syncIncrementalMs: number[] = [];
  let state: ChainState | undefined;
  let syncState: ChainState | undefined;
  for (let round = 0; round < rounds; round += 1) {
    let started = performance.now();
    state = await verifyChainAsync(links, { tenant });
    coldMs.push(performance.now() - started);
    started = performance.now();
    syncState = verifyChain(links, { tenant });
    syncColdMs.push(performance.now() - started);
  }
  const before = verifyChain(links.slice(0, -1), { tenant });
  for (let round = 0; round < rounds * 5; round += 1) {
    let started = performance.now();
    await verifyChainAsync(links.slice(-1), { tenant, state: before });
    incrementalMs.push(performance.now() - started);
    started = performance.now();
    verifyChain(links.slice(-1), { tenant, state: before });
    syncIncrementalMs.push(performance.now() - started);
  }
  const summary = JSON.stringify(state?.summary());
  const mismatches = await crossCheck(links, tenant);
  return {
    coldMs,
    syncColdMs,
    incrementalMs,
    syncIncrementalMs,
    members: state ? Object.keys(state.summary().members).length : 0,
    webCryptoEd25519,
    same: summary === JSON.stringify(syncState?.summary()),
    mismatches,
  };
}

(globalThis as unknown as { pipoBench: { run: typeof run } }).pipoBench = { run };
