import { describe, expect, it } from "vitest";
import { resolveRoute } from "./views";

describe("resolveRoute", () => {
  it("should send signed-out people to /login, except on the public pages", () => {
    expect(resolveRoute("signed-out", "/app", false)).toStrictEqual({ view: "login", redirect: "/login" });
    expect(resolveRoute("signed-out", "/", false)).toStrictEqual({ view: "login", redirect: "/login" });
    expect(resolveRoute("signed-out", "/nowhere", false).redirect).toBe("/login");
    expect(resolveRoute("signed-out", "/login", false)).toStrictEqual({ view: "login", redirect: null });
    expect(resolveRoute("signed-out", "/signup", false)).toStrictEqual({ view: "signup", redirect: null });
    expect(resolveRoute("signed-out", "/recover", false)).toStrictEqual({ view: "recover", redirect: null });
  });

  it("should send unlocked people to /app", () => {
    for (const path of ["/", "/login", "/signup", "/recover", "/other"]) {
      expect(resolveRoute("unlocked", path, false)).toStrictEqual({ view: "app", redirect: "/app" });
    }
    expect(resolveRoute("unlocked", "/app", false)).toStrictEqual({ view: "app", redirect: null });
  });

  it("should show the Members and Audit log pages to unlocked people, and keep their paths while locked", () => {
    expect(resolveRoute("unlocked", "/app/members", false)).toStrictEqual({
      view: "members",
      redirect: null,
    });
    expect(resolveRoute("unlocked", "/app/audit", false)).toStrictEqual({ view: "audit", redirect: null });
    expect(resolveRoute("unlocked", "/app/requests", false)).toStrictEqual({
      view: "requests",
      redirect: null,
    });
    expect(resolveRoute("locked", "/app/requests", false)).toStrictEqual({ view: "locked", redirect: null });
    expect(resolveRoute("unlocked", "/app/other", false)).toStrictEqual({ view: "app", redirect: "/app" });
    expect(resolveRoute("locked", "/app/members", false)).toStrictEqual({ view: "locked", redirect: null });
    expect(resolveRoute("locked", "/app/audit", false)).toStrictEqual({ view: "locked", redirect: null });
    expect(resolveRoute("signed-out", "/app/members", false)).toStrictEqual({
      view: "login",
      redirect: "/login",
    });
  });

  it("should show the unlock page to locked people, and let them recover", () => {
    expect(resolveRoute("locked", "/app", false)).toStrictEqual({ view: "locked", redirect: null });
    expect(resolveRoute("locked", "/login", false)).toStrictEqual({ view: "locked", redirect: "/app" });
    expect(resolveRoute("locked", "/recover", false)).toStrictEqual({ view: "recover", redirect: null });
  });

  it("should show a pending or declined account's page wherever it is", () => {
    expect(resolveRoute("pending_approval", "/signup", false).view).toBe("pending_approval");
    expect(resolveRoute("pending_email", "/login", false).view).toBe("pending_email");
    expect(resolveRoute("rejected", "/login", false)).toStrictEqual({ view: "rejected", redirect: null });
  });

  it("should show the recovery code before anything else, and /confirm in any state", () => {
    expect(resolveRoute("unlocked", "/signup", true)).toStrictEqual({
      view: "recovery-code",
      redirect: null,
    });
    expect(resolveRoute("pending_email", "/signup", true).view).toBe("recovery-code");
    expect(resolveRoute("unlocked", "/confirm", false)).toStrictEqual({ view: "confirm", redirect: null });
    expect(resolveRoute("loading", "/confirm", false).view).toBe("confirm");
  });

  it("should wait while loading", () => {
    expect(resolveRoute("loading", "/app", false)).toStrictEqual({ view: "loading", redirect: null });
  });
});
