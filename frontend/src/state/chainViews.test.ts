import { describe, expect, it } from "vitest";
import {
  AuditWalker,
  anchorProblem,
  auditEntries,
  checkHistory,
  type FetchedChain,
  fetchedChainOf,
  formatWhen,
  genesisPgpFingerprints,
  howLabel,
  pgpAnchorView,
  problemForChainError,
  REFUSAL_CONSEQUENCE,
} from "./chainViews";

// Links as verifyChain has accepted them; the words need only their fields,
// so the keys and signatures here are stand-ins.
const TS = 1_700_000_000_000;
const ROOM = "0123abcd-0000-4000-8000-000000000000";

function bundle(user: string, key: string) {
  return { v: 1, tenant: "acme", user, sign_pub: key, box_pub: `box-${key}`, created: 1, sig: "s" };
}

function link(seq: number, type: string, signer: string, body: Record<string, unknown>) {
  return {
    v: 1,
    tenant: "acme",
    seq,
    prev: seq === 0 ? null : `h${seq - 1}`,
    ts: TS + seq * 60_000,
    type,
    body,
    signer,
    sig: "s",
  };
}

const CHAIN = [
  link(0, "genesis", "KA", {
    roots: [bundle("alice", "KA")],
    policy: { mode: "invite", domains: [] },
    server_key: "KS",
  }),
  link(1, "policy", "KA", { mode: "approval", domains: [] }),
  link(2, "invite", "KA", { token_hash: "th", role: "admin", expires: TS + 86_400_000 }),
  link(3, "admit", "KA", { bundle: bundle("bob", "KB"), role: "member", how: "approval" }),
  link(4, "admit", "KC", { bundle: bundle("carol", "KC"), role: "admin", how: "invite", token: "t" }),
  link(5, "set_role", "KA", { user: "carol", role: "owner" }),
  link(6, "rotate_keys", "KB", { user: "bob", bundle: bundle("bob", "KB2") }),
  link(7, "room_create", "KB2", { room: ROOM, kind: "channel", history: "all" }),
  link(8, "room_add", "KB2", { room: ROOM, user: "carol", role: "admin" }),
  link(9, "room_add", "KA", { room: ROOM, user: "alice", role: "member" }),
  link(10, "room_role", "KB2", { room: ROOM, user: "alice", role: "admin" }),
  link(11, "room_remove", "KC", { room: ROOM, user: "carol" }),
  link(12, "remove", "KA", { user: "bob" }),
  link(13, "policy", "KA", { mode: "domain", domains: ["acme.example", "acme.test"] }),
  link(14, "admit", "KS", { bundle: bundle("erin", "KE"), role: "member", how: "domain" }),
  link(15, "remove", "KE", { user: "erin" }),
];

