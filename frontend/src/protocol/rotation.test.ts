/**
 * Key rotation (rotation.ts): the prepared `rotate_keys` link parses and is
 * accepted by `ChainState.apply` on top of a chain, the member keeps their
 * role with the new keys, and the new keys unwrap under the same password
 * and under the new recovery code.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { apply, headOf, refusal } from "./chainTesting";
import {
  b64uEncode,
  ChainState,
  IdentityKeys,
  LinkType,
  makeIdentityBundle,
  parseLink,
  prepareLogin,
  prepareRecovery,
  prepareRotation,
  signLink,
  sodiumReady,
} from "./index";

const TENANT = "acme";
const T0 = 1_700_000_000_000;
const PASSWORD = "correct horse battery";

describe("prepareRotation", () => {
  let alice: IdentityKeys;
  let bob: IdentityKeys;
  let chain: ChainState;

  beforeAll(async () => {
    await sodiumReady();
    alice = IdentityKeys.generate();
    bob = IdentityKeys.generate();
    const serverKey = IdentityKeys.generate();
    // A small chain built directly with signLink: alice founds it, then admits bob.
    const genesis = signLink({
      tenant: TENANT,
      seq: 0,
      prev: null,
      ts: T0,
      type: LinkType.GENESIS,
      body: {
        roots: [makeIdentityBundle(alice, { tenant: TENANT, user: "alice", created: T0 }).toJson()],
        policy: { mode: "approval", domains: [] },
        server_key: b64uEncode(serverKey.signPub),
      },
      seed: alice.signSeed,
    });
    chain = ChainState.empty(TENANT).apply(genesis);
    const admit = signLink({
      tenant: TENANT,
      seq: 1,
      prev: genesis.hash,
      ts: T0 + 1,
      type: LinkType.ADMIT,
      body: {
        bundle: makeIdentityBundle(bob, { tenant: TENANT, user: "bob", created: T0 }).toJson(),
        role: "member",
        how: "approval",
      },
      seed: alice.signSeed,
    });
    chain = chain.apply(admit);
  });

  it("should make a rotate_keys link signed by the current keys that the chain accepts", () => {
    const prepared = prepareRotation({
      tenant: TENANT,
      username: "alice",
      currentKeys: alice,
      password: PASSWORD,
      head: headOf(chain),
      ts: T0 + 2,
    });
    const link = parseLink(JSON.parse(JSON.stringify(prepared.rotateLink)));
    expect(link.type).toBe(LinkType.ROTATE_KEYS);
    expect(link.seq).toBe(2);
    expect(link.signer).toStrictEqual(alice.signPub);
    expect(prepared.rotateLink.body.user).toBe("alice");
    expect((prepared.rotateLink.body.bundle as { sign_pub: string }).sign_pub).toBe(
      b64uEncode(prepared.newKeys.signPub),
    );
    expect(prepared.newKeys.signPub).not.toStrictEqual(alice.signPub);

    const after = apply(chain, prepared.rotateLink);
    const member = after.members.get("alice");
    expect(member?.role).toBe("owner");
    expect(member?.signPub).toStrictEqual(prepared.newKeys.signPub);
    expect(member?.boxPub).toStrictEqual(prepared.newKeys.boxPub);
    // The old key signs nothing valid any more; the new one does.
    const probe = (seed: Uint8Array) =>
      refusal(() =>
        after.apply(
          signLink({
            tenant: TENANT,
            seq: after.seq + 1,
            prev: after.head,
            ts: T0 + 3,
            type: LinkType.SET_ROLE,
            body: { user: "bob", role: "admin" },
            seed,
          }),
        ),
      );
    expect(probe(alice.signSeed)).toBe("unauthorized");
    expect(probe(prepared.newKeys.signSeed)).toBe("accepted");
  });

  it("should wrap the new keys under the same password and under the new recovery code", () => {
    const prepared = prepareRotation({
      tenant: TENANT,
      username: "alice",
      currentKeys: alice,
      password: PASSWORD,
      head: headOf(chain),
      ts: T0 + 2,
    });
    const identityBundle = prepared.rotateLink.body.bundle;
    const unlocked = prepareLogin(PASSWORD, prepared.kdf).unlock({
      wrappedKeys: prepared.wrappedKeys,
      identityBundle,
      tenant: TENANT,
      username: "alice",
    });
    expect(unlocked.signPub).toStrictEqual(prepared.newKeys.signPub);
    expect(unlocked.boxPub).toStrictEqual(prepared.newKeys.boxPub);
    const recovered = prepareRecovery(prepared.recoveryCode).unlock({
      wrappedKeys: prepared.recovery.wrappedKeys,
      identityBundle,
      tenant: TENANT,
      username: "alice",
    });
    expect(recovered.signPub).toStrictEqual(prepared.newKeys.signPub);
  });

  it("should be refused when signed by anyone but the user's current key", () => {
    const prepared = prepareRotation({
      tenant: TENANT,
      username: "bob",
      currentKeys: alice,
      password: PASSWORD,
      head: headOf(chain),
      ts: T0 + 2,
    });
    expect(refusal(() => apply(chain, prepared.rotateLink))).toBe("rotation_not_signed_by_old_key");
  });
});
