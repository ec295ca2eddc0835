import { signal } from "@preact/signals-core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { b64uEncode, IdentityKeys, makeIdentityBundle, sodiumReady } from "../protocol";
import { ApiError } from "../transport/api";
import type { AccountStore, AdminLinkSpec } from "./account";
import { type AdminApi, createAdminStore, memberActions, requestView } from "./admin";

describe("memberActions", () => {
  const owner = { username: "alice", role: "owner" as const };
  const admin = { username: "bob", role: "admin" as const };
  const member = { username: "carol", role: "member" as const };

  it("should offer nothing on oneself, to members, or without a verified self", () => {
    expect(memberActions(owner, owner)).toStrictEqual({ roles: [], canRemove: false });
    expect(memberActions(member, admin)).toStrictEqual({ roles: [], canRemove: false });
    expect(memberActions(null, member)).toStrictEqual({ roles: [], canRemove: false });
  });

  it("should let owners make owners, and admins only admins and members", () => {
    expect(memberActions(owner, member)).toStrictEqual({ roles: ["owner", "admin"], canRemove: true });
    expect(memberActions(owner, admin)).toStrictEqual({ roles: ["owner", "member"], canRemove: true });
    expect(memberActions(owner, { username: "dan", role: "owner" })).toStrictEqual({
      roles: ["admin", "member"],
      canRemove: true,
    });
    expect(memberActions(admin, member)).toStrictEqual({ roles: ["admin"], canRemove: true });
    expect(memberActions(admin, { username: "eve", role: "admin" })).toStrictEqual({
      roles: ["member"],
      canRemove: true,
    });
    expect(memberActions(admin, owner)).toStrictEqual({ roles: [], canRemove: false });
  });
});

