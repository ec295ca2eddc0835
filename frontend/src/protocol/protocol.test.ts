/**
 * Unit tests beyond the shared vectors: the edges of each rule, and the parts
 * of the Python reference that the vectors do not spell out.
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { b64uDecodeExact } from "./encoding";
import {
  b64uEncode,
  canonicalJson,
  IdentityBundle,
  IdentityKeys,
  makeIdentityBundle,
  ProtocolError,
  parseIdentityBundle,
  SAFETY_SYMBOLS,
  SignatureTag,
  safetyCode,
  sign,
  signingInput,
  signPublicKey,
  sodiumReady,
  sodiumVersion,
  verify,
} from "./index";

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).code;
  }
  throw new Error("expected a ProtocolError, but nothing was thrown");
}

const SEED = new Uint8Array(32).fill(7);
const BOX_SECRET = new Uint8Array(32).fill(9);

beforeAll(async () => {
  await sodiumReady();
});

describe("sodium", () => {
  it("should report libsodium's version", async () => {
    expect(await sodiumVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("b64uDecodeExact", () => {
  it("should return bytes of the requested length", () => {
    expect(b64uDecodeExact(b64uEncode(SEED), 32, "seed")).toStrictEqual(SEED);
  });

  it("should refuse another length, a non-string and bad text", () => {
    expect(codeOf(() => b64uDecodeExact(b64uEncode(SEED), 31, "seed"))).toBe("bad_base64url");
    expect(codeOf(() => b64uDecodeExact(42, 32, "seed"))).toBe("bad_base64url");
    expect(codeOf(() => b64uDecodeExact("a=", 1, "seed"))).toBe("bad_base64url");
  });
});

describe("canonicalJson", () => {
  it("should sort keys by UTF-16 code units and write integers plainly", () => {
    const text = new TextDecoder().decode(
      canonicalJson({ b: [1, -0, 2 ** 53 - 1], a: null, "\u{1f600}": true }),
    );
    expect(text).toBe('{"a":null,"b":[1,0,9007199254740991],"\u{1f600}":true}');
  });

  it.each([
    ["a lone surrogate in a string", { text: "\ud800" }],
    ["a lone surrogate in a key", { "\udc00": 1 }],
    ["undefined", { value: undefined }],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a bigint", 1n],
    ["a function", () => 1],
    ["a symbol", Symbol("x")],
    ["a Date", new Date(0)],
    ["a Map", new Map()],
    ["a typed array", new Uint8Array(2)],
    ["a sparse array", Object.assign(new Array<number>(3), { 0: 1, 2: 3 })],
    ["a symbol key", { [Symbol("k")]: 1 }],
  ])("should refuse %s", (_why, value) => {
    expect(codeOf(() => canonicalJson(value))).toBe("non_canonical_json_value");
  });

  it("should refuse a circular structure", () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(codeOf(() => canonicalJson(cycle))).toBe("non_canonical_json_value");
  });

  it("should accept the same object twice when it is not circular", () => {
    const shared = { x: 1 };
    expect(new TextDecoder().decode(canonicalJson([shared, shared]))).toBe('[{"x":1},{"x":1}]');
  });
});

describe("signing", () => {
  it("should prefix the message with the tag and a zero byte", () => {
    expect(Array.from(signingInput("pipo/test/v1", Uint8Array.of(0xff)))).toStrictEqual([
      ...Array.from("pipo/test/v1", (char) => char.charCodeAt(0)),
      0,
      0xff,
    ]);
  });

  it.each(["", "pipo/test", "pipo/Test/v1", "other/test/v1", "pipo/test/v1\n", "pipo//v1x", "pipo/tést/v1"])(
    "should refuse the tag %j",
    (tag) => {
      expect(codeOf(() => signingInput(tag, new Uint8Array()))).toBe("bad_signature");
      expect(codeOf(() => sign(tag, new Uint8Array(), SEED))).toBe("bad_signature");
    },
  );

  it("should refuse keys and signatures of the wrong size", () => {
    const message = Uint8Array.of(1, 2, 3);
    const signature = sign(SignatureTag.TEST, message, SEED);
    const publicKey = signPublicKey(SEED);
    expect(codeOf(() => sign(SignatureTag.TEST, message, SEED.subarray(1)))).toBe("bad_key");
    expect(codeOf(() => signPublicKey(new Uint8Array(33)))).toBe("bad_key");
    expect(codeOf(() => verify(SignatureTag.TEST, message, signature, publicKey.subarray(1)))).toBe(
      "bad_key",
    );
    expect(codeOf(() => verify(SignatureTag.TEST, message, signature.subarray(1), publicKey))).toBe(
      "bad_signature",
    );
  });

  it("should bind a signature to its tag", () => {
    const message = Uint8Array.of(1, 2, 3);
    const signature = sign(SignatureTag.MESSAGE, message, SEED);
    expect(() => verify(SignatureTag.MESSAGE, message, signature, signPublicKey(SEED))).not.toThrow();
    expect(codeOf(() => verify(SignatureTag.LINK, message, signature, signPublicKey(SEED)))).toBe(
      "bad_signature",
    );
  });

  it("should refuse a signature under an invalid public key", () => {
    const message = Uint8Array.of(1);
    const signature = sign(SignatureTag.TEST, message, SEED);
    expect(codeOf(() => verify(SignatureTag.TEST, message, signature, new Uint8Array(32)))).toBe(
      "bad_signature",
    );
  });
});

describe("IdentityKeys", () => {
  it("should keep the secret halves out of JSON, keys and spreads", () => {
    const keys = IdentityKeys.fromSecrets(SEED, BOX_SECRET);
    const secretTexts = [b64uEncode(SEED), b64uEncode(BOX_SECRET)];
    const json = JSON.stringify(keys);
    for (const secret of secretTexts) {
      expect(json).not.toContain(secret);
    }
    expect(Object.keys(keys).sort()).toStrictEqual(["boxPub", "signPub"]);
    expect(Object.keys({ ...keys }).sort()).toStrictEqual(["boxPub", "signPub"]);
    expect(keys.signSeed).toStrictEqual(SEED);
    expect(keys.boxSecret).toStrictEqual(BOX_SECRET);
  });

  it("should copy the secrets it is given", () => {
    const seed = SEED.slice();
    const keys = IdentityKeys.fromSecrets(seed, BOX_SECRET);
    seed.fill(0);
    expect(keys.signSeed).toStrictEqual(SEED);
  });

  it("should refuse secrets of the wrong size", () => {
    expect(codeOf(() => IdentityKeys.fromSecrets(SEED, BOX_SECRET.subarray(1)))).toBe("bad_key");
    expect(codeOf(() => IdentityKeys.fromSecrets(SEED.subarray(1), BOX_SECRET))).toBe("bad_key");
  });

  it("should generate keys whose bundle parses", () => {
    const keys = IdentityKeys.generate();
    const bundle = makeIdentityBundle(keys, { tenant: "acme", user: "zed", created: 1 });
    expect(parseIdentityBundle(JSON.parse(JSON.stringify(bundle.toJson()))).toJson()).toStrictEqual(
      bundle.toJson(),
    );
  });
});

describe("identity bundles", () => {
  const keys = (): IdentityKeys => IdentityKeys.fromSecrets(SEED, BOX_SECRET);
  const good = (): Record<string, unknown> => ({
    ...makeIdentityBundle(keys(), { tenant: "acme", user: "alice", created: 5 }).toJson(),
  });

  it.each([
    ["tenant", { tenant: "-acme", user: "alice", created: 0 }],
    ["tenant", { tenant: "a".repeat(64), user: "alice", created: 0 }],
    ["user", { tenant: "acme", user: ".alice", created: 0 }],
    ["created", { tenant: "acme", user: "alice", created: -1 }],
    ["created", { tenant: "acme", user: "alice", created: 1.5 }],
    ["created", { tenant: "acme", user: "alice", created: 2 ** 53 }],
  ])("should not make a bundle with a bad %s", (_field, fields) => {
    expect(codeOf(() => makeIdentityBundle(keys(), fields))).toBe("malformed_bundle");
  });

  it("should accept the longest tenant slug and username", () => {
    const tenant = `a${"-".repeat(61)}b`;
    const user = `u${"._-".repeat(21)}`;
    const bundle = makeIdentityBundle(keys(), { tenant, user, created: 2 ** 53 - 1 });
    expect(parseIdentityBundle(bundle.toJson()).user).toBe(user);
  });

  it.each([
    ["a Map", () => new Map(Object.entries(good()))],
    ["a class instance", () => Object.assign(new (class Bundle {})(), good())],
    ["null", () => null],
    ["a string", () => JSON.stringify(good())],
    ["a fractional version", () => ({ ...good(), v: 1.5 })],
    ["a null version", () => ({ ...good(), v: null })],
    ["a fractional created", () => ({ ...good(), created: 5.5 })],
    ["an unsafe created", () => ({ ...good(), created: 2 ** 53 })],
    ["a numeric sign_pub", () => ({ ...good(), sign_pub: 7 })],
    ["a short signature", () => ({ ...good(), sig: b64uEncode(new Uint8Array(63)) })],
  ])("should refuse %s as malformed", (_why, make) => {
    expect(codeOf(() => parseIdentityBundle(make()))).toBe("malformed_bundle");
  });

  it("should not be constructible outside the module", () => {
    const Construct = IdentityBundle as unknown as new (token: symbol, fields: object) => IdentityBundle;
    expect(() => new Construct(Symbol("IdentityBundle"), {})).toThrow(TypeError);
  });
});

describe("safety codes", () => {
  it("should list the same 64 symbols, in the same order, as protocol/safety_code.py", () => {
    const source = readFileSync(
      fileURLToPath(new URL("../../../protocol/safety_code.py", import.meta.url)),
      "utf-8",
    );
    const python = Array.from(source.matchAll(/\("((?:\\[Uu][0-9a-fA-F]+)+)", "([^"]+)"\)/g), (match) => ({
      emoji: (match[1] ?? "").replace(/\\U([0-9a-fA-F]{8})|\\u([0-9a-fA-F]{4})/g, (_all, long, short) =>
        String.fromCodePoint(Number.parseInt(String(long ?? short), 16)),
      ),
      name: match[2],
    }));
    expect(python).toHaveLength(64);
    expect(SAFETY_SYMBOLS.map(({ emoji, name }) => ({ emoji, name }))).toStrictEqual(python);
  });

  it("should read 6 bits per symbol, most significant first", () => {
    const fingerprint = new Uint8Array(32);
    expect(safetyCode(fingerprint).map((symbol) => symbol.name)).toStrictEqual(Array(12).fill("Dog"));
    fingerprint.fill(0xff, 0, 9);
    expect(safetyCode(fingerprint).map((symbol) => symbol.name)).toStrictEqual(Array(12).fill("Pin"));
    fingerprint.fill(0);
    fingerprint[0] = 0b000001_00;
    fingerprint[8] = 0b00_000010;
    const names = safetyCode(fingerprint).map((symbol) => symbol.name);
    expect(names[0]).toBe("Cat");
    expect(names[11]).toBe("Lion");
  });

  it("should refuse a fingerprint that is not 32 bytes", () => {
    expect(codeOf(() => safetyCode(new Uint8Array(31)))).toBe("bad_key");
  });
});
