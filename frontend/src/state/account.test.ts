/**
 * The account store's trust-chain flows against a stubbed server: founding
 * signups carry a genesis, signups on a chained tenant their own admit
 * (retried once on a stale head), invites an admin-signed invite link, and
 * admin links are signed with the unlocked keys. Every link is checked with
 * the chain rules (parseLink + ChainState.apply).
 */

import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  b64uEncode,
  ChainState,
  IdentityKeys,
  type LinkJson,
  makeAdmitLink,
  makeGenesisLink,
  makeIdentityBundle,
  parseLink,
  sodiumReady,
} from "../protocol";
import { createAccountStore } from "./account";
import type { AppConfig } from "./config";

const CONFIG: AppConfig = { tenantName: "Acme", tenantSlug: "acme", wsPath: "/ws/", testHooks: false };
const PASSWORD = "correct horse battery";

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown> | null;
}

type Handler = (call: Call) => { status: number; body?: unknown };

function stubServer(handler: Handler): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", async (path: string, init: RequestInit) => {
    const call: Call = {
      method: init.method ?? "GET",
      path,
      body: typeof init.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : null,
    };
    calls.push(call);
    const answer = handler(call);
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { "Content-Type": "application/json" },
    });
  });
  return calls;
}

/** The JSON body of the `index`-th request to `path`. */
function sent(calls: readonly Call[], path: string, index = 0): Record<string, unknown> {
  const body = calls.filter((call) => call.path === path)[index]?.body;
  if (body === undefined || body === null) {
    throw new Error(`no request ${index} to ${path}`);
  }
  return body;
}

function tenantJson(facts: Record<string, unknown>) {
  return {
    slug: "acme",
    name: "Acme",
    signup_policy: "open",
    allowed_domains: [],
    chain_founded: true,
    founding: "enrolment",
    server_key: serverKey,
    ...facts,
  };
}

function signupAnswer(call: Call, role: string) {
  return {
    status: 201,
    body: { state: "active", user: { username: call.body?.username, email: "", role, state: "active" } },
  };
}

let serverKey: string;

