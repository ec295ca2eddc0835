/**
 * verifyChainAsync ≡ verifyChain: on every case of tests/vectors/chain/, on
 * every split point for incremental verification, and on mutated chains
 * (faults in several links, and several faults in one link, whose order of
 * checks decides the answer), with WebCrypto's Ed25519, with a WebCrypto
 * that refuses everything, and with libsodium alone.
 */

import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { refusedBeforeArithmetic } from "./chainAsync";
import {
  b64uEncode,
  ChainError,
  type ChainState,
  LinkType,
  SignatureTag,
  signingInput,
  sodiumReady,
  verifyChain,
  verifyChainAsync,
} from "./index";
import { lib } from "./sodium";

const CHAIN_VECTORS = new URL("../../../tests/vectors/chain/", import.meta.url);

interface ChainCase {
  name: string;
  tenant: string;
  links: unknown[];
  valid: boolean;
  error?: string;
  at?: number;
  now_ms?: number;
}

function loadCases(): ChainCase[] {
  const directory = fileURLToPath(CHAIN_VECTORS);
  return readdirSync(directory)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .flatMap((name) => {
      const document = JSON.parse(readFileSync(`${directory}/${name}`, "utf-8")) as { cases: ChainCase[] };
      return document.cases.map((item) => ({
        ...item,
        name: `${name.replace(/\.json$/, "")}: ${item.name}`,
      }));
    });
}

const CASES = loadCases();

type Outcome =
  | { ok: true; summary: unknown }
  | { ok: false; name: string; code: string | undefined; at: number | undefined; message: string };

function outcomeOf(result: ChainState | undefined, error: unknown): Outcome {
  if (result !== undefined) {
    return { ok: true, summary: result.summary() };
  }
  const failure = error as Error & { code?: string; at?: number };
  return { ok: false, name: failure.name, code: failure.code, at: failure.at, message: failure.message };
}

function syncOutcome(links: unknown[], tenant: string, state?: ChainState): Outcome {
  try {
    return outcomeOf(verifyChain(links, state === undefined ? { tenant } : { tenant, state }), undefined);
  } catch (error) {
    return outcomeOf(undefined, error);
  }
}

/** A SubtleCrypto whose Ed25519 says "no" to everything (the libsodium recheck must decide). */
const REFUSING = {
  importKey: (...args: Parameters<SubtleCrypto["importKey"]>) => crypto.subtle.importKey(...args),
  verify: async () => false,
} as unknown as SubtleCrypto;
/** A SubtleCrypto without Ed25519. */
const WITHOUT_ED25519 = {
  importKey: async () => {
    throw new DOMException("Unrecognized name.", "NotSupportedError");
  },
  verify: async () => {
    throw new DOMException("Unrecognized name.", "NotSupportedError");
  },
} as unknown as SubtleCrypto;

const BACKENDS: readonly [string, SubtleCrypto | null | undefined][] = [
  ["WebCrypto", undefined],
  ["libsodium only", null],
  ["a refusing WebCrypto", REFUSING],
  ["WebCrypto without Ed25519", WITHOUT_ED25519],
];

async function asyncOutcome(
  links: unknown[],
  tenant: string,
  subtle: SubtleCrypto | null | undefined,
  state?: ChainState,
): Promise<Outcome> {
  const options: { tenant: string; state?: ChainState; subtle?: SubtleCrypto | null } = { tenant };
  if (state !== undefined) {
    options.state = state;
  }
  if (subtle !== undefined) {
    options.subtle = subtle;
  }
  try {
    return outcomeOf(await verifyChainAsync(links, options), undefined);
  } catch (error) {
    return outcomeOf(undefined, error);
  }
}

async function expectSame(links: unknown[], tenant: string, state?: ChainState): Promise<Outcome> {
  const expected = syncOutcome(links, tenant, state);
  for (const [, subtle] of BACKENDS) {
    expect(await asyncOutcome(links, tenant, subtle, state)).toEqual(expected);
  }
  return expected;
}

/** A deterministic PRNG (mulberry32), so a failing mutation can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside `value` (the root excluded). */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") {
    return [];
  }
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, item]) => [[...prefix, key], ...paths(item, [...prefix, key])]);
}

/** A copy of `value` with the value at `path` changed by `change` (undefined: deleted). */
function mutate(value: Json, path: (string | number)[], change: (old: Json) => Json | undefined): Json {
  const copy = structuredClone(value);
  let parent = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) {
    parent = parent[key] as Record<string | number, Json>;
  }
  const last = path.at(-1) as string | number;
  const changed = change(parent[last] as Json);
  if (changed !== undefined) {
    parent[last] = changed;
  } else if (Array.isArray(parent)) {
    parent.splice(last as number, 1);
  } else {
    delete parent[last];
  }
  return copy;
}

/** Change one base64url character (keeping the text strict), or the text's tail. */
function flipText(text: string, next: () => number): string {
  if (text.length === 0) {
    return "x";
  }
  const position = Math.floor(next() * Math.max(1, text.length - 1));
  const char = text[position] === "A" ? "B" : "A";
  return text.slice(0, position) + char + text.slice(position + 1);
}