describe("audit entries", () => {
  it("should say what each link did, about whom, and who signed it", () => {
    const rows = auditEntries(CHAIN).map(({ seq, summary, who, signedBy }) => [seq, summary, who, signedBy]);
    expect(rows).toStrictEqual([
      [0, "alice created the workspace with owner alice (sign-up by invite only)", "alice", "alice"],
      [1, "alice set the sign-up policy to sign-up with admin approval", "alice", "alice"],
      [2, "alice created an invite for an admin, valid until 2023-11-15 22:13 UTC", "alice", "alice"],
      [3, "alice admitted bob (approval)", "bob", "alice"],
      [4, "carol joined as admin with an invite", "carol", "carol"],
      [5, "alice changed carol's role to owner", "carol", "alice"],
      [6, "bob rotated their keys", "bob", "bob"],
      [7, "bob created a channel (room 0123abcd)", "bob", "bob"],
      [8, "bob added carol to room 0123abcd as admin", "carol", "bob"],
      [9, "alice joined room 0123abcd", "alice", "alice"],
      [10, "bob changed alice's role in room 0123abcd to admin", "alice", "bob"],
      [11, "carol left room 0123abcd", "carol", "carol"],
      [12, "alice removed bob", "bob", "alice"],
      [
        13,
        "alice set the sign-up policy to sign-up by confirmed email at acme.example and acme.test",
        "alice",
        "alice",
      ],
      [14, "the server admitted erin (confirmed email domain)", "erin", "server"],
      [15, "erin left the workspace", "erin", "erin"],
    ]);
  });

  it("should give the time of each link in UTC and as ISO 8601", () => {
    const [first] = auditEntries(CHAIN.slice(0, 1));
    expect(first).toMatchObject({
      seq: 0,
      type: "genesis",
      ts: TS,
      when: "2023-11-14 22:13 UTC",
      iso: "2023-11-14T22:13:20.000Z",
    });
    expect(formatWhen(9_000_000_000_000_000)).toBe("9000000000000000");
  });

  it("should name several roots, and admissions by the open policy", () => {
    const walker = new AuditWalker();
    const genesis = walker.next(
      link(0, "genesis", "KB", {
        roots: [bundle("alice", "KA"), bundle("bob", "KB"), bundle("carol", "KC")],
        policy: { mode: "open", domains: [] },
        server_key: "KS",
      }),
    );
    expect([genesis.summary, genesis.who, genesis.signedBy]).toStrictEqual([
      "bob created the workspace with owners alice, bob and carol (open sign-up)",
      "alice, bob and carol",
      "bob",
    ]);
    const open = walker.next(
      link(1, "admit", "KD", { bundle: bundle("dan", "KD"), role: "member", how: "open" }),
    );
    expect([open.summary, open.signedBy]).toStrictEqual(["dan joined (open sign-up)", "dan"]);
    const admin = walker.next(
      link(2, "admit", "KA", { bundle: bundle("eve", "KE"), role: "admin", how: "approval" }),
    );
    expect(admin.summary).toBe("alice admitted eve as admin (approval)");
  });
});

describe("how labels", () => {
  it("should say how each member was admitted", () => {
    expect(howLabel("genesis")).toBe("founding owner (signed the genesis)");
    expect(howLabel("approval")).toBe("approved by an admin");
    expect(howLabel("invite")).toBe("admitted by invite");
    expect(howLabel("open")).toBe("joined under the open sign-up policy");
    expect(howLabel("domain")).toBe("server-attested (confirmed email domain)");
  });
});

describe("history checks", () => {
  const links = [{ prev: null }, { prev: "h0" }, { prev: "h1" }];
  const chain = fetchedChainOf(links, "h2");
  const empty = fetchedChainOf([], null);

  it("should read each link's hash from the next link's prev", () => {
    expect([chain.headSeq, chain.fingerprint]).toStrictEqual([2, "h0"]);
    expect([0, 1, 2, 3, -1].map((seq) => chain.hashAt(seq))).toStrictEqual(["h0", "h1", "h2", null, null]);
    expect([empty.headSeq, empty.fingerprint, empty.hashAt(0)]).toStrictEqual([-1, null, null]);
  });

  it("should accept a chain that extends the known head, or any chain without history", () => {
    expect(checkHistory(chain, null, null)).toBeNull();
    expect(checkHistory(empty, null, null)).toBeNull();
    expect(checkHistory(chain, { seq: 0, hash: "h0", fingerprint: "h0" }, null)).toBeNull();
    expect(checkHistory(chain, { seq: 1, hash: "h1", fingerprint: "h0" }, null)).toBeNull();
    expect(checkHistory(chain, { seq: 2, hash: "h2", fingerprint: "h0" }, "h0")).toBeNull();
  });

  it("should call a chain shorter than the known head a rollback", () => {
    const problem = checkHistory(chain, { seq: 5, hash: "h5", fingerprint: "h0" }, null);
    expect(problem?.code).toBe("rollback");
    expect(problem?.message).toBe(
      `The server's trust chain ends at link #2, but this browser already verified it up to link #5 (a rollback): links have been taken away. ${REFUSAL_CONSEQUENCE}`,
    );
    expect(checkHistory(empty, { seq: 0, hash: "h0", fingerprint: "h0" }, null)?.code).toBe("rollback");
  });

  it("should call another link at the known seq, or another genesis, a fork", () => {
    const other = checkHistory(chain, { seq: 1, hash: "hX", fingerprint: "h0" }, null);
    expect(other?.code).toBe("fork");
    expect(other?.message).toContain("differs at link #1");
    expect(checkHistory(chain, { seq: 1, hash: "h1", fingerprint: "g0" }, null)?.code).toBe("fork");
    // Another genesis is a fork even when the new chain is shorter.
    expect(checkHistory(chain, { seq: 9, hash: "h9", fingerprint: "g0" }, null)?.code).toBe("fork");
  });

  it("should refuse a genesis other than the fingerprint pinned from an invite link", () => {
    expect(checkHistory(chain, null, "g0")?.code).toBe("fingerprint_mismatch");
    expect(checkHistory(empty, null, "g0")?.code).toBe("fingerprint_mismatch");
    // The pin is checked first.
    expect(checkHistory(chain, { seq: 9, hash: "h9", fingerprint: "h0" }, "g0")?.code).toBe(
      "fingerprint_mismatch",
    );
  });

  it("should not be fooled by a fetched chain that lies about a seq", () => {
    const liar: FetchedChain = { headSeq: 3, fingerprint: "h0", hashAt: () => null };
    expect(checkHistory(liar, { seq: 1, hash: "h1", fingerprint: "h0" }, null)?.code).toBe("fork");
  });
});