beforeAll(async () => {
  await sodiumReady();
  serverKey = b64uEncode(IdentityKeys.generate().signPub);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("account store and the trust chain", () => {
  it("should found a first-user demo tenant with a genesis of the new account's bundle", async () => {
    const calls = stubServer((call) => {
      if (call.path === "/api/tenant") {
        return { status: 200, body: tenantJson({ chain_founded: false, founding: "first_user" }) };
      }
      if (call.path === "/api/auth/signup") {
        return signupAnswer(call, "owner");
      }
      return { status: 404, body: { error: "not_found", message: "?" } };
    });
    const onChainChanged = vi.fn();
    const account = createAccountStore(CONFIG, { yieldToUi: async () => undefined, onChainChanged });
    const result = await account.signUp({ username: "alice", email: "", password: PASSWORD });
    expect(result.state).toBe("active");
    const signup = sent(calls, "/api/auth/signup");
    const link = signup.chain_link as LinkJson;
    expect(signup).not.toHaveProperty("enrolment_token");
    expect(link.type).toBe("genesis");
    expect(link.body).toStrictEqual({
      roots: [signup.identity_bundle],
      policy: { mode: "open", domains: [] },
      server_key: serverKey,
    });
    const state = ChainState.empty("acme").apply(parseLink(link));
    expect(state.members.get("alice")?.role).toBe("owner");
    expect(account.status.value).toBe("unlocked");
    expect(account.tenant.value?.chainFounded).toBe(true);
    expect(onChainChanged).toHaveBeenCalled();
  });

  it("should found from an enrolment link with its token, and keep the legacy path without one", async () => {
    const calls = stubServer((call) => {
      if (call.path === "/api/tenant") {
        return { status: 200, body: tenantJson({ chain_founded: false, signup_policy: "invite" }) };
      }
      return signupAnswer(call, "owner");
    });
    const account = createAccountStore(CONFIG, { yieldToUi: async () => undefined });
    await account.signUp({ username: "root", email: "", password: PASSWORD, enrolmentToken: "ENROL" });
    const founding = sent(calls, "/api/auth/signup");
    expect(founding.enrolment_token).toBe("ENROL");
    expect((founding.chain_link as LinkJson).type).toBe("genesis");
    expect((founding.chain_link as LinkJson).body.policy).toStrictEqual({ mode: "invite", domains: [] });

    calls.length = 0;
    const legacy = createAccountStore(CONFIG, { yieldToUi: async () => undefined });
    await legacy.signUp({ username: "bob", email: "", password: PASSWORD, inviteToken: "tok" });
    const body = sent(calls, "/api/auth/signup");
    expect(body).not.toHaveProperty("chain_link");
    expect(body.invite_token).toBe("tok");
  });

  it("should self-admit on a chained tenant, retry once on a stale head, then sign invites and admin links", async () => {
    const root = IdentityKeys.generate();
    const rootBundle = makeIdentityBundle(root, { tenant: "acme", user: "alice", created: 1 }).toJson();
    const genesis = makeGenesisLink({
      tenant: "acme",
      ts: Date.now() - 1000,
      keys: root,
      bundle: rootBundle,
      policy: { mode: "open", domains: [] },
      serverKey,
    });
    let state = ChainState.empty("acme").apply(parseLink(genesis));
    const realHead = () => ({ seq: state.seq, hash: b64uEncode(state.head as Uint8Array) });
    const heads = [{ seq: 7, hash: b64uEncode(new Uint8Array(32)) }];
    const calls = stubServer((call) => {
      if (call.path === "/api/tenant") {
        return { status: 200, body: tenantJson({}) };
      }
      if (call.path === "/api/chain/head") {
        return { status: 200, body: heads.shift() ?? realHead() };
      }
      if (call.path === "/api/auth/signup" || call.path === "/api/invites") {
        const link = (call.body?.chain_link ?? call.body?.invite_link) as LinkJson;
        try {
          state = state.apply(parseLink(link));
        } catch (error) {
          const code = (error as { code: string }).code;
          return { status: 400, body: { error: code, message: "Link refused" } };
        }
        return call.path === "/api/invites"
          ? { status: 201, body: { id: 1, role: call.body?.role, expires_at: call.body?.expires_at } }
          : signupAnswer(call, "admin");
      }
      return { status: 404, body: { error: "not_found", message: "?" } };
    });
    const onChainChanged = vi.fn();
    const account = createAccountStore(CONFIG, {
      origin: "https://acme.example",
      yieldToUi: async () => undefined,
      onChainChanged,
      tenantFingerprint: () => "FP",
    });
    await account.signUp({ username: "bob", email: "", password: PASSWORD });
    expect(calls.filter((call) => call.path === "/api/auth/signup")).toHaveLength(2);
    expect((sent(calls, "/api/auth/signup", 0).chain_link as LinkJson).seq).toBe(8);
    const retried = sent(calls, "/api/auth/signup", 1);
    const admit = retried.chain_link as LinkJson;
    expect(admit.seq).toBe(1);
    expect(admit.body).toStrictEqual({ bundle: retried.identity_bundle, role: "member", how: "open" });
    expect(state.members.get("bob")?.how).toBe("open");
    expect(onChainChanged).toHaveBeenCalledTimes(1);

    // bob is "admin" for the server here; make him one in the chain too, then invite.
    state = ChainState.empty("acme");
    const adminGenesis = makeGenesisLink({
      tenant: "acme",
      ts: Date.now() - 1000,
      keys: root,
      bundle: rootBundle,
      policy: { mode: "open", domains: [] },
      serverKey,
    });
    state = state.apply(parseLink(adminGenesis));
    const bobBundle = retried.identity_bundle;
    const asAdmin = makeAdmitLink({
      tenant: "acme",
      head: realHead(),
      ts: Date.now() - 500,
      keys: root,
      bundle: bobBundle as Record<string, unknown>,
      role: "admin",
      how: "approval",
    });
    state = state.apply(parseLink(asAdmin));

    const invite = await account.createInvite({ role: "admin", days: 7 });
    expect(invite.link).toMatch(/^https:\/\/acme\.example\/signup#t=[\w-]{43}&r=admin&fp=FP$/);
    const posted = sent(calls, "/api/invites");
    const inviteLink = posted.invite_link as LinkJson;
    expect(inviteLink.body).toStrictEqual({
      token_hash: posted.token_hash,
      role: "admin",
      expires: posted.expires_at,
    });
    expect([...state.invites.keys()]).toStrictEqual([posted.token_hash]);
    expect(onChainChanged).toHaveBeenCalledTimes(2);

    // Admin links are signed with bob's unlocked key and judged by the chain rules.
    const demote = account.signAdminLink({ type: "set_role", user: "alice", role: "admin" }, realHead());
    expect(() => state.apply(parseLink(demote))).toThrow("only an owner makes or unmakes an owner");
    const leave = account.signAdminLink({ type: "remove", user: "bob" }, realHead());
    state = state.apply(parseLink(leave));
    expect(state.members.has("bob")).toBe(false);
  }, 60_000);

  it("should rotate keys: a rotate_keys link signed by the old key, retried on a stale head, then the new code", async () => {
    let state = ChainState.empty("acme");
    let kdf: unknown = null;
    let authKey: unknown = null;
    const heads: { seq: number; hash: string }[] = [];
    const realHead = () => ({ seq: state.seq, hash: b64uEncode(state.head as Uint8Array) });
    const calls = stubServer((call) => {
      if (call.path === "/api/tenant") {
        return { status: 200, body: tenantJson({ chain_founded: false, founding: "first_user" }) };
      }
      if (call.path === "/api/auth/signup") {
        state = state.apply(parseLink(call.body?.chain_link));
        kdf = call.body?.kdf;
        authKey = call.body?.auth_key;
        return signupAnswer(call, "owner");
      }
      if (call.path === "/api/auth/prelogin") {
        return { status: 200, body: { kdf } };
      }
      if (call.path === "/api/chain/head") {
        return { status: 200, body: heads.shift() ?? realHead() };
      }
      if (call.path === "/api/auth/rotate-keys") {
        if (call.body?.auth_key !== authKey) {
          return { status: 400, body: { error: "invalid_credentials", message: "?" } };
        }
        try {
          state = state.apply(parseLink(call.body?.rotate_link));
        } catch (error) {
          return { status: 400, body: { error: (error as { code: string }).code, message: "?" } };
        }
        const link = call.body?.rotate_link as LinkJson;
        return {
          status: 200,
          body: {
            user: { username: "alice", email: "", role: "owner", state: "active" },
            identity_bundle: link.body.bundle,
            wrapped_keys: call.body?.new_wrapped_keys,
          },
        };
      }
      return { status: 404, body: { error: "not_found", message: "?" } };
    });
    const onChainChanged = vi.fn();
    const account = createAccountStore(CONFIG, { yieldToUi: async () => undefined, onChainChanged });
    const signedUp = await account.signUp({ username: "alice", email: "", password: PASSWORD });
    account.acknowledgeRecoveryCode();
    expect(account.canRotateKeys.value).toBe(true);
    const oldFingerprint = account.identity.value?.fingerprint;
    const oldSignPub = state.members.get("alice")?.signPub;

    await expect(account.rotateKeys("not the password")).rejects.toThrow("The password is wrong.");
    expect(account.identity.value?.fingerprint).toBe(oldFingerprint);

    heads.push({ seq: 7, hash: b64uEncode(new Uint8Array(32)) });
    const code = await account.rotateKeys(PASSWORD);
    const rotations = calls.filter((call) => call.path === "/api/auth/rotate-keys");
    // The wrong password was refused on a fresh head; then one stale head (seq 7) and a retry.
    expect(rotations).toHaveLength(3);
    const body = sent(calls, "/api/auth/rotate-keys", 2);
    expect(Object.keys(body).sort()).toStrictEqual([
      "auth_key",
      "new_auth_key",
      "new_kdf",
      "new_recovery",
      "new_wrapped_keys",
      "rotate_link",
    ]);
    expect((body.rotate_link as LinkJson).type).toBe("rotate_keys");
    expect((body.rotate_link as LinkJson).signer).toBe(b64uEncode(oldSignPub as Uint8Array));
    expect(state.members.get("alice")?.role).toBe("owner");
    expect(code).not.toBe(signedUp.recoveryCode);
    expect(account.recoveryCode.value).toBe(code);
    expect(account.identity.value?.fingerprint).not.toBe(oldFingerprint);
    expect(account.status.value).toBe("unlocked");
    expect(onChainChanged).toHaveBeenCalledTimes(2);
  }, 60_000);
});
