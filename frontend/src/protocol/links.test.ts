/**
 * The link builders (links.ts): what they make parses (`parseLink`) and is
 * accepted by `ChainState.apply` on top of the chain so far, with the same
 * rules the server runs; a link built on a stale head is refused.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { apply, headOf, refusal } from "./chainTesting";
import {
  b64uEncode,
  ChainState,
  type IdentityBundleJson,
  IdentityKeys,
  inviteTokenHash,
  type LinkJson,
  makeAdmitLink,
  makeGenesisLink,
  makeIdentityBundle,
  makeInviteLink,
  makeRemoveLink,
  makeSetRoleLink,
  parseLink,
  sodiumReady,
  verifyChain,
} from "./index";
import { lib } from "./sodium";

const TENANT = "acme";
const T0 = 1_700_000_000_000;

interface Person {
  keys: IdentityKeys;
  bundle: IdentityBundleJson;
}

function person(user: string): Person {
  const keys = IdentityKeys.generate();
  return { keys, bundle: makeIdentityBundle(keys, { tenant: TENANT, user, created: T0 }).toJson() };
}

describe("link builders", () => {
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let dave: Person;
  let serverKey: string;

  beforeAll(async () => {
    await sodiumReady();
    alice = person("alice");
    bob = person("bob");
    carol = person("carol");
    dave = person("dave");
    serverKey = b64uEncode(IdentityKeys.generate().signPub);
  });

  const found = (mode: "open" | "approval" | "invite" = "open"): ChainState =>
    apply(
      ChainState.empty(TENANT),
      makeGenesisLink({
        tenant: TENANT,
        ts: T0,
        keys: alice.keys,
        bundle: alice.bundle,
        policy: { mode, domains: [] },
        serverKey,
      }),
    );

  it("should make a one-root genesis without cosigs that makes the signer owner", () => {
    const link = makeGenesisLink({
      tenant: TENANT,
      ts: T0,
      keys: alice.keys,
      bundle: alice.bundle,
      policy: { mode: "approval", domains: ["acme.example"] },
      serverKey,
    });
    expect(link.seq).toBe(0);
    expect(link.prev).toBeNull();
    expect(link.cosigs).toBeUndefined();
    expect(link.body).toStrictEqual({
      roots: [alice.bundle],
      policy: { mode: "approval", domains: ["acme.example"] },
      server_key: serverKey,
    });
    const state = apply(ChainState.empty(TENANT), link);
    expect(state.members.get("alice")?.role).toBe("owner");
    expect(state.policy).toStrictEqual({ mode: "approval", domains: ["acme.example"] });
    expect(state.fingerprint).toStrictEqual(parseLink(link).hash);
  });

  it("should chain invite, invite admit, open admit, approval, set_role and remove", () => {
    let state = found("open");
    const links: LinkJson[] = [];
    const add = (link: LinkJson): void => {
      links.push(link);
      state = apply(state, link);
    };
    const at = (offset: number) => ({ tenant: TENANT, head: headOf(state), ts: T0 + offset });

    // An admin invite, redeemed by bob with his own key.
    const token = lib().randombytes_buf(32);
    const tokenHash = b64uEncode(inviteTokenHash(token));
    add(makeInviteLink({ ...at(1), keys: alice.keys, tokenHash, role: "admin", expires: T0 + 86_400_000 }));
    expect(state.invites.get(tokenHash)?.used).toBe(false);
    add(
      makeAdmitLink({
        ...at(2),
        keys: bob.keys,
        bundle: bob.bundle,
        role: "admin",
        how: "invite",
        token: b64uEncode(token),
      }),
    );
    expect(state.members.get("bob")?.role).toBe("admin");
    expect(state.invites.get(tokenHash)?.used).toBe(true);

    // Open policy: carol admits herself.
    add(makeAdmitLink({ ...at(3), keys: carol.keys, bundle: carol.bundle, role: "member", how: "open" }));
    expect(state.members.get("carol")?.how).toBe("open");

    // Approval: bob (an admin) signs dave's admission.
    add(makeAdmitLink({ ...at(4), keys: bob.keys, bundle: dave.bundle, role: "member", how: "approval" }));
    expect(state.members.get("dave")?.how).toBe("approval");

    add(makeSetRoleLink({ ...at(5), keys: alice.keys, user: "carol", role: "owner" }));
    expect(state.members.get("carol")?.role).toBe("owner");
    add(makeRemoveLink({ ...at(6), keys: bob.keys, user: "dave" }));
    expect(state.members.has("dave")).toBe(false);
    expect(state.removed.has("dave")).toBe(true);

    // The whole chain verifies from the genesis too.
    const genesis = makeGenesisLink({
      tenant: TENANT,
      ts: T0,
      keys: alice.keys,
      bundle: alice.bundle,
      policy: { mode: "open", domains: [] },
      serverKey,
    });
    const verified = verifyChain([genesis, ...links], { tenant: TENANT });
    expect(verified.summary()).toStrictEqual(state.summary());
  });

  it("should leave the authorization to the chain rules", () => {
    let state = found("approval");
    const at = (offset: number) => ({ tenant: TENANT, head: headOf(state), ts: T0 + offset });
    // Self-admit under the approval policy.
    expect(
      refusal(() =>
        apply(
          state,
          makeAdmitLink({ ...at(1), keys: carol.keys, bundle: carol.bundle, role: "member", how: "open" }),
        ),
      ),
    ).toBe("policy_forbids");
    state = apply(
      state,
      makeAdmitLink({ ...at(1), keys: alice.keys, bundle: bob.bundle, role: "admin", how: "approval" }),
    );
    // An admin may not make an owner; the last owner may not step down.
    expect(
      refusal(() => apply(state, makeSetRoleLink({ ...at(2), keys: bob.keys, user: "bob", role: "owner" }))),
    ).toBe("unauthorized");
    expect(
      refusal(() =>
        apply(state, makeSetRoleLink({ ...at(2), keys: alice.keys, user: "alice", role: "member" })),
      ),
    ).toBe("last_owner");
    expect(refusal(() => apply(state, makeRemoveLink({ ...at(2), keys: bob.keys, user: "alice" })))).toBe(
      "unauthorized",
    );
  });

  it("should be refused on a stale head (what makes the client fetch the head and retry)", () => {
    const state = found();
    const stale = headOf(state);
    const next = apply(
      state,
      makeAdmitLink({
        tenant: TENANT,
        head: stale,
        ts: T0 + 1,
        keys: carol.keys,
        bundle: carol.bundle,
        role: "member",
        how: "open",
      }),
    );
    const late = makeAdmitLink({
      tenant: TENANT,
      head: stale,
      ts: T0 + 2,
      keys: dave.keys,
      bundle: dave.bundle,
      role: "member",
      how: "open",
    });
    expect(refusal(() => apply(next, late))).toBe("seq_gap");
    const retried = makeAdmitLink({
      tenant: TENANT,
      head: headOf(next),
      ts: T0 + 2,
      keys: dave.keys,
      bundle: dave.bundle,
      role: "member",
      how: "open",
    });
    expect(apply(next, retried).members.has("dave")).toBe(true);
  });

  it("should refuse heads and arguments that cannot make a link", () => {
    const base = { tenant: TENANT, ts: T0, keys: alice.keys };
    expect(refusal(() => makeRemoveLink({ ...base, head: { seq: 3, hash: null }, user: "bob" }))).toBe(
      "malformed_link",
    );
    expect(
      refusal(() =>
        makeGenesisLink({
          ...base,
          head: { seq: 0, hash: b64uEncode(new Uint8Array(32)) },
          bundle: alice.bundle,
          policy: { mode: "open", domains: [] },
          serverKey,
        }),
      ),
    ).toBe("duplicate_genesis");
    expect(
      refusal(() =>
        makeAdmitLink({
          ...base,
          head: { seq: 0, hash: b64uEncode(new Uint8Array(32)) },
          bundle: bob.bundle,
          role: "member",
          how: "invite",
        }),
      ),
    ).toBe("malformed_link");
  });
});
