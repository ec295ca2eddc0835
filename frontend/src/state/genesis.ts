/**
 * Founding a workspace with several root admins (PROTOCOL.md §6.8): each
 * root enrols with their own link, the server drafts the genesis once all
 * have, and each root checks the draft, compares the other roots' safety
 * codes and signs. The last signature founds the chain. This store shows
 * where that stands and signs through the account store (which holds the
 * keys); it polls while it waits for the other roots.
 */

import { batch, computed, type ReadonlySignal, signal } from "@preact/signals-core";
import { fingerprint, parseIdentityBundle, safetyCode, sodiumReady } from "../protocol";
import * as api from "../transport/api";
import type { AccountStore } from "./account";
import { AccountError, messageForCode, toAccountError } from "./messages";

/** One root admin as the founding page lists them. */
export interface GenesisRootView {
  readonly username: string;
  readonly isMe: boolean;
  readonly signed: boolean;
  readonly safetyCode: readonly { readonly emoji: string; readonly name: string }[];
}

/** Where the founding stands. */
export interface GenesisDraftView {
  readonly rootsTotal: number;
  readonly enrolled: readonly string[];
  /** The roots in the genesis's order; empty until everyone has enrolled. */
  readonly roots: readonly GenesisRootView[];
  readonly signedByMe: boolean;
  readonly founded: boolean;
}

export interface GenesisStore {
  /** null: not loaded, or this person holds no root seat. */
  readonly draft: ReadonlySignal<GenesisDraftView | null>;
  readonly error: ReadonlySignal<string | null>;
  /** Whether this person is a root of a workspace still being founded. */
  readonly pending: ReadonlySignal<boolean>;
  /** Load (or reload) the draft; a 404 means "no seat" and clears it. */
  load(): Promise<void>;
  /** Check the draft, sign it and send the signature. */
  sign(): Promise<void>;
  /** Poll every `intervalMs` until the genesis exists; returns the stop function. */
  watch(intervalMs?: number): () => void;
}

export function createGenesisStore(account: AccountStore, options: { readonly onFounded?: () => void } = {}) {
  const draft = signal<GenesisDraftView | null>(null);
  const error = signal<string | null>(null);
  let raw: unknown = null;

  const view = (answer: api.GenesisDraftJson): GenesisDraftView => {
    const me = account.user.value?.username ?? "";
    const body = (answer.draft as { body?: { roots?: unknown[] } } | null)?.body;
    const roots = (body?.roots ?? []).map((root): GenesisRootView => {
      const bundle = parseIdentityBundle(root);
      return {
        username: bundle.user,
        isMe: bundle.user === me,
        signed: answer.signed.includes(bundle.user),
        safetyCode: safetyCode(fingerprint(bundle.signPub)).map(({ emoji, name }) => ({ emoji, name })),
      };
    });
    return {
      rootsTotal: answer.rootsTotal,
      enrolled: answer.enrolled,
      roots,
      signedByMe: answer.signed.includes(me),
      founded: answer.founded,
    };
  };

  const founded = async (): Promise<void> => {
    if (account.tenant.value?.chainFounded !== true) {
      await account.reloadTenant().catch(() => undefined);
      options.onFounded?.();
    }
  };

  const store = {
    draft,
    error,
    pending: computed(() => draft.value !== null && !draft.value.founded),

    async load(): Promise<void> {
      try {
        await sodiumReady();
        const answer = await api.getGenesisDraft();
        raw = answer.draft;
        batch(() => {
          draft.value = view(answer);
          error.value = null;
        });
        if (answer.founded) {
          await founded();
        }
      } catch (caught) {
        if (caught instanceof api.ApiError && caught.status === 404) {
          draft.value = null;
          return;
        }
        error.value = toAccountError(caught, { context: "admin" }).message;
      }
    },

    async sign(): Promise<void> {
      try {
        await store.load();
        if (raw === null) {
          throw new AccountError("genesis_not_ready", messageForCode("genesis_not_ready"));
        }
        const sig = account.signGenesisDraft(raw);
        const answer = await api.signGenesisDraft(sig);
        await store.load();
        if (answer.founded) {
          await founded();
        }
      } catch (caught) {
        const failure = toAccountError(caught, { context: "admin" });
        error.value = failure.message;
        throw failure;
      }
    },

    watch(intervalMs = 3000): () => void {
      const timer = setInterval(() => {
        if (draft.value === null || draft.value.founded) {
          clearInterval(timer);
          return;
        }
        void store.load();
      }, intervalMs);
      return () => clearInterval(timer);
    },
  };
  return store satisfies GenesisStore;
}
