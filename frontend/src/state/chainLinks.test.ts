import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../transport/api";
import { type ChainTenantFacts, isStaleHead, onFreshHead, signupChainPlan } from "./chainLinks";

const tenant = (facts: Partial<ChainTenantFacts> = {}): ChainTenantFacts => ({
  signupPolicy: "open",
  allowedDomains: [],
  chainFounded: true,
  founding: "enrolment",
  serverKey: "k",
  ...facts,
});

describe("signupChainPlan", () => {
  it("should found the chain from an enrolment link, with its token", () => {
    expect(signupChainPlan({ tenant: tenant({ chainFounded: false }), enrolmentToken: "e1" })).toStrictEqual({
      kind: "genesis",
      enrolmentToken: "e1",
    });
    expect(signupChainPlan({ tenant: null, enrolmentToken: "e1" }).kind).toBe("genesis");
  });

  it("should take a root seat, carrying no link, on a tenant with several roots", () => {
    expect(
      signupChainPlan({ tenant: tenant({ chainFounded: false, rootSeats: 3 }), enrolmentToken: "e2" }),
    ).toStrictEqual({ kind: "seat", enrolmentToken: "e2" });
    expect(
      signupChainPlan({ tenant: tenant({ chainFounded: false, rootSeats: 1 }), enrolmentToken: "e2" }).kind,
    ).toBe("genesis");
  });

  it("should found a first-user demo tenant without a genesis, and not once it has one", () => {
    const demo = tenant({ chainFounded: false, founding: "first_user", signupPolicy: "approval" });
    expect(signupChainPlan({ tenant: demo })).toStrictEqual({ kind: "genesis" });
    expect(signupChainPlan({ tenant: { ...demo, chainFounded: true } })).toStrictEqual({ kind: "none" });
  });

  it("should send no link to an unchained enrolment tenant (the legacy path)", () => {
    expect(signupChainPlan({ tenant: tenant({ chainFounded: false }) })).toStrictEqual({ kind: "none" });
    expect(
      signupChainPlan({ tenant: tenant({ chainFounded: false }), inviteToken: "t", inviteRole: "admin" }),
    ).toStrictEqual({ kind: "none" });
  });

  it("should self-admit on a chained tenant: invite with the invite's role, else open", () => {
    expect(signupChainPlan({ tenant: tenant(), inviteToken: "t", inviteRole: "admin" })).toStrictEqual({
      kind: "admit",
      how: "invite",
      role: "admin",
      token: "t",
    });
    expect(signupChainPlan({ tenant: tenant({ signupPolicy: "invite" }), inviteToken: "t" })).toStrictEqual({
      kind: "admit",
      how: "invite",
      role: "member",
      token: "t",
    });
    expect(signupChainPlan({ tenant: tenant() })).toStrictEqual({
      kind: "admit",
      how: "open",
      role: "member",
    });
  });

  it("should leave approval and domain signups to an admin or the server", () => {
    expect(signupChainPlan({ tenant: tenant({ signupPolicy: "approval" }) })).toStrictEqual({ kind: "none" });
    expect(signupChainPlan({ tenant: tenant({ signupPolicy: "domain" }) })).toStrictEqual({ kind: "none" });
  });
});

describe("onFreshHead", () => {
  const stale = new ApiError(400, "wrong_prev", "stale");

  it("should retry once on a fresh head after seq_gap or wrong_prev", async () => {
    const heads = [
      { seq: 3, hash: "h3" },
      { seq: 4, hash: "h4" },
    ];
    const fetchHead = vi.fn(async () => heads.shift() ?? { seq: 9, hash: "h9" });
    const seen: number[] = [];
    const result = await onFreshHead(fetchHead, async (head) => {
      seen.push(head.seq);
      if (head.seq === 3) {
        throw new ApiError(400, "seq_gap", "stale");
      }
      return "ok";
    });
    expect(result).toBe("ok");
    expect(seen).toStrictEqual([3, 4]);
  });

  it("should give up after the second stale head, and never retry other errors", async () => {
    const fetchHead = vi.fn(async () => ({ seq: 0, hash: "h" }));
    const attempt = vi.fn(async () => {
      throw stale;
    });
    await expect(onFreshHead(fetchHead, attempt)).rejects.toBe(stale);
    expect(attempt).toHaveBeenCalledTimes(2);
    const other = new ApiError(400, "last_owner", "no");
    const once = vi.fn(async () => {
      throw other;
    });
    await expect(onFreshHead(fetchHead, once)).rejects.toBe(other);
    expect(once).toHaveBeenCalledTimes(1);
    expect(isStaleHead(stale)).toBe(true);
    expect(isStaleHead(other)).toBe(false);
  });
});
