import { describe, expect, it } from "vitest";
import { ProtocolError } from "../protocol";
import { ApiError } from "../transport/api";
import { fingerprintGroups, inviteText, keyFileName } from "./account";
import {
  AccountError,
  emailProblem,
  emailRequired,
  errorMessage,
  messageForCode,
  minutesText,
  newPasswordProblem,
  normaliseUsername,
  orList,
  passwordProblem,
  policyText,
  toAccountError,
  usernameProblem,
} from "./messages";

describe("usernames", () => {
  it("should lower-case and trim what a person types", () => {
    expect(normaliseUsername("  Alice.B ")).toBe("alice.b");
  });

  it("should accept the protocol's usernames", () => {
    for (const name of ["a", "alice", "a.b_c-d", "0day", "x".repeat(64)]) {
      expect(usernameProblem(name)).toBeNull();
    }
  });

  it("should explain what is wrong with others", () => {
    expect(usernameProblem("")).toBe("Enter a username.");
    for (const name of ["-alice", ".a", "al ice", "élise", "x".repeat(65), "Alice"]) {
      expect(usernameProblem(name)).toMatch(/^A username has 1 to 64 characters/);
    }
  });
});

describe("passwords", () => {
  it("should want 10 to 1,024 characters, counted as people count them", () => {
    expect(passwordProblem("123456789")).toBe("A password needs at least 10 characters.");
    expect(passwordProblem("1234567890")).toBeNull();
    expect(passwordProblem("🔑".repeat(10))).toBeNull(); // 20 UTF-16 units, 10 characters
    expect(passwordProblem("🔑".repeat(9))).not.toBeNull();
    expect(passwordProblem("x".repeat(1024))).toBeNull();
    expect(passwordProblem("x".repeat(1025))).toBe("A password can have at most 1,024 characters.");
  });

  it("should want the repetition to match", () => {
    expect(newPasswordProblem("correct horse", "correct horse")).toBeNull();
    expect(newPasswordProblem("correct horse", "correct hose")).toBe("The two passwords do not match.");
    expect(newPasswordProblem("short", "short")).toBe("A password needs at least 10 characters.");
  });
});

describe("signup policy", () => {
  it("should say what each policy means", () => {
    expect(policyText("open", [])).toBe("Anyone can join");
    expect(policyText("approval", [])).toBe("An administrator approves new accounts");
    expect(policyText("domain", ["example.com"])).toBe("Only addresses at example.com");
    expect(policyText("domain", ["a.org", "b.org", "c.org"])).toBe("Only addresses at a.org, b.org or c.org");
    expect(policyText("invite", [])).toBe("Invitation only");
  });

  it("should ask for an email only where the policy needs one and there is no invite", () => {
    expect(emailRequired("approval", false)).toBe(true);
    expect(emailRequired("domain", false)).toBe(true);
    expect(emailRequired("domain", true)).toBe(false);
    expect(emailRequired("open", false)).toBe(false);
    expect(emailRequired("invite", false)).toBe(false);
    expect(emailRequired(null, false)).toBe(false);
  });

  it("should check the email against the policy", () => {
    const domain = {
      required: true,
      policy: "domain" as const,
      allowedDomains: ["example.com"],
      invited: false,
    };
    expect(emailProblem("", domain)).toBe("Enter your email address.");
    expect(emailProblem("not-an-email", domain)).toBe("That email address does not look right.");
    expect(emailProblem("bob@evil.test", domain)).toBe(
      "Only addresses at example.com can join this workspace.",
    );
    expect(emailProblem("Bob@Example.COM", domain)).toBeNull();
    expect(emailProblem("", { ...domain, required: false, policy: "open" })).toBeNull();
  });

  it("should join lists in English", () => {
    expect(orList([])).toBe("");
    expect(orList(["a"])).toBe("a");
    expect(orList(["a", "b"])).toBe("a or b");
  });
});

