/**
 * A multi-root genesis drafted by the server (PROTOCOL.md §6.8): each root
 * checks the draft and signs it; the signatures assembled in the roots'
 * order make a genesis every client accepts. A draft that is not what the
 * root expects is never signed.
 */

import { beforeAll, describe, expect, it } from "vitest";
import {
  b64uDecode,
  b64uEncode,
  ChainError,
  type GenesisExpectations,
  type IdentityBundleJson,
  IdentityKeys,
  makeIdentityBundle,
  parseGenesisDraft,
  signGenesisDraft,
  sodiumReady,
  verifyChain,
} from "./index";

const TENANT = "acme";
const T0 = 1_700_000_000_000;
const PGP = "0123456789abcdef0123456789abcdef01234567";

interface Root {
  keys: IdentityKeys;
  bundle: IdentityBundleJson;
}

function root(user: string, tenant = TENANT): Root {
  const keys = IdentityKeys.generate();
  return { keys, bundle: makeIdentityBundle(keys, { tenant, user, created: T0 }).toJson() };
}

describe("genesis drafts", () => {
  let ann: Root;
  let bea: Root;
  let cid: Root;
  let serverKey: string;
  let expected: GenesisExpectations;

  beforeAll(async () => {
    await sodiumReady();
    ann = root("ann");
    bea = root("bea");
    cid = root("cid");
    serverKey = b64uEncode(IdentityKeys.generate().signPub);
    expected = { tenant: TENANT, serverKey, policy: { mode: "invite", domains: [] }, pgp: [PGP] };
  });

  const draftOf = (
    roots: readonly Root[],
    changes: Record<string, unknown> = {},
  ): Record<string, unknown> => ({
    v: 1,
    tenant: TENANT,
    seq: 0,
    prev: null,
    ts: T0,
    type: "genesis",
    body: {
      roots: roots.map((each) => each.bundle),
      policy: { mode: "invite", domains: [] },
      server_key: serverKey,
      pgp: [PGP],
    },
    signer: b64uEncode((roots[0] as Root).keys.signPub),
    ...changes,
  });

  it("collects every root's signature into a genesis the chain accepts", () => {
    const draft = draftOf([ann, bea, cid]);
    const sigs = [ann, bea, cid].map((each) => signGenesisDraft(draft, expected, each.keys));
    const genesis = {
      ...draft,
      sig: sigs[0],
      cosigs: [
        { signer: bea.bundle.sign_pub, sig: sigs[1] },
        { signer: cid.bundle.sign_pub, sig: sigs[2] },
      ],
    };
    const state = verifyChain([genesis], { tenant: TENANT });
    expect([...state.members.keys()].sort()).toEqual(["ann", "bea", "cid"]);
    expect([...state.members.values()].map((member) => member.role)).toEqual(["owner", "owner", "owner"]);
  });

  it("signs exactly the drafted bytes", () => {
    const draft = draftOf([ann, bea]);
    const { message } = parseGenesisDraft(draft);
    const sig = b64uDecode(signGenesisDraft(draft, expected, bea.keys));
    const other = signGenesisDraft({ ...draft, ts: T0 + 1 }, expected, bea.keys);
    expect(b64uEncode(sig)).not.toBe(other);
    expect(new TextDecoder().decode(message)).toContain('"type":"genesis"');
  });

  const refusals: [string, () => Record<string, unknown>, string, RegExp | string][] = [
    ["another tenant", () => draftOf([ann, bea], { tenant: "evil" }), "malformed_link", /another workspace/],
    ["a draft that omits me", () => draftOf([ann, cid]), "malformed_link", /does not name your keys/],
    [
      "another server key",
      () =>
        draftOf([ann, bea], {
          body: { ...bodyOf(draftOf([ann, bea])), server_key: b64uEncode(new Uint8Array(32).fill(7)) },
        }),
      "malformed_link",
      /server key/,
    ],
    [
      "another policy",
      () =>
        draftOf([ann, bea], {
          body: { ...bodyOf(draftOf([ann, bea])), policy: { mode: "open", domains: [] } },
        }),
      "malformed_link",
      /policy/,
    ],
    [
      "other PGP keys",
      () => draftOf([ann, bea], { body: { ...bodyOf(draftOf([ann, bea])), pgp: [] } }),
      "malformed_link",
      /PGP/,
    ],
    [
      "a signer who is not the first root",
      () => draftOf([ann, bea], { signer: bea.bundle.sign_pub }),
      "malformed_link",
      /first root/,
    ],
    [
      "a draft that already has a signature",
      () => ({ ...draftOf([ann, bea]), sig: b64uEncode(new Uint8Array(64)) }),
      "malformed_link",
      /sig/,
    ],
    [
      "a later link",
      () => draftOf([ann, bea], { seq: 1, prev: b64uEncode(new Uint8Array(32)) }),
      "malformed_link",
      /start the chain/,
    ],
    ["not a genesis", () => draftOf([ann, bea], { type: "policy" }), "malformed_link", /genesis/],
    [
      "a root bundle whose self-signature fails",
      () => draftOf([ann, { ...bea, bundle: { ...bea.bundle, created: T0 + 1 } }]),
      "bad_signature",
      /self-signature/,
    ],
    ["a root of another tenant", () => draftOf([ann, bea, root("dan", "evil")]), "bundle_mismatch", /./],
  ];

  for (const [name, make, code, message] of refusals) {
    it(`refuses to sign ${name}`, () => {
      let caught: unknown;
      try {
        signGenesisDraft(make(), expected, bea.keys);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ChainError);
      expect((caught as ChainError).code).toBe(code);
      expect((caught as ChainError).message).toMatch(message);
    });
  }
});

function bodyOf(draft: Record<string, unknown>): Record<string, unknown> {
  return draft.body as Record<string, unknown>;
}