function randomChange(next: () => number): (old: Json) => Json | undefined {
  const roll = next();
  return (old) => {
    if (typeof old === "string") {
      return roll < 0.8 ? flipText(old, next) : roll < 0.9 ? `${old}=` : undefined;
    }
    if (typeof old === "number") {
      return roll < 0.5 ? old + 1 : roll < 0.7 ? old - 1 : roll < 0.85 ? String(old) : undefined;
    }
    if (old !== null && typeof old === "object") {
      return roll < 0.5 ? undefined : Array.isArray(old) ? [...old, old[0] ?? null] : { ...old, extra: 1 };
    }
    return roll < 0.5 ? undefined : 0;
  };
}

function linkAt(links: unknown[], index: number): Record<string, Json> {
  return links[index] as Record<string, Json>;
}

function withLink(links: unknown[], index: number, link: Json): unknown[] {
  return links.map((item, position) => (position === index ? link : item));
}

function flipSig(link: Json): Json {
  return mutate(link, ["sig"], (old) => flipText(old as string, () => 0.5));
}

beforeAll(async () => {
  await sodiumReady();
});

describe("verifyChainAsync on the vectors", () => {
  it.each(CASES.map((item) => [item.name, item] as const))(
    "should match verifyChain on %s",
    async (_name, item) => {
      const outcome = await expectSame(item.links, item.tenant);
      if (item.now_ms === undefined) {
        if (item.valid) {
          expect(outcome.ok).toBe(true);
        } else {
          expect(outcome).toMatchObject({ ok: false, code: item.error, at: item.at });
        }
      }
    },
  );

  it("should match verifyChain incrementally, from every split point", async () => {
    for (const item of CASES.filter((candidate) => candidate.valid)) {
      for (let split = 1; split < item.links.length; split++) {
        const middle = verifyChain(item.links.slice(0, split), { tenant: item.tenant });
        expect(await expectSame(item.links.slice(split), item.tenant, middle)).toMatchObject({ ok: true });
      }
    }
  });

  it("should refuse a state of another tenant, and accept no links", async () => {
    const item = CASES.find((candidate) => candidate.valid) as ChainCase;
    const state = verifyChain(item.links, { tenant: item.tenant });
    expect(await expectSame([], "lear-co", state)).toMatchObject({ ok: false, code: "wrong_tenant" });
    expect(await expectSame([], item.tenant)).toMatchObject({ ok: true });
  });
});

