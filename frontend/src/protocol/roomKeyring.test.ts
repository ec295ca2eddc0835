/**
 * The room keyring against a real verified chain: epoch records are accepted
 * only as the chain backs them, keys open only for their recipients, a
 * member removed from the room gets no key to later epochs, and envelopes
 * are verified against their sender's chain keys.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { apply, headOf } from "./chainTesting";
import {
  ChainHistory,
  ChainState,
  type IdentityBundleJson,
  IdentityKeys,
  type LinkJson,
  makeAdmitLink,
  makeEpochRecord,
  makeGenesisLink,
  makeIdentityBundle,
  makeRoomAddLink,
  makeRoomCreateLink,
  makeRoomRemoveLink,
  makeRotateKeysLink,
  RoomKeyring,
  sodiumReady,
} from "./index";

const TENANT = "acme";
const ROOM = "0b7f3c1e-5d2a-4c8b-9e61-2f4a8d9c7b10";

interface Person {
  user: string;
  keys: IdentityKeys;
  bundle: IdentityBundleJson;
}

function person(user: string): Person {
  const keys = IdentityKeys.generate();
  return {
    user,
    keys,
    bundle: makeIdentityBundle(keys, { tenant: TENANT, user, created: Date.now() }).toJson(),
  };
}

class World {
  state = ChainState.empty(TENANT);
  links: LinkJson[] = [];

  add(make: (head: ReturnType<typeof headOf>) => LinkJson): void {
    const link = make(headOf(this.state));
    this.state = apply(this.state, link);
    this.links.push(link);
  }

  history(): ChainHistory {
    const history = new ChainHistory();
    history.extend(this.links);
    return history;
  }

  recipients(room: string): Map<string, Uint8Array> {
    const found = this.state.rooms.get(room);
    const out = new Map<string, Uint8Array>();
    for (const user of found?.members.keys() ?? []) {
      const member = this.state.members.get(user);
      if (member !== undefined) {
        out.set(user, member.boxPub);
      }
    }
    return out;
  }
}

describe("the room keyring", () => {
  let ann: Person;
  let bea: Person;
  let cid: Person;
  let world: World;

  beforeAll(async () => {
    await sodiumReady();
  });

  const ctx = (signer: Person) => (head: ReturnType<typeof headOf>) => ({
    tenant: TENANT,
    head,
    ts: Date.now(),
    keys: signer.keys,
  });

  const setUp = (): void => {
    ann = person("ann");
    bea = person("bea");
    cid = person("cid");
    world = new World();
    world.add((head) =>
      makeGenesisLink({
        ...ctx(ann)(head),
        bundle: ann.bundle,
        policy: { mode: "open", domains: [] },
        serverKey: person("server").bundle.sign_pub,
      }),
    );
    // bea and cid admit themselves under the open policy.
    for (const who of [bea, cid]) {
      world.add((head) => makeAdmit(who, head));
    }
    world.add((head) =>
      makeRoomCreateLink({ ...ctx(ann)(head), room: ROOM, kind: "private", history: "joined" }),
    );
    world.add((head) => makeRoomAddLink({ ...ctx(ann)(head), room: ROOM, user: "bea", role: "member" }));
    world.add((head) => makeRoomAddLink({ ...ctx(ann)(head), room: ROOM, user: "cid", role: "member" }));
  };

  it("opens the epoch for every member and encrypts only to them", () => {
    setUp();
    const history = world.history();
    const annRing = new RoomKeyring(TENANT, "ann", ann.keys);
    const record = annRing.makeEpoch(ROOM, 0, world.state.seq, world.recipients(ROOM));
    const envelope = annRing.seal(ROOM, { kind: "text", text: "hello" });
    for (const who of [bea, cid]) {
      const ring = new RoomKeyring(TENANT, who.user, who.keys);
      ring.acceptRecord(record, history);
      const opened = ring.open(envelope, history, history.joinedAt(ROOM, who.user));
      expect(opened.kind).toBe("ok");
      expect(opened.kind === "ok" && opened.content.text).toBe("hello");
    }
  });

  it("refuses an epoch record the chain does not back", () => {
    setUp();
    const history = world.history();
    const annRing = new RoomKeyring(TENANT, "ann", ann.keys);
    // Sealed to a stranger instead of cid: not the room's members.
    const stranger = person("cid");
    const wrong = new Map(world.recipients(ROOM));
    wrong.set("cid", stranger.keys.boxPub);
    wrong.set("eve", stranger.keys.boxPub);
    const record = annRing.makeEpoch(ROOM, 0, world.state.seq, wrong);
    const beaRing = new RoomKeyring(TENANT, "bea", bea.keys);
    expect(() => beaRing.acceptRecord(record, history)).toThrow(/exactly the room's members/);
    // A record naming a chain position this client has not verified.
    const ahead = annRing.makeEpoch(ROOM, 1, world.state.seq + 5, world.recipients(ROOM));
    expect(() => beaRing.acceptRecord(ahead, history)).toThrow(/not verified/);
    // A record made by someone who is not in the room.
    const dan = person("dan");
    const danRing = new RoomKeyring(TENANT, "dan", dan.keys);
    const withDan = new Map([...world.recipients(ROOM), ["dan", dan.keys.boxPub] as const]);
    const outsider = danRing.makeEpoch(ROOM, 0, world.state.seq, withDan);
    expect(() => beaRing.acceptRecord(outsider, history)).toThrow(/was not in the room/);
    // A record in ann's name signed by someone else's key.
    const forged = makeEpochRecord({
      tenant: TENANT,
      room: ROOM,
      epoch: 0,
      creator: "ann",
      chainSeq: world.state.seq,
      ts: Date.now(),
      epochKey: new Uint8Array(32).fill(9),
      recipients: world.recipients(ROOM),
      signSeed: dan.keys.signSeed,
    }).toJson();
    expect(() => beaRing.acceptRecord(forged, history)).toThrow(/signature/);
  });

  it("gives a member removed from the room no key to the next epoch", () => {
    setUp();
    const annRing = new RoomKeyring(TENANT, "ann", ann.keys);
    const cidRing = new RoomKeyring(TENANT, "cid", cid.keys);
    const before = annRing.makeEpoch(ROOM, 0, world.state.seq, world.recipients(ROOM));
    cidRing.acceptRecord(before, world.history());
    const early = annRing.seal(ROOM, { kind: "text", text: "before" });
    world.add((head) => makeRoomRemoveLink({ ...ctx(ann)(head), room: ROOM, user: "cid" }));
    const history = world.history();
    const after = annRing.makeEpoch(ROOM, 1, world.state.seq, world.recipients(ROOM));
    expect(Object.keys(after.sealed).sort()).toEqual(["ann", "bea"]);
    cidRing.acceptRecord(after, history);
    const late = annRing.seal(ROOM, { kind: "text", text: "after" });
    const lateOpened = cidRing.open(late, history, history.joinedAt(ROOM, "cid"));
    expect(lateOpened.kind).toBe("failed");
    const earlyOpened = cidRing.open(early, history, history.joinedAt(ROOM, "cid"));
    expect(earlyOpened.kind === "ok" && earlyOpened.content.text).toBe("before");
  });

  it("verifies envelopes against the sender's keys, old ones included after a rotation", () => {
    setUp();
    const annRing = new RoomKeyring(TENANT, "ann", ann.keys);
    const record = annRing.makeEpoch(ROOM, 0, world.state.seq, world.recipients(ROOM));
    const old = annRing.seal(ROOM, { kind: "text", text: "signed with the old key" });
    const rotated = IdentityKeys.generate();
    const bundle = makeIdentityBundle(rotated, { tenant: TENANT, user: "ann", created: Date.now() }).toJson();
    world.add((head) => makeRotateKeysLink({ ...ctx(ann)(head), user: "ann", bundle }));
    const history = world.history();
    const beaRing = new RoomKeyring(TENANT, "bea", bea.keys);
    beaRing.acceptRecord(record, history);
    const opened = beaRing.open(old, history, history.joinedAt(ROOM, "bea"));
    expect(opened.kind === "ok" && opened.content.text).toBe("signed with the old key");
    // Someone else's signature under ann's name is refused.
    const cidRing = new RoomKeyring(TENANT, "cid", cid.keys);
    cidRing.acceptRecord(record, history);
    const forged = { ...cidRing.seal(ROOM, { kind: "text", text: "I am ann" }), sender: "ann" };
    const verdict = beaRing.open(forged, history, history.joinedAt(ROOM, "bea"));
    expect(verdict.kind).toBe("failed");
    expect(verdict.kind === "failed" && verdict.code).toBe("bad_signature");
  });

  it("tells a message from before joining from a missing key", () => {
    setUp();
    const annRing = new RoomKeyring(TENANT, "ann", ann.keys);
    const first = annRing.makeEpoch(ROOM, 0, world.state.seq, world.recipients(ROOM));
    const early = annRing.seal(ROOM, { kind: "text", text: "before dan" });
    const dan = person("dan");
    world.add((head) => makeAdmit(dan, head));
    world.add((head) => makeRoomAddLink({ ...ctx(ann)(head), room: ROOM, user: "dan", role: "member" }));
    const history = world.history();
    const danRing = new RoomKeyring(TENANT, "dan", dan.keys);
    danRing.acceptRecord(first, history);
    expect(danRing.open(early, history, history.joinedAt(ROOM, "dan")).kind).toBe("before_joined");
    // bea was sealed to that epoch: without its key it is a missing key, never "before you joined".
    const beaRing = new RoomKeyring(TENANT, "bea", bea.keys);
    const verdict = beaRing.open(early, history, history.joinedAt(ROOM, "bea"));
    expect(verdict.kind === "failed" && verdict.code).toBe("missing_key");
  });

  it("history: room members and keys at each point of the chain", () => {
    setUp();
    const joined = world.state.seq;
    world.add((head) => makeRoomRemoveLink({ ...ctx(ann)(head), room: ROOM, user: "bea" }));
    const history = world.history();
    expect([...history.roomMembersAt(ROOM, joined)].sort()).toEqual(["ann", "bea", "cid"]);
    expect([...history.roomMembersAt(ROOM, world.state.seq)].sort()).toEqual(["ann", "cid"]);
    expect(history.roomMembersAt(ROOM, 0).size).toBe(0);
    expect(history.signKeyAt("bea", 0)).toBeNull();
    expect(history.signKeyAt("bea", world.state.seq)).toBe(bea.bundle.sign_pub);
  });
});

function makeAdmit(who: Person, head: ReturnType<typeof headOf>): LinkJson {
  return makeAdmitLink({
    tenant: TENANT,
    head,
    ts: Date.now(),
    keys: who.keys,
    bundle: who.bundle,
    role: "member",
    how: "open",
  });
}
