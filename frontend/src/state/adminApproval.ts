/**
 * The Django admin's "Approve (sign in browser)" page (entry
 * `src/adminApproval.tsx`): one pending signup, approved by the signed-in
 * admin's own key from this browser, exactly as the app's Signup requests
 * page does it (the admin store signs the `admit` with `how: "approval"` on
 * the current head and posts it; the server verifies it).
 *
 * The page builds the same stores as the app (account, chain, admin) without
 * the relay socket or the router: the account store restores the keys from
 * this browser's key store, the chain store verifies the whole chain against
 * what this browser verified before, and approving is offered only on a
 * verified chain (or on a workspace that has none yet).
 */

import { batch, computed, type ReadonlySignal, signal } from "@preact/signals-core";
import { type AccountOptions, createAccountStore, type IdentityView } from "./account";
import { type AdminApi, createAdminStore, type SignupRequestView } from "./admin";
import { type ChainOptions, createChainStore } from "./chain";
import type { AppConfig } from "./config";
import { errorMessage } from "./messages";

/**
 * - `loading`: checking the session, the keys, the chain and the request;
 * - `signed-out`: no session here (sign in, then come back);
 * - `locked`: signed in, but this browser does not hold the unlocked keys;
 * - `not-admin`: the signed-in person is not an owner or admin;
 * - `chain-refused`: the trust chain did not verify: approve nothing;
 * - `chain-error`: the chain could not be loaded (see {@link ApprovalPage.error});
 * - `failed`: the session or the request could not be loaded (see {@link ApprovalPage.error});
 * - `not-found`: no such pending request (decided meanwhile);
 * - `ready` / `approving` / `approved`.
 */
export type ApprovalPhase =
  | "loading"
  | "signed-out"
  | "locked"
  | "not-admin"
  | "chain-refused"
  | "chain-error"
  | "failed"
  | "not-found"
  | "ready"
  | "approving"
  | "approved";

/** What the approval page reads and does. */
export interface ApprovalPage {
  /** The username of the request this page approves. */
  readonly username: string;
  readonly phase: ReadonlySignal<ApprovalPhase>;
  /** The request as the server lists it (safety code from its bundle); null until loaded or when gone. */
  readonly request: ReadonlySignal<SignupRequestView | null>;
  /** The signed-in admin's username; null until known. */
  readonly signer: ReadonlySignal<string | null>;
  /** The signed-in admin's own safety code and fingerprint; null unless unlocked. */
  readonly signerIdentity: ReadonlySignal<IdentityView | null>;
  /** Whether the verified chain has a genesis (the approval is a signed link), once known. */
  readonly chained: ReadonlySignal<boolean>;
  /** A sentence for `chain-refused`, `chain-error` or `failed`, or why the last approval failed; else null. */
  readonly error: ReadonlySignal<string | null>;
  /** Restore the session and keys, verify the chain, load the request. */
  start(): Promise<void>;
  /** Sign and post the admission; sets {@link error} instead of throwing. */
  approve(): Promise<void>;
  dispose(): void;
}

/** Seams for tests; production passes only `origin`. */
export interface ApprovalPageOptions {
  readonly account?: AccountOptions;
  readonly chain?: ChainOptions;
  readonly adminApi?: AdminApi;
}

/** Make the approval page's model for `username`'s pending signup. */
export function createApprovalPage(
  config: AppConfig,
  username: string,
  options: ApprovalPageOptions = {},
): ApprovalPage {
  const account = createAccountStore(config, options.account ?? {});
  const chain = createChainStore(config, account, options.chain);
  const admin = createAdminStore(account, chain, options.adminApi ? { api: options.adminApi } : {});

  const approving = signal(false);
  const approved = signal<SignupRequestView | null>(null);
  const approveError = signal<string | null>(null);
  let loadStarted = false;

  const pending = computed(
    () => admin.requests.value?.find((request) => request.username === username) ?? null,
  );
  const request = computed(() => approved.value ?? pending.value);

  const phase = computed<ApprovalPhase>(() => {
    if (approved.value !== null) {
      return "approved";
    }
    const status = account.status.value;
    if (status === "loading") {
      return "loading";
    }
    if (status === "locked") {
      return "locked";
    }
    if (status !== "unlocked") {
      // A start-up failure (network, server) is not "signed out".
      return account.bootError.value === null ? "signed-out" : "failed";
    }
    if (!admin.isAdmin.value) {
      return "not-admin";
    }
    const chainStatus = chain.status.value;
    if (chainStatus === "refused") {
      return "chain-refused";
    }
    if (chainStatus === "idle" && chain.syncError.value !== null) {
      return "chain-error";
    }
    if (chainStatus !== "verified" && chainStatus !== "empty") {
      return "loading";
    }
    if (admin.requests.value === null) {
      return admin.requestsError.value === null ? "loading" : "failed";
    }
    if (pending.value === null) {
      return "not-found";
    }
    return approving.value ? "approving" : "ready";
  });

  const error = computed<string | null>(() => {
    switch (phase.value) {
      case "chain-refused":
        return (
          chain.problem.value?.message ??
          "This workspace's trust chain did not verify in your browser: approve nobody."
        );
      case "chain-error":
        return chain.syncError.value;
      case "failed":
        return admin.requestsError.value ?? account.bootError.value;
      default:
        return approveError.value;
    }
  });

  const loadRequests = (): void => {
    if (loadStarted) {
      return;
    }
    loadStarted = true;
    // A failure shows through admin.requestsError.
    void admin.loadRequests().catch(() => undefined);
  };

  return {
    username,
    phase,
    request,
    signer: computed(() => account.user.value?.username ?? null),
    signerIdentity: account.identity,
    chained: computed(() => chain.status.value === "verified" && chain.headSeq.value >= 0),
    error,

    async start(): Promise<void> {
      // The chain store verifies by itself once the account is restored.
      await account.boot();
      if (admin.isAdmin.value) {
        loadRequests();
      }
    },

    async approve(): Promise<void> {
      if (phase.value !== "ready") {
        return;
      }
      const view = pending.value;
      batch(() => {
        approving.value = true;
        approveError.value = null;
      });
      try {
        await admin.approve(username);
        approved.value = view;
      } catch (failure) {
        approveError.value = errorMessage(failure);
      } finally {
        approving.value = false;
      }
    },

    dispose(): void {
      chain.dispose();
    },
  };
}
