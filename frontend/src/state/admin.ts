/**
 * What a workspace's owners and admins do from the app: decide signup
 * requests (`/app/requests`) and change members' roles or remove them (the
 * Members page). Every decision that the trust chain records is a link signed
 * in this browser by the admin's own key (through the account store, which
 * holds the keys), built on the current head, retried once if someone
 * appended meanwhile, and followed by a refresh of the verified chain.
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals-core";
import { fingerprint, type LinkHead, parseIdentityBundle, safetyCode, sodiumReady } from "../protocol";
import * as api from "../transport/api";
import type { AccountStore, AdminLinkSpec, Role } from "./account";
import type { ChainStore } from "./chain";
import { onFreshHead } from "./chainLinks";
import { formatWhen } from "./chainViews";
import { AccountError, messageForCode, toAccountError } from "./messages";

/** One signup request, for the Signup requests page. */
export interface SignupRequestView {
  readonly username: string;
  readonly email: string;
  /** Unix milliseconds. */
  readonly requestedAt: number;
  /** e.g. "2025-01-31 14:05 UTC". */
  readonly when: string;
  readonly iso: string;
  /** The requester's safety code (from their bundle's signing key); null if the bundle does not verify. */
  readonly safetyCode: readonly { readonly emoji: string; readonly name: string }[] | null;
  /** SHA-256 of their signing key in 16 groups of four; empty if the bundle does not verify. */
  readonly fingerprintGroups: readonly string[];
  /** Why this request cannot be approved as it is, else null. */
  readonly problem: string | null;
}

/** What an admin may do to one member on the Members page. */
export interface MemberActions {
  /** Roles offered as "Make <role>" buttons, in the order owner, admin, member. */
  readonly roles: readonly Role[];
  /** Whether a "Remove <username>" button is offered. */
  readonly canRemove: boolean;
}

const NO_ACTIONS: MemberActions = { roles: [], canRemove: false };

/**
 * The role changes and removal the rules of PROTOCOL.md §6.2 allow `myRole`
 * on `target` (nothing on oneself, nothing for members; only an owner makes,
 * unmakes or removes an owner).
 */
export function memberActions(
  me: { readonly username: string; readonly role: Role } | null,
  target: { readonly username: string; readonly role: Role },
): MemberActions {
  if (me === null || me.username === target.username || me.role === "member") {
    return NO_ACTIONS;
  }
  const owner = me.role === "owner";
  if (target.role === "owner" && !owner) {
    return NO_ACTIONS;
  }
  const all: readonly Role[] = ["owner", "admin", "member"];
  return {
    roles: all.filter((role) => role !== target.role && (role !== "owner" || owner)),
    canRemove: true,
  };
}

/** Network seam (production: `src/transport/api.ts`). */
export interface AdminApi {
  fetchHead(): Promise<LinkHead>;
  listSignupRequests(): Promise<api.SignupRequestJson[]>;
  approveSignupRequest(username: string, admitLink?: unknown): Promise<void>;
  rejectSignupRequest(username: string): Promise<void>;
  postLink(link: unknown): Promise<{ readonly seq: number; readonly hash: string }>;
}

const defaultApi: AdminApi = {
  fetchHead: api.fetchHead,
  listSignupRequests: api.listSignupRequests,
  approveSignupRequest: api.approveSignupRequest,
  rejectSignupRequest: api.rejectSignupRequest,
  postLink: (link) => api.postLink(link),
};