describe("verifyChainAsync on mutated chains", () => {
  const longest = [...CASES]
    .filter((item) => item.valid && item.now_ms === undefined)
    .sort((a, b) => b.links.length - a.links.length)
    .slice(0, 6);

  it("should report a bad signature at i over any rule failure after i", async () => {
    for (const item of longest) {
      const count = item.links.length;
      for (let bad = 0; bad < count; bad++) {
        const flipped = withLink(item.links, bad, flipSig(linkAt(item.links, bad)));
        expect(await expectSame(flipped, item.tenant)).toMatchObject({ code: "bad_signature", at: bad });
        // Later links dropped, swapped or duplicated: rule failures after `bad`.
        const broken = [...flipped.slice(0, bad + 1), ...flipped.slice(bad + 2), flipped[0]];
        expect(await expectSame(broken, item.tenant)).toMatchObject({ code: "bad_signature", at: bad });
      }
    }
  });

  it("should report a rule failure at i over a bad signature after i", async () => {
    for (const item of longest) {
      const count = item.links.length;
      for (let rule = 1; rule + 2 < count; rule++) {
        // Link `rule` out of place (seq_gap, its signature good), a bad one after it.
        const last = flipSig(linkAt(item.links, count - 1));
        const links = [...item.links.slice(0, rule), ...item.links.slice(rule + 1, -1), last];
        const outcome = await expectSame(links, item.tenant);
        expect(outcome).toMatchObject({ ok: false, at: rule });
        expect(outcome).not.toMatchObject({ code: "bad_signature" });
      }
    }
  });

  it("should follow the order of checks within one link", async () => {
    const genesis = CASES.find((item) => item.name.startsWith("genesis: two roots")) as ChainCase;
    const link = linkAt(genesis.links, 0);
    const tamperedRoot = (index: number) => (value: Json) =>
      mutate(value, ["body", "roots", index, "created"], (old) => (old as number) + 1);
    const malformedRoot = (index: number) => (value: Json) =>
      mutate(value, ["body", "roots", index], (old) => ({ ...(old as Record<string, Json>), extra: 1 }));
    const cases: [string, (value: Json) => Json, string][] = [
      [
        "root 0 signature, then root 1 malformed",
        (value) => malformedRoot(1)(tamperedRoot(0)(value)),
        "bad_signature",
      ],
      [
        "root 0 malformed, then root 1 signature",
        (value) => tamperedRoot(1)(malformedRoot(0)(value)),
        "malformed_link",
      ],
      ["a root signature, then the link's", (value) => flipSig(tamperedRoot(1)(value)), "bad_signature"],
      [
        "the link's signature, then a rule",
        (value) => mutate(flipSig(value), ["seq"], () => 5),
        "bad_signature",
      ],
      [
        "prev changed: its signature first",
        (value) => mutate(value, ["prev"], () => b64uEncode(new Uint8Array(32))),
        "bad_signature",
      ],
      [
        "schema before signatures",
        (value) => mutate(flipSig(value), ["body", "extra"], () => 1),
        "malformed_link",
      ],
      [
        "a cosignature, then a rule",
        (value) => mutate(value, ["cosigs", 0, "sig"], (old) => flipText(old as string, () => 0.3)) as Json,
        "bad_signature",
      ],
    ];
    for (const [, change, code] of cases) {
      const outcome = await expectSame([change(link)], genesis.tenant);
      expect(outcome).toMatchObject({ ok: false, code, at: 0 });
    }
  });

  it("should match verifyChain on random mutations", async () => {
    const next = random(20_240_601);
    let refused = 0;
    for (const item of CASES.filter((candidate) => candidate.valid)) {
      for (let round = 0; round < 12; round++) {
        const index = Math.floor(next() * item.links.length);
        const link = item.links[index] as Json;
        const options = paths(link);
        const path = options[Math.floor(next() * options.length)] as (string | number)[];
        const mutated = withLink(item.links, index, mutate(link, path, randomChange(next)));
        // Sometimes a second fault further on.
        const links =
          next() < 0.3 && index + 1 < item.links.length
            ? withLink(mutated, item.links.length - 1, flipSig(linkAt(mutated, item.links.length - 1)))
            : mutated;
        const outcome = await expectSame(links, item.tenant);
        refused += outcome.ok ? 0 : 1;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it("should reject, as libsodium does, what a cofactorless verifier accepts from a small-order key", async () => {
    // The identity point as the key, R = B and S = 1: [S]B = R + [h]A for any message,
    // so OpenSSL and BoringSSL accept it; libsodium refuses a small-order key.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array(64);
    forged.set(Uint8Array.from({ length: 32 }, (_, index) => (index === 0 ? 0x58 : 0x66)));
    forged[32] = 1;
    expect(lib().crypto_sign_verify_detached(forged, new Uint8Array([1]), identity)).toBe(false);
    expect(refusedBeforeArithmetic({ signature: forged, publicKey: identity })).toBe(true);
    const key = b64uEncode(identity);
    const sig = b64uEncode(forged);
    const root = { v: 1, tenant: "acme", user: "eve", sign_pub: key, box_pub: key, created: 1, sig };
    const link = {
      v: 1,
      tenant: "acme",
      seq: 0,
      prev: null,
      ts: 1,
      type: LinkType.GENESIS,
      body: {
        roots: [root],
        policy: { mode: "open", domains: [] },
        server_key: b64uEncode(new Uint8Array(32).fill(7)),
      },
      signer: key,
      sig,
    };
    expect(await expectSame([link], "acme")).toMatchObject({ ok: false, code: "bad_signature", at: 0 });
  });

  it("should list exactly libsodium's small-order encodings", () => {
    const message = signingInput(SignatureTag.TEST, new Uint8Array([1, 2, 3]));
    const good = lib().crypto_sign_seed_keypair(new Uint8Array(32).fill(3));
    const signature = lib().crypto_sign_detached(message, good.privateKey);
    expect(refusedBeforeArithmetic({ signature, publicKey: good.publicKey })).toBe(false);
    const smallOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ].map((hex) => lib().from_hex(hex));
    for (const point of smallOrder) {
      for (const signBit of [0, 0x80]) {
        const key = point.slice();
        key[31] = (key[31] as number) | signBit;
        expect(refusedBeforeArithmetic({ signature, publicKey: key })).toBe(true);
        expect(lib().crypto_sign_verify_detached(signature, message, key)).toBe(false);
        const withR = signature.slice();
        withR.set(key, 0);
        expect(refusedBeforeArithmetic({ signature: withR, publicKey: good.publicKey })).toBe(true);
      }
    }
    // 2^255 - 19 + 2 is no canonical y; S = L is no canonical scalar.
    const nonCanonical = lib().from_hex("efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    expect(refusedBeforeArithmetic({ signature, publicKey: nonCanonical })).toBe(true);
    const bigS = signature.slice();
    bigS.set(lib().from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"), 32);
    expect(refusedBeforeArithmetic({ signature: bigS, publicKey: good.publicKey })).toBe(true);
    expect(lib().crypto_sign_verify_detached(bigS, message, good.publicKey)).toBe(false);
  });

  it("should give the sequential verifier's error objects", async () => {
    const item = longest[0] as ChainCase;
    const flipped = withLink(item.links, 2, flipSig(linkAt(item.links, 2)));
    const error = await verifyChainAsync(flipped, { tenant: item.tenant }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ChainError);
    expect([(error as ChainError).code, (error as ChainError).at]).toEqual(["bad_signature", 2]);
  });
});
