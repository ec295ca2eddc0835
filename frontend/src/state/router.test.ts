import { describe, expect, it } from "vitest";
import {
  confirmTokenFrom,
  createRouter,
  enrolmentTokenFrom,
  fingerprintFrom,
  inviteRoleFrom,
  inviteTokenFrom,
  memoryRouterEnv,
  normalisePath,
  parseFragment,
  splitUrl,
} from "./router";

describe("parseFragment", () => {
  it("should read key=value pairs with or without the leading #", () => {
    expect(parseFragment("#t=abc&fp=xyz")).toStrictEqual(
      new Map([
        ["t", "abc"],
        ["fp", "xyz"],
      ]),
    );
    expect(parseFragment("c=tok")).toStrictEqual(new Map([["c", "tok"]]));
  });

  it("should percent-decode, keep the first of a repeated key and skip empty parts", () => {
    expect(parseFragment("#a=1%202&&a=3&flag")).toStrictEqual(
      new Map([
        ["a", "1 2"],
        ["flag", ""],
      ]),
    );
  });

  it("should keep malformed percent escapes as they are", () => {
    expect(parseFragment("#t=%E0%A4%A")).toStrictEqual(new Map([["t", "%E0%A4%A"]]));
  });

  it("should give nothing for an empty fragment", () => {
    expect(parseFragment("")).toStrictEqual(new Map());
    expect(parseFragment("#")).toStrictEqual(new Map());
  });
});

describe("fragment tokens", () => {
  it("should read the invite's role from &r=, member by default", () => {
    expect(inviteRoleFrom("#t=tok&r=admin&fp=abc")).toBe("admin");
    expect(inviteRoleFrom("#t=tok&r=member")).toBe("member");
    expect(inviteRoleFrom("#t=tok")).toBe("member");
    expect(inviteRoleFrom("#t=tok&r=owner")).toBe("member");
  });

  it("should find the enrolment token of a /signup#e= link", () => {
    expect(enrolmentTokenFrom("#e=enrol-token")).toBe("enrol-token");
    expect(enrolmentTokenFrom("#t=tok")).toBeNull();
    expect(enrolmentTokenFrom("#e=")).toBeNull();
  });

  it("should find the invite token of a /signup#t= link", () => {
    expect(inviteTokenFrom("#t=q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJo")).toBe(
      "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJo",
    );
    expect(inviteTokenFrom("#fp=abc&t=tok")).toBe("tok");
  });

  it("should find the tenant fingerprint of an invite link's #fp=", () => {
    expect(fingerprintFrom("#t=tok&fp=q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJo")).toBe(
      "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJo",
    );
    expect(fingerprintFrom("#t=tok")).toBeNull();
    expect(fingerprintFrom("#fp=")).toBeNull();
  });

  it("should find the confirmation token of a /confirm#c= link", () => {
    expect(confirmTokenFrom("#c=abc-_123")).toBe("abc-_123");
  });

  it("should say null when the token is missing or empty", () => {
    expect(inviteTokenFrom("")).toBeNull();
    expect(inviteTokenFrom("#t=")).toBeNull();
    expect(inviteTokenFrom("#c=abc")).toBeNull();
    expect(confirmTokenFrom("#t=abc")).toBeNull();
  });
});

describe("paths", () => {
  it("should normalise trailing slashes and the empty path", () => {
    expect(normalisePath("")).toBe("/");
    expect(normalisePath("/")).toBe("/");
    expect(normalisePath("/login/")).toBe("/login");
    expect(normalisePath("app")).toBe("/app");
  });

  it("should split a URL into path and fragment, dropping the query", () => {
    expect(splitUrl("/signup?x=1#t=abc")).toStrictEqual({ path: "/signup", hash: "#t=abc" });
    expect(splitUrl("/app#")).toStrictEqual({ path: "/app", hash: "" });
  });
});

describe("createRouter", () => {
  it("should start at the env's location and follow navigate and replace", () => {
    const env = memoryRouterEnv("/signup#t=abc");
    const router = createRouter(env);
    expect(router.path.value).toBe("/signup");
    expect(router.hash.value).toBe("#t=abc");
    router.navigate("/login");
    expect(router.path.value).toBe("/login");
    expect(router.hash.value).toBe("");
    expect(env.location.pathname).toBe("/login");
    router.replace("/app");
    expect(router.path.value).toBe("/app");
    router.dispose();
  });

  it("should re-read the location on popstate", () => {
    const listeners: (() => void)[] = [];
    const location = { pathname: "/app", hash: "" };
    const router = createRouter({
      location,
      history: { pushState: () => undefined, replaceState: () => undefined },
      addEventListener: (_type, listener) => listeners.push(listener),
      removeEventListener: () => undefined,
    });
    location.pathname = "/login/";
    location.hash = "#x=1";
    for (const listener of listeners) {
      listener();
    }
    expect(router.path.value).toBe("/login");
    expect(router.hash.value).toBe("#x=1");
  });

  it("should not add a history entry for the current URL", () => {
    const pushed: (string | undefined)[] = [];
    const router = createRouter({
      location: { pathname: "/login", hash: "" },
      history: { pushState: (_d, _u, url) => pushed.push(url), replaceState: () => undefined },
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    });
    router.navigate("/login");
    expect(pushed).toStrictEqual([]);
  });
});