/** The admin store. */
export interface AdminStore {
  /** The pending signup requests; null until loaded. */
  readonly requests: ReadonlySignal<readonly SignupRequestView[] | null>;
  /** Why loading the requests failed, else null. */
  readonly requestsError: ReadonlySignal<string | null>;
  /** Whether the signed-in person may decide requests and manage members (owner or admin, unlocked). */
  readonly isAdmin: ReadonlySignal<boolean>;
  /** Load (or reload) the signup requests. */
  loadRequests(): Promise<void>;
  /** Approve: signs the `admit` (how approval) when the chain has a genesis; then reloads the list. */
  approve(username: string): Promise<void>;
  /** Reject; then reloads the list. */
  reject(username: string): Promise<void>;
  /** Append a signed `set_role` link and refresh the chain. */
  setRole(username: string, role: Role): Promise<void>;
  /** Append a signed `remove` link and refresh the chain. */
  remove(username: string): Promise<void>;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function isoOf(ts: number): string {
  const date = new Date(ts);
  return Number.isFinite(date.getTime()) ? date.toISOString() : "";
}

/** @internal A request as the page shows it; the bundle's keys give the safety code. */
export function requestView(request: api.SignupRequestJson): SignupRequestView {
  let symbols: SignupRequestView["safetyCode"] = null;
  let groups: readonly string[] = [];
  let problem: string | null = null;
  try {
    const bundle = parseIdentityBundle(request.identityBundle);
    if (bundle.user !== request.username) {
      problem = "This request's keys name another username: do not approve it.";
    } else {
      const digest = fingerprint(bundle.signPub);
      symbols = safetyCode(digest).map(({ emoji, name }) => ({ emoji, name }));
      groups = hex(digest).match(/.{1,4}/g) ?? [];
    }
  } catch {
    problem = "This request's keys do not verify: do not approve it.";
  }
  return {
    username: request.username,
    email: request.email,
    requestedAt: request.requestedAt,
    when: formatWhen(request.requestedAt),
    iso: isoOf(request.requestedAt),
    safetyCode: symbols,
    fingerprintGroups: groups,
    problem,
  };
}

/** Make the admin store. */
export function createAdminStore(
  account: AccountStore,
  chain: Pick<ChainStore, "refresh">,
  options: { readonly api?: AdminApi } = {},
): AdminStore {
  const adminApi = options.api ?? defaultApi;
  const requests = signal<readonly SignupRequestView[] | null>(null);
  const requestsError = signal<string | null>(null);
  /** The bundles as received, by username: an admit carries them unchanged. */
  let bundles = new Map<string, unknown>();
  const isAdmin = computed(() => {
    const role = account.user.value?.role;
    return account.status.value === "unlocked" && (role === "owner" || role === "admin");
  });

  const fail = (error: unknown): AccountError => toAccountError(error, { context: "admin" });

  const requireAdmin = (): void => {
    if (!isAdmin.value) {
      throw new AccountError("forbidden", "Only the workspace's owners and admins can do that.");
    }
  };

  const refreshChain = (): void => {
    void chain.refresh().catch((error: unknown) => {
      console.warn("PiPo: could not refresh the trust chain", error);
    });
  };

  /** Sign `spec` on the current head and send it with `send`; once more on a stale head. */
  const appendSigned = <T>(
    spec: AdminLinkSpec | null,
    send: (link: unknown | undefined, head: LinkHead) => Promise<T>,
  ): Promise<T> =>
    onFreshHead(adminApi.fetchHead, (head) =>
      send(spec === null || head.seq < 0 ? undefined : account.signAdminLink(spec, head), head),
    );

  const loadRequests = async (): Promise<void> => {
    try {
      requireAdmin();
      const list = await adminApi.listSignupRequests();
      await sodiumReady();
      bundles = new Map(list.map((item) => [item.username, item.identityBundle]));
      requests.value = list.map(requestView);
      requestsError.value = null;
    } catch (error) {
      const failure = fail(error);
      requestsError.value = failure.message;
      throw failure;
    }
  };

  const reloadQuietly = async (): Promise<void> => {
    await loadRequests().catch(() => undefined);
  };

  return {
    requests,
    requestsError,
    isAdmin,
    loadRequests,

    async approve(username: string): Promise<void> {
      try {
        requireAdmin();
        if (!bundles.has(username)) {
          throw new AccountError("not_found", messageForCode("not_found"));
        }
        await sodiumReady();
        const bundle = bundles.get(username);
        let chained = false;
        await appendSigned({ type: "admit", bundle, role: "member" }, (admitLink, head) => {
          chained = head.seq >= 0;
          return adminApi.approveSignupRequest(username, admitLink);
        });
        if (chained) {
          refreshChain();
        }
      } catch (error) {
        await reloadQuietly();
        throw fail(error);
      }
      await reloadQuietly();
    },

    async reject(username: string): Promise<void> {
      try {
        requireAdmin();
        await adminApi.rejectSignupRequest(username);
      } catch (error) {
        await reloadQuietly();
        throw fail(error);
      }
      await reloadQuietly();
    },

    async setRole(username: string, role: Role): Promise<void> {
      try {
        requireAdmin();
        await sodiumReady();
        await appendSigned({ type: "set_role", user: username, role }, (link) => {
          if (link === undefined) {
            throw new AccountError("genesis_required", messageForCode("genesis_required"));
          }
          return adminApi.postLink(link);
        });
      } catch (error) {
        throw fail(error);
      }
      refreshChain();
    },

    async remove(username: string): Promise<void> {
      try {
        requireAdmin();
        await sodiumReady();
        await appendSigned({ type: "remove", user: username }, (link) => {
          if (link === undefined) {
            throw new AccountError("genesis_required", messageForCode("genesis_required"));
          }
          return adminApi.postLink(link);
        });
      } catch (error) {
        throw fail(error);
      }
      refreshChain();
    },
  };
}