describe("admin store", () => {
  let bundle: ReturnType<ReturnType<typeof makeIdentityBundle>["toJson"]>;

  beforeAll(async () => {
    await sodiumReady();
    bundle = makeIdentityBundle(IdentityKeys.generate(), {
      tenant: "acme",
      user: "dave",
      created: 1,
    }).toJson();
  });

  function fakeAccount(role: "owner" | "admin" | "member" = "admin") {
    const signed: { spec: AdminLinkSpec; seq: number }[] = [];
    const account = {
      status: signal("unlocked"),
      user: signal({ username: "bob", email: "", role, state: "active" }),
      signAdminLink: (spec: AdminLinkSpec, head: { seq: number }) => {
        signed.push({ spec, seq: head.seq });
        return { signed: spec.type, on: head.seq };
      },
    } as unknown as AccountStore;
    return { account, signed };
  }

  function fakeApi(heads: { seq: number; hash: string | null }[], overrides: Partial<AdminApi> = {}) {
    const calls: unknown[][] = [];
    const api: AdminApi = {
      fetchHead: async () => heads.shift() ?? { seq: 99, hash: "h" },
      listSignupRequests: async () => [
        {
          username: "dave",
          email: "dave@example.org",
          requestedAt: Date.UTC(2025, 0, 31, 14, 5),
          identityBundle: bundle,
        },
      ],
      approveSignupRequest: async (...args) => {
        calls.push(["approve", ...args]);
      },
      rejectSignupRequest: async (...args) => {
        calls.push(["reject", ...args]);
      },
      postLink: async (link) => {
        calls.push(["post", link]);
        return { seq: 1, hash: "h" };
      },
      ...overrides,
    };
    return { api, calls };
  }

  it("should show a request's safety code from its bundle, and flag one that does not verify", () => {
    const view = requestView({
      username: "dave",
      email: "",
      requestedAt: Date.UTC(2025, 0, 31, 14, 5),
      identityBundle: bundle,
    });
    expect(view.safetyCode).toHaveLength(12);
    expect(view.fingerprintGroups).toHaveLength(16);
    expect(view.when).toBe("2025-01-31 14:05 UTC");
    expect(view.problem).toBeNull();
    const tampered = requestView({
      username: "dave",
      email: "",
      requestedAt: 0,
      identityBundle: { ...bundle, box_pub: b64uEncode(new Uint8Array(32)) },
    });
    expect(tampered.safetyCode).toBeNull();
    expect(tampered.problem).toMatch(/do not approve/);
    expect(
      requestView({ username: "eve", email: "", requestedAt: 0, identityBundle: bundle }).problem,
    ).toMatch(/another username/);
  });

  it("should approve with the admin's signed admit on a chained tenant, retrying once on a stale head", async () => {
    const { account, signed } = fakeAccount();
    let refused = false;
    const { api, calls } = fakeApi(
      [
        { seq: 4, hash: "h4" },
        { seq: 5, hash: "h5" },
      ],
      {
        approveSignupRequest: async (...args) => {
          calls.push(["approve", ...args]);
          if (!refused) {
            refused = true;
            throw new ApiError(400, "seq_gap", "stale");
          }
        },
      },
    );
    const refresh = vi.fn(async () => undefined);
    const store = createAdminStore(account, { refresh }, { api });
    await store.loadRequests();
    expect(store.requests.value?.map((request) => request.username)).toStrictEqual(["dave"]);
    await store.approve("dave");
    expect(signed.map(({ spec, seq }) => [spec, seq])).toStrictEqual([
      [{ type: "admit", bundle, role: "member" }, 4],
      [{ type: "admit", bundle, role: "member" }, 5],
    ]);
    expect(calls.filter(([kind]) => kind === "approve")).toStrictEqual([
      ["approve", "dave", { signed: "admit", on: 4 }],
      ["approve", "dave", { signed: "admit", on: 5 }],
    ]);
    expect(refresh).toHaveBeenCalled();
  });

  it("should approve without an admit link when the tenant has no chain, and reject", async () => {
    const { account, signed } = fakeAccount();
    const { api, calls } = fakeApi([{ seq: -1, hash: null }]);
    const refresh = vi.fn(async () => undefined);
    const store = createAdminStore(account, { refresh }, { api });
    await store.loadRequests();
    await store.approve("dave");
    await store.reject("dave");
    expect(signed).toStrictEqual([]);
    expect(calls).toStrictEqual([
      ["approve", "dave", undefined],
      ["reject", "dave"],
    ]);
    expect(refresh).not.toHaveBeenCalled();
  });

  it("should post signed set_role and remove links, and word the chain's refusals", async () => {
    const { account, signed } = fakeAccount();
    const { api, calls } = fakeApi([{ seq: 2, hash: "h2" }]);
    const refresh = vi.fn(async () => undefined);
    const store = createAdminStore(account, { refresh }, { api });
    await store.setRole("carol", "admin");
    expect(signed[0]).toStrictEqual({ spec: { type: "set_role", user: "carol", role: "admin" }, seq: 2 });
    expect(calls[0]).toStrictEqual(["post", { signed: "set_role", on: 2 }]);
    expect(refresh).toHaveBeenCalledTimes(1);

    const refusing = createAdminStore(
      account,
      { refresh },
      {
        api: fakeApi([{ seq: 2, hash: "h2" }], {
          postLink: async () => {
            throw new ApiError(400, "last_owner", "Link refused");
          },
        }).api,
      },
    );
    await expect(refusing.remove("alice")).rejects.toThrow("A workspace must keep at least one owner.");
    const unauthorized = createAdminStore(
      account,
      { refresh },
      {
        api: fakeApi([{ seq: 2, hash: "h2" }], {
          postLink: async () => {
            throw new ApiError(400, "unauthorized", "Link refused");
          },
        }).api,
      },
    );
    await expect(unauthorized.setRole("alice", "member")).rejects.toThrow("You may not do that.");
  });

  it("should refuse people who are not admins", async () => {
    const { account } = fakeAccount("member");
    const { api, calls } = fakeApi([{ seq: 2, hash: "h2" }]);
    const store = createAdminStore(account, { refresh: async () => undefined }, { api });
    await expect(store.remove("carol")).rejects.toThrow(/owners and admins/);
    expect(calls).toStrictEqual([]);
  });
});