describe("error messages", () => {
  it("should word the server's codes", () => {
    expect(messageForCode("invalid_credentials")).toBe("Wrong username or password.");
    expect(messageForCode("invalid_credentials", { context: "recover" })).toBe(
      "Wrong username or recovery code.",
    );
    expect(messageForCode("invalid_credentials", { context: "unlock" })).toBe("Wrong password.");
    expect(messageForCode("invite_expired")).toBe("This invite has expired.");
    expect(messageForCode("invite_used")).toBe("This invite has already been used.");
    expect(messageForCode("pending_approval")).toBe(
      "Your account is waiting for an administrator's approval.",
    );
    expect(messageForCode("rejected")).toBe("Your request to join was declined.");
    expect(messageForCode("username_taken")).toBe("That username is taken. Please choose another one.");
    expect(messageForCode("domain_not_allowed", { allowedDomains: ["a.org", "b.org"] })).toBe(
      "Only addresses at a.org or b.org can join this workspace.",
    );
    expect(messageForCode("invite_invalid")).toMatch(/not valid/);
    expect(messageForCode("invite_required")).toMatch(/invitation only/);
  });

  it("should say how long to wait when throttled", () => {
    expect(minutesText(1)).toBe("1 minute");
    expect(minutesText(60)).toBe("1 minute");
    expect(minutesText(61)).toBe("2 minutes");
    expect(messageForCode("throttled", { retryAfter: 840 })).toBe(
      "Too many attempts. Try again in 14 minutes.",
    );
    expect(messageForCode("throttled")).toBe("Too many attempts. Try again in 1 minute.");
  });

  it("should word API, protocol and account errors", () => {
    expect(errorMessage(new ApiError(429, "throttled", "slow down", 300))).toBe(
      "Too many attempts. Try again in 5 minutes.",
    );
    expect(errorMessage(new ApiError(0, "network", "Failed to fetch"))).toMatch(/^Cannot reach the server/);
    expect(errorMessage(new ApiError(502, "http_502", "Bad Gateway"))).toMatch(/^The server had a problem/);
    expect(errorMessage(new ApiError(403, "http_403", "Forbidden"))).toMatch(/reload the page/);
    expect(errorMessage(new ProtocolError("no", "unwrap_failed"), { context: "signup" })).toBe(
      "Wrong key file passphrase.",
    );
    expect(errorMessage(new ProtocolError("no", "bad_recovery_code"))).toMatch(
      /^That is not a recovery code/,
    );
    expect(errorMessage(new AccountError("x", "As it is."))).toBe("As it is.");
    expect(errorMessage(new TypeError("boom"))).toBe("Something went wrong. Please try again.");
    expect(messageForCode("something_new")).toBe("Something went wrong (something_new). Please try again.");
  });

  it("should wrap anything as an AccountError with the code kept", () => {
    const wrapped = toAccountError(new ApiError(400, "username_taken", "taken"));
    expect(wrapped).toBeInstanceOf(AccountError);
    expect(wrapped.code).toBe("username_taken");
    expect(wrapped.message).toBe("That username is taken. Please choose another one.");
  });
});

describe("display helpers", () => {
  it("should group a fingerprint in fours", () => {
    const digits = "0123456789abcdef".repeat(4);
    const groups = fingerprintGroups(digits);
    expect(groups).toHaveLength(16);
    expect(groups.slice(0, 4)).toStrictEqual(["0123", "4567", "89ab", "cdef"]);
  });

  it("should name key files after the user", () => {
    expect(keyFileName("alice")).toBe("pipo-keys-alice.json");
  });

  it("should write the invite text around the link", () => {
    const text = inviteText("https://acme.example/signup#t=abc", Date.UTC(2030, 0, 2), {
      tenantName: "Acme",
    });
    expect(text).toContain("You are invited to join Acme on PiPo.");
    expect(text).toContain("until 2030-01-02");
    expect(text).toContain("\nhttps://acme.example/signup#t=abc\n");
  });
});
