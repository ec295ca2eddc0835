/**
 * The chain store checks the genesis's PGP anchors (PROTOCOL.md §6.5) against
 * the genesis it verified: verified anchors are listed, one that does not
 * hold refuses the chain, a listed key without an anchor is only "not yet
 * anchored".
 */

import { signal } from "@preact/signals-core";
import * as openpgp from "openpgp";
import { beforeAll, describe, expect, it } from "vitest";
import {
  b64uEncode,
  genesisStatement,
  IdentityKeys,
  linkHash,
  makeIdentityBundle,
  signLink,
  sodiumReady,
  type VerifiedHead,
} from "../protocol";
import type * as api from "../transport/api";
import type { AccountStore } from "./account";
import { type ChainApi, type ChainStorage, createChainStore } from "./chain";
import type { AppConfig } from "./config";

const SLOW = 60_000;
const TENANT = "acme";

interface Pgp {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

async function pgpKey(): Promise<Pgp> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "Root Admin", email: "root@acme.example" }],
    format: "armored",
  });
  return {
    privateKey,
    publicKey,
    fingerprint: (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint(),
  };
}

async function clearsign(key: Pgp, text: string): Promise<string> {
  return openpgp.sign({
    message: await openpgp.createCleartextMessage({ text }),
    signingKeys: await openpgp.readPrivateKey({ armoredKey: key.privateKey }),
  });
}

function genesis(pgp: readonly string[]): { link: Record<string, unknown>; hash: Uint8Array } {
  const keys = IdentityKeys.generate();
  const bundle = makeIdentityBundle(keys, { tenant: TENANT, user: "alice", created: Date.now() });
  const link = signLink({
    tenant: TENANT,
    seq: 0,
    prev: null,
    ts: Date.now(),
    type: "genesis",
    body: {
      roots: [bundle.toJson()],
      policy: { mode: "open", domains: [] },
      server_key: b64uEncode(IdentityKeys.generate().signPub),
      pgp: [...pgp],
    },
    seed: keys.signSeed,
  }).toJson() as unknown as Record<string, unknown>;
  return { link, hash: linkHash(link) };
}

function memoryStorage(): ChainStorage {
  const heads = new Map<string, VerifiedHead>();
  const pins = new Map<string, string>();
  return {
    loadHead: async (tenant) => heads.get(tenant) ?? null,
    storeHead: async (tenant, head) => {
      heads.set(tenant, head);
    },
    loadPin: async (tenant) => pins.get(tenant) ?? null,
    storePin: async (tenant, pin) => {
      pins.set(tenant, pin);
    },
  };
}

/** A chain store over one genesis, signed in as alice; `anchors` is what the server serves. */
function store(link: Record<string, unknown>, anchors: () => api.GenesisAnchorJson[]) {
  const chainApi: ChainApi = {
    fetchChain: async (after) => ({
      links: after < 0 ? [link] : [],
      more: false,
      head: { seq: 0, hash: b64uEncode(linkHash(link)) },
    }),
    fetchGenesis: async () => ({ link, anchors: anchors() }),
  };
  const account = {
    status: signal("loading"),
    user: signal(null),
    tenant: signal(null),
  } as unknown as AccountStore;
  const config = {
    tenantName: "Acme",
    tenantSlug: TENANT,
    wsPath: "/ws/",
    testHooks: false,
    authenticated: true,
  };
  return createChainStore(config as AppConfig, account, { storage: memoryStorage(), api: chainApi });
}

describe("chain store PGP anchors", () => {
  beforeAll(async () => {
    await sodiumReady();
  });

  it(
    "should list a verified anchor, and a listed key without one as not yet anchored",
    async () => {
      const [anchored, pending] = [await pgpKey(), await pgpKey()];
      const { link, hash } = genesis([anchored.fingerprint, pending.fingerprint]);
      const clearsigned = await clearsign(anchored, genesisStatement(TENANT, hash));
      const chain = store(link, () => [
        { fingerprint: anchored.fingerprint, certificate: anchored.publicKey, clearsigned },
      ]);
      await chain.sync();
      expect(chain.status.value).toBe("verified");
      expect(chain.anchors.value.map((anchor) => anchor.fingerprintHex)).toEqual([anchored.fingerprint]);
      expect(chain.anchors.value[0]?.fingerprint).toMatch(/^([0-9A-F]{4} ){9}[0-9A-F]{4}$/);
      expect(chain.unanchored.value.map((key) => key.fingerprintHex)).toEqual([pending.fingerprint]);
      chain.dispose();
    },
    SLOW,
  );

  it(
    "should refuse the chain when an anchor does not hold, also on refresh",
    async () => {
      const key = await pgpKey();
      const { link, hash } = genesis([key.fingerprint]);
      const clearsigned = await clearsign(key, genesisStatement(TENANT, hash));
      let certificate = key.publicKey;
      const chain = store(link, () => [{ fingerprint: key.fingerprint, certificate, clearsigned }]);
      await chain.sync();
      expect(chain.status.value).toBe("verified");
      expect(chain.anchors.value).toHaveLength(1);

      // The key is revoked later: the next refresh refuses the chain.
      certificate = (
        await openpgp.revokeKey({
          key: await openpgp.readPrivateKey({ armoredKey: key.privateKey }),
          format: "armored",
        })
      ).publicKey;
      await chain.refresh();
      expect(chain.status.value).toBe("refused");
      expect(chain.problem.value?.code).toBe("pgp_key_revoked");
      expect(chain.problem.value?.message).toMatch(
        /^The workspace's founding record claims an OpenPGP signature that does not hold: the key [0-9A-F ]+ is revoked\. PiPo will not encrypt to anyone until this is resolved\.$/,
      );
      expect(chain.anchors.value).toEqual([]);
      expect(() => chain.sealForMember("alice", "hi")).toThrow(/will not encrypt/);
      chain.dispose();
    },
    SLOW,
  );

  it(
    "should refuse an anchor that signs another workspace's genesis",
    async () => {
      const key = await pgpKey();
      const { link } = genesis([key.fingerprint]);
      const clearsigned = await clearsign(key, genesisStatement(TENANT, new Uint8Array(32)));
      const chain = store(link, () => [
        { fingerprint: key.fingerprint, certificate: key.publicKey, clearsigned },
      ]);
      await chain.sync();
      expect(chain.status.value).toBe("refused");
      expect(chain.problem.value?.code).toBe("wrong_statement");
      chain.dispose();
    },
    SLOW,
  );
});