describe("refusal sentences", () => {
  it("should name the problem and the link in plain words", () => {
    expect(problemForChainError("bad_signature", 5)).toStrictEqual({
      code: "bad_signature",
      message:
        "The server's trust chain has a link with a bad signature (link #5). PiPo will not encrypt to anyone until this is resolved.",
    });
    expect(problemForChainError("unauthorized", 0).message).toContain(
      "has a link signed by someone who may not sign it (link #0)",
    );
    expect(problemForChainError("something_new", null)).toStrictEqual({
      code: "something_new",
      message: `The server's trust chain has a link that breaks the membership rules. ${REFUSAL_CONSEQUENCE}`,
    });
  });
});

describe("PGP anchors", () => {
  const FP = "89136f7a98f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

  it("should show a fingerprint in groups of four upper-case hex digits", () => {
    expect(pgpAnchorView(FP.toUpperCase())).toEqual({
      fingerprint: "8913 6F7A 98F1 C2D3 E4F5 A6B7 C8D9 E0F1 A2B3 C4D5",
      fingerprintHex: FP,
    });
  });

  it("should read the genesis's pgp list, empty when absent", () => {
    expect(genesisPgpFingerprints({ type: "genesis", body: { pgp: [FP] } })).toEqual([FP]);
    expect(genesisPgpFingerprints({ type: "genesis", body: {} })).toEqual([]);
    expect(genesisPgpFingerprints(undefined)).toEqual([]);
  });

  it("should say which key does not hold, and what PiPo does about it", () => {
    expect(anchorProblem("pgp_key_revoked", FP)).toEqual({
      code: "pgp_key_revoked",
      message: `The workspace's founding record claims an OpenPGP signature that does not hold: the key 8913 6F7A 98F1 C2D3 E4F5 A6B7 C8D9 E0F1 A2B3 C4D5 is revoked. ${REFUSAL_CONSEQUENCE}`,
    });
    for (const code of [
      "bad_pgp_key",
      "pgp_not_in_genesis",
      "pgp_key_expired",
      "bad_pgp_signature",
      "wrong_statement",
      "something_new",
    ]) {
      const problem = anchorProblem(code, "");
      expect(problem.code).toBe(code);
      expect(problem.message).toMatch(/^The workspace's founding record claims an OpenPGP signature/);
      expect(problem.message.endsWith(REFUSAL_CONSEQUENCE)).toBe(true);
    }
  });
});
