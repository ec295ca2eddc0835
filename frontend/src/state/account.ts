/**
 * The account store: who is signed in, whether their keys are unlocked, and
 * every account flow (docs/PROTOCOL.md §5): sign up, log in, unlock, lock,
 * log out, change password, rotate keys, recover, confirm email, invite,
 * export keys.
 *
 * Keys live only here (an `IdentityKeys` object in a closure) and in the
 * key store (`src/protocol/keyStore.ts`, encrypted under a non-extractable
 * WebCrypto key). What the UI reads is signals of plain data: status, user,
 * tenant, and the identity's fingerprint and safety code as strings. Flows
 * throw {@link AccountError}, whose message is a sentence to show as it is.
 *
 * Persist, then emit: keys are stored (or forgotten) before the status that
 * announces them changes.
 */

import { batch, computed, type ReadonlySignal, signal } from "@preact/signals-core";
import {
  encryptForPgpKey,
  exportKeyFile,
  fingerprint,
  forgetUnlockedKeys,
  type IdentityBundleJson,
  type IdentityKeys,
  importKeyFile,
  type LinkHead,
  type LinkJson,
  loadUnlockedKeys,
  makeAdmitLink,
  makeGenesisLink,
  makeInviteLink,
  makeRemoveLink,
  makeRoomAddLink,
  makeRoomCreateLink,
  makeRoomRemoveLink,
  makeSetRoleLink,
  newInvite,
  newRecoveryFor,
  openSealed,
  parseIdentityBundle,
  prepareLogin,
  prepareRecovery,
  prepareRotation,
  prepareSignup,
  RoomKeyring,
  rewrapForPassword,
  safetyCode,
  sealToBoxKey,
  signGenesisDraft as signDraftedGenesis,
  sodiumReady,
  storeUnlockedKeys,
} from "../protocol";
import * as api from "../transport/api";
import { onFreshHead, type SignupChainPlan, signupChainPlan } from "./chainLinks";
import type { AppConfig } from "./config";
import {
  AccountError,
  type ErrorContext,
  emailProblem,
  emailRequired,
  MAX_INVITE_DAYS,
  messageForCode,
  normaliseUsername,
  passwordProblem,
  toAccountError,
  usernameProblem,
} from "./messages";

/**
 * Where the account stands. `loading` only until {@link AccountStore.boot}
 * has asked the server; the three pending states are reached after a signup
 * or a refused login (a pending account has no session).
 */
export type AccountStatus =
  | "loading"
  | "signed-out"
  | "locked"
  | "unlocked"
  | "pending_approval"
  | "pending_email"
  | "rejected";

export type Role = api.Role;
export type UserState = api.UserState;
export type SignupPolicy = api.SignupPolicy;

/** The signed-in person (or the one whose signup is pending). */
export interface AccountUser {
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly state: UserState;
}

/** The tenant, from `GET /api/tenant`. */
export interface TenantInfo {
  readonly slug: string;
  readonly name: string;
  readonly signupPolicy: SignupPolicy;
  readonly allowedDomains: readonly string[];
  /** The trust chain's genesis exists. */
  readonly chainFounded: boolean;
  /** Who may found the chain: an enrolment link's holder, or the first user (demo tenants). */
  readonly founding: "enrolment" | "first_user";
  /** The server's attestation key (b64u) that a genesis names; null if none. */
  readonly serverKey: string | null;
  /** Root seats of a multi-root genesis (0: one root founds it with their signup). */
  readonly rootSeats: number;
  /** The OpenPGP fingerprints the genesis names. */
  readonly genesisPgp: readonly string[];
}

/** What people compare to trust a key: derived from the public signing key only. */
export interface IdentityView {
  /** SHA-256 of the signing key as 64 lower-case hex digits. */
  readonly fingerprint: string;
  /** The same in 16 groups of four. */
  readonly fingerprintGroups: readonly string[];
  /** Twelve symbols, each an emoji and its word. */
  readonly safetyCode: readonly { readonly emoji: string; readonly name: string }[];
}

/** A key file to sign up with, instead of making new keys. */
export interface KeyFileInput {
  readonly text: string;
  readonly passphrase: string;
}

export interface SignUpInput {
  readonly username: string;
  readonly email: string;
  readonly password: string;
  readonly keyFile?: KeyFileInput;
  /** b64u token from a `/signup#t=` link. */
  readonly inviteToken?: string;
  /** The invite's role from the link (`&r=`); default member. */
  readonly inviteRole?: "member" | "admin";
  /** The token of a `/signup#e=` enrolment link: this signup founds the workspace. */
  readonly enrolmentToken?: string;
}

/**
 * A link an admin signs with their own key (PROTOCOL.md §6.2): approve a
 * signup request, change a role, remove a member. `bundle` is the
 * requester's identity bundle exactly as the server gave it.
 */
export type AdminLinkSpec =
  | { readonly type: "admit"; readonly bundle: unknown; readonly role: "member" | "admin" }
  | { readonly type: "set_role"; readonly user: string; readonly role: Role }
  | { readonly type: "remove"; readonly user: string }
  | {
      readonly type: "room_create";
      readonly room: string;
      readonly kind: "channel" | "private" | "dm";
      readonly history: "all" | "joined";
    }
  | {
      readonly type: "room_add";
      readonly room: string;
      readonly user: string;
      readonly role: "admin" | "member";
    }
  | { readonly type: "room_remove"; readonly room: string; readonly user: string };

export interface SignUpResult {
  readonly state: UserState;
  /** Show once, before going on. */
  readonly recoveryCode: string;
}

export interface InviteInput {
  readonly role: "member" | "admin";
  /** Whole days, 1 to {@link MAX_INVITE_DAYS}. */
  readonly days: number;
  /** An armored OpenPGP public key to encrypt the invite to. */
  readonly pgpKey?: string;
}

export interface InviteResult {
  readonly link: string;
  readonly role: Role;
  /** Unix milliseconds. */
  readonly expiresAt: number;
  /** The invite as an armored OpenPGP message, when a key was given. */
  readonly encrypted: string | null;
}

/** The account store: signals to read and flows to call. */
export interface AccountStore {
  readonly status: ReadonlySignal<AccountStatus>;
  /** The signed-in user; null when signed out. */
  readonly user: ReadonlySignal<AccountUser | null>;
  /** The tenant; null until loaded (or if it could not be). */
  readonly tenant: ReadonlySignal<TenantInfo | null>;
  /** The unlocked identity's fingerprint and safety code; null unless unlocked. */
  readonly identity: ReadonlySignal<IdentityView | null>;
  /** Whether the user may invite people (owner or admin). */
  readonly canInvite: ReadonlySignal<boolean>;
  /** Whether "Rotate my keys" is offered: unlocked, on a tenant whose trust chain is founded. */
  readonly canRotateKeys: ReadonlySignal<boolean>;
  /** A recovery code to show once (after signup, recovery or a key rotation); cleared by {@link acknowledgeRecoveryCode}. */
  readonly recoveryCode: ReadonlySignal<string | null>;
  /** The username of a pending signup or a refused login (for "Resend email"). */
  readonly pendingUsername: ReadonlySignal<string | null>;
  /** The email a pending signup gave, if any. */
  readonly pendingEmail: ReadonlySignal<string | null>;
  /** Set when a login was refused because of the account's state: the sentence saying why. */
  readonly refusal: ReadonlySignal<string | null>;
  /** Why the start-up check failed (other than "not signed in"), else null. */
  readonly bootError: ReadonlySignal<string | null>;
  /** Set when this browser could not store the unlocked keys (they last until reload). */
  readonly storageWarning: ReadonlySignal<string | null>;

  /** Ask the server who is signed in and restore the keys from this browser. */
  boot(): Promise<void>;
  signUp(input: SignUpInput): Promise<SignUpResult>;
  logIn(username: string, password: string): Promise<void>;
  /** Log in again as the current user and unlock the keys. */
  unlock(password: string): Promise<void>;
  /** Forget the keys in this browser; the session stays. */
  lock(): Promise<void>;
  logOut(): Promise<void>;
  changePassword(current: string, next: string): Promise<void>;
  /**
   * Replace this identity's keys (PROTOCOL.md §5.5 `rotate-keys`, §6.2
   * `rotate_keys`): new keys under the same password and a new recovery code,
   * which is returned and also shown once through {@link recoveryCode}.
   * Only on a tenant whose chain is founded ({@link canRotateKeys}).
   */
  rotateKeys(currentPassword: string): Promise<string>;
  /** Reset the password with a recovery code; returns the new recovery code (also in {@link recoveryCode}). */
  recover(username: string, code: string, newPassword: string): Promise<string>;
  /** Redeem an emailed token; the same token is sent once even if asked twice. */
  confirmEmail(token: string): Promise<UserState>;
  resendConfirmation(username: string): Promise<void>;
  createInvite(input: InviteInput): Promise<InviteResult>;
  /** The key file text (encrypted under `passphrase`). */
  exportKeys(passphrase: string): Promise<string>;
  /**
   * Sign an admin's link on `head` with this identity's key (the keys never
   * leave this store). Throws {@link AccountError} unless unlocked, or for a
   * requester's bundle that does not verify.
   */
  signAdminLink(spec: AdminLinkSpec, head: LinkHead): LinkJson;
  /**
   * Sign the genesis the server drafted for a multi-root workspace, after
   * checking it names this person's keys and the workspace's server key,
   * policy and PGP keys. Returns the signature (base64url).
   */
  signGenesisDraft(draft: unknown): string;
  /**
   * This person's room keys (epoch keys, sealing and opening messages),
   * bound to the unlocked identity; a new one after a lock or key rotation.
   */
  roomKeyring(): RoomKeyring;
  /** Ask the server for the tenant's facts again (e.g. once its chain is founded). */
  reloadTenant(): Promise<void>;
  /** The person has stored the recovery code: stop showing it. */
  acknowledgeRecoveryCode(): void;
  /** Leave a pending or declined page for the login page. */
  dismissPending(): void;

  /** Test hook: seal `text` to this identity's X25519 key. Throws unless unlocked. */
  sealToOwnKey(text: string): string;
  /** Test hook: open a sealed box with this identity's X25519 key. Throws unless unlocked. */
  openSealedToMe(sealed: string): string;
}

/** Seams; production passes only `origin`. */
export interface AccountOptions {
  /** The page's origin, for invite links, e.g. "https://acme.example.org". */
  readonly origin?: string;
  /**
   * Called before each slow, synchronous derivation (Argon2id takes about a
   * second) so the page can paint "Working…" first. Default: a 30 ms timeout.
   */
  readonly yieldToUi?: () => Promise<void>;
  /**
   * The verified tenant fingerprint (b64u genesis hash), added to invite
   * links as `#fp=` so that newcomers pin it; null when the chain is not
   * verified (the link then has no `fp`).
   */
  readonly tenantFingerprint?: () => string | null;
  /** Called after this store appended to the trust chain (the app refreshes the chain store). */
  readonly onChainChanged?: () => void;
  /** `GET /api/chain/head` (seam for tests). */
  readonly fetchHead?: () => Promise<LinkHead>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PENDING_STATES: readonly string[] = ["pending_approval", "pending_email", "rejected"];

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** 64 hex digits -> 16 groups of four. */
export function fingerprintGroups(hexDigits: string): string[] {
  return hexDigits.match(/.{1,4}/g) ?? [];
}

function identityViewOf(keys: IdentityKeys): IdentityView {
  const digest = fingerprint(keys.signPub);
  const digits = hex(digest);
  return {
    fingerprint: digits,
    fingerprintGroups: fingerprintGroups(digits),
    safetyCode: safetyCode(digest).map(({ emoji, name }) => ({ emoji, name })),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** The file name for an exported key file. */
export function keyFileName(username: string): string {
  return `pipo-keys-${username}.json`;
}

/** Make the account store. Nothing is fetched until {@link AccountStore.boot}. */
export function createAccountStore(config: AppConfig, options: AccountOptions = {}): AccountStore {
  const origin = options.origin ?? "";
  const fetchHead = options.fetchHead ?? api.fetchHead;
  const chainChanged = (): void => {
    try {
      options.onChainChanged?.();
    } catch (error) {
      console.warn("PiPo: could not refresh the trust chain", error);
    }
  };
  const yieldToUi = options.yieldToUi ?? (() => new Promise<void>((resolve) => setTimeout(resolve, 30)));

  const status = signal<AccountStatus>("loading");
  const user = signal<AccountUser | null>(null);
  const tenant = signal<TenantInfo | null>(null);
  const identity = signal<IdentityView | null>(null);
  const recoveryCode = signal<string | null>(null);
  const pendingUsername = signal<string | null>(null);
  const pendingEmail = signal<string | null>(null);
  const refusal = signal<string | null>(null);
  const bootError = signal<string | null>(null);
  const storageWarning = signal<string | null>(null);
  const canInvite = computed(() => {
    const role = user.value?.role;
    return status.value === "unlocked" && (role === "owner" || role === "admin");
  });
  const canRotateKeys = computed(
    () => status.value === "unlocked" && user.value !== null && tenant.value?.chainFounded === true,
  );

  /** The only reference to the unlocked keys. */
  let keys: IdentityKeys | null = null;
  /** Room epoch keys of the unlocked identity (dropped with it). */
  let keyring: RoomKeyring | null = null;
  let keyringKeys: IdentityKeys | null = null;
  const confirmations = new Map<string, Promise<UserState>>();

  const tenantSlug = (): string => tenant.value?.slug || config.tenantSlug;
  const allowedDomains = (): readonly string[] => tenant.value?.allowedDomains ?? [];

  const fail = (error: unknown, context: ErrorContext): AccountError =>
    toAccountError(error, { context, allowedDomains: allowedDomains() });

  const requireKeys = (): IdentityKeys => {
    if (keys === null) {
      throw new AccountError("locked", messageForCode("locked"));
    }
    return keys;
  };

  const requireUser = (): AccountUser => {
    const current = user.value;
    if (current === null) {
      throw new AccountError("not_authenticated", messageForCode("not_authenticated"));
    }
    return current;
  };

  const checkedUsername = (typed: string): string => {
    const username = normaliseUsername(typed);
    const problem = usernameProblem(username);
    if (problem !== null) {
      throw new AccountError("invalid_username", problem);
    }
    return username;
  };

  const checkedNewPassword = (password: string): void => {
    const problem = passwordProblem(password);
    if (problem !== null) {
      throw new AccountError("invalid_password", problem);
    }
  };

  const requireEntered = (password: string): void => {
    if (password === "") {
      throw new AccountError("missing_password", "Enter your password.");
    }
  };

  /** Clear everything about the current person from memory (not the key store). */
  const clearMemory = (): void => {
    keys = null;
    keyring = null;
    keyringKeys = null;
    batch(() => {
      user.value = null;
      identity.value = null;
      recoveryCode.value = null;
      pendingUsername.value = null;
      pendingEmail.value = null;
      refusal.value = null;
      storageWarning.value = null;
    });
  };

  /** The session ended under us (401): back to signed out. */
  const sessionEnded = async (): Promise<void> => {
    await forgetUnlockedKeys().catch(() => undefined);
    clearMemory();
    status.value = "signed-out";
  };

  /** Keep `unlocked` for `who`: store, then announce. */
  const becomeUnlocked = async (
    unlocked: IdentityKeys,
    who: AccountUser,
    codeToShow: string | null = null,
  ): Promise<void> => {
    let warning: string | null = null;
    try {
      await storeUnlockedKeys(unlocked, { tenant: tenantSlug(), username: who.username });
    } catch (error) {
      console.warn("PiPo: could not store the unlocked keys in this browser", error);
      warning = messageForCode("storage_unavailable");
    }
    keys = unlocked;
    batch(() => {
      user.value = who;
      identity.value = identityViewOf(unlocked);
      recoveryCode.value = codeToShow;
      pendingUsername.value = null;
      pendingEmail.value = null;
      refusal.value = null;
      bootError.value = null;
      storageWarning.value = warning;
      status.value = "unlocked";
    });
  };

  /** A pending or declined account: no session, no keys kept. */
  const becomePending = (
    state: "pending_approval" | "pending_email" | "rejected",
    username: string,
    extra: { email?: string; refusal?: string; recoveryCode?: string } = {},
  ): void => {
    keys = null;
    keyring = null;
    batch(() => {
      user.value = null;
      identity.value = null;
      pendingUsername.value = username;
      pendingEmail.value = extra.email ?? null;
      refusal.value = extra.refusal ?? null;
      recoveryCode.value = extra.recoveryCode ?? null;
      status.value = state;
    });
  };

  /** prelogin -> Argon2id -> login -> unwrap -> store. */
  const logInAs = async (username: string, password: string, context: ErrorContext): Promise<void> => {
    await sodiumReady();
    const { kdf } = await api.prelogin(username);
    await yieldToUi();
    const prepared = prepareLogin(password, kdf);
    let session: api.SessionJson;
    try {
      session = await api.login(username, prepared.authKey);
    } catch (error) {
      if (error instanceof api.ApiError && PENDING_STATES.includes(error.code)) {
        await forgetUnlockedKeys().catch(() => undefined);
        becomePending(error.code as "pending_approval" | "pending_email" | "rejected", username, {
          refusal: messageForCode(error.code),
        });
        return;
      }
      throw error;
    }
    let unlocked: IdentityKeys;
    try {
      unlocked = prepared.unlock({
        wrappedKeys: session.wrappedKeys,
        identityBundle: session.identityBundle,
        tenant: tenantSlug(),
        username: session.user.username,
      });
    } catch (error) {
      // Logged in, but the backup would not open: signed in and locked.
      keys = null;
      keyring = null;
      batch(() => {
        user.value = session.user;
        identity.value = null;
        status.value = "locked";
      });
      throw fail(error, context);
    }
    await becomeUnlocked(unlocked, session.user);
  };

  /** POST the signup with the link its plan asks for (an admit on a fresh head, retried once). */
  const signupWithPlan = async (
    plan: SignupChainPlan,
    body: api.SignupBody,
    newKeys: IdentityKeys,
    info: TenantInfo | null,
  ): Promise<api.SignupAnswer> => {
    const slug = tenantSlug();
    const bundle = body.identityBundle as IdentityBundleJson;
    switch (plan.kind) {
      case "none":
        return api.signup(body);
      case "seat":
        return api.signup({ ...body, enrolmentToken: plan.enrolmentToken });
      case "genesis": {
        const chainLink = makeGenesisLink({
          tenant: slug,
          ts: Date.now(),
          keys: newKeys,
          bundle,
          policy: { mode: info?.signupPolicy ?? "invite", domains: info?.allowedDomains ?? [] },
          serverKey: info?.serverKey ?? "",
          pgp: info?.genesisPgp ?? [],
        });
        return api.signup({
          ...body,
          chainLink,
          ...(plan.enrolmentToken === undefined ? {} : { enrolmentToken: plan.enrolmentToken }),
        });
      }
      case "admit":
        return onFreshHead(fetchHead, (head) =>
          api.signup({
            ...body,
            chainLink: makeAdmitLink({
              tenant: slug,
              head,
              ts: Date.now(),
              keys: newKeys,
              bundle,
              role: plan.role,
              how: plan.how,
              ...(plan.token === undefined ? {} : { token: plan.token }),
            }),
          }),
        );
    }
  };

  const store: AccountStore = {
    status,
    user,
    tenant,
    identity,
    canInvite,
    canRotateKeys,
    recoveryCode,
    pendingUsername,
    pendingEmail,
    refusal,
    bootError,
    storageWarning,

    async boot(): Promise<void> {
      bootError.value = null;
      const tenantLoaded = api.getTenant().then(
        (info) => {
          tenant.value = info;
        },
        (error: unknown) => {
          console.warn("PiPo: could not load the tenant", error);
        },
      );
      let session: api.SessionJson | null = null;
      let signedOut = config.authenticated === false;
      if (!signedOut) {
        try {
          session = await api.me();
        } catch (error) {
          if (error instanceof api.ApiError && error.status === 401) {
            signedOut = true;
          } else {
            bootError.value = toAccountError(error, { context: "boot" }).message;
          }
        }
      }
      await tenantLoaded;
      if (session === null) {
        if (signedOut) {
          // No session (it expired, or ended elsewhere): keys left in this
          // browser belong to nobody signed in here. A network failure keeps them.
          await forgetUnlockedKeys().catch(() => undefined);
        }
        clearMemory();
        status.value = "signed-out";
        return;
      }
      const who = session.user;
      let restored: IdentityKeys | null = null;
      try {
        await sodiumReady();
        const bundle = parseIdentityBundle(session.identityBundle);
        restored = await loadUnlockedKeys({ tenant: tenantSlug(), username: who.username });
        if (
          restored !== null &&
          !(sameBytes(restored.signPub, bundle.signPub) && sameBytes(restored.boxPub, bundle.boxPub))
        ) {
          // Keys of an older identity of this user: never use them.
          await forgetUnlockedKeys().catch(() => undefined);
          restored = null;
        }
      } catch (error) {
        console.warn("PiPo: could not restore the keys", error);
        restored = null;
      }
      if (restored !== null) {
        keys = restored;
        batch(() => {
          user.value = who;
          identity.value = identityViewOf(restored);
          status.value = "unlocked";
        });
      } else {
        keys = null;
        keyring = null;
        batch(() => {
          user.value = who;
          identity.value = null;
          status.value = "locked";
        });
      }
    },

    async signUp(input: SignUpInput): Promise<SignUpResult> {
      try {
        const username = checkedUsername(input.username);
        const email = input.email.trim();
        // The chain decides what this signup carries: ask the server afresh
        // (the chain may have been founded since the page loaded).
        let info = tenant.value;
        try {
          info = await api.getTenant();
          tenant.value = info;
        } catch (error) {
          console.warn("PiPo: could not reload the tenant before signing up", error);
        }
        const plan = signupChainPlan({
          tenant: info,
          enrolmentToken: input.enrolmentToken,
          inviteToken: input.inviteToken,
          inviteRole: input.inviteRole,
        });
        const invited = input.inviteToken !== undefined;
        const emailIssue = emailProblem(email, {
          required: emailRequired(
            info?.signupPolicy ?? null,
            invited || plan.kind === "genesis" || plan.kind === "seat",
          ),
          policy: info?.signupPolicy ?? null,
          allowedDomains: allowedDomains(),
          invited: invited || plan.kind === "genesis" || plan.kind === "seat",
        });
        if (emailIssue !== null) {
          throw new AccountError("invalid_email", emailIssue);
        }
        checkedNewPassword(input.password);
        if (plan.kind === "genesis" && !info?.serverKey) {
          throw new AccountError(
            "no_server_key",
            "This workspace cannot be set up yet: the server has no signing key for it. Ask the server's operator.",
          );
        }
        await sodiumReady();
        let imported: IdentityKeys | undefined;
        if (input.keyFile !== undefined) {
          if (input.keyFile.text.trim() === "") {
            throw new AccountError("malformed_key_file", messageForCode("malformed_key_file"));
          }
          await yieldToUi();
          imported = importKeyFile(input.keyFile.text, input.keyFile.passphrase);
        }
        await yieldToUi();
        const prepared = prepareSignup({
          tenant: tenantSlug(),
          username,
          password: input.password,
          created: Date.now(),
          ...(imported === undefined ? {} : { keys: imported }),
        });
        const body: api.SignupBody = {
          username,
          email,
          kdf: prepared.kdf,
          authKey: prepared.authKey,
          identityBundle: prepared.identityBundle,
          wrappedKeys: prepared.wrappedKeys,
          recovery: { authKey: prepared.recovery.authKey, wrappedKeys: prepared.recovery.wrappedKeys },
          ...(input.inviteToken === undefined ? {} : { inviteToken: input.inviteToken }),
        };
        const answer = await signupWithPlan(plan, body, prepared.keys, info);
        if (plan.kind === "genesis" && info !== null) {
          tenant.value = { ...info, chainFounded: true };
        }
        if (answer.state === "active") {
          await becomeUnlocked(prepared.keys, answer.user, prepared.recoveryCode);
          if (plan.kind !== "none") {
            chainChanged();
          }
        } else {
          await forgetUnlockedKeys().catch(() => undefined);
          becomePending(answer.state, answer.user.username, {
            email: answer.user.email || email,
            recoveryCode: prepared.recoveryCode,
          });
        }
        return { state: answer.state, recoveryCode: prepared.recoveryCode };
      } catch (error) {
        throw fail(error, "signup");
      }
    },

    async logIn(typedUsername: string, password: string): Promise<void> {
      try {
        const username = checkedUsername(typedUsername);
        requireEntered(password);
        await logInAs(username, password, "login");
      } catch (error) {
        throw fail(error, "login");
      }
    },

    async unlock(password: string): Promise<void> {
      try {
        const who = requireUser();
        requireEntered(password);
        await logInAs(who.username, password, "unlock");
      } catch (error) {
        throw fail(error, "unlock");
      }
    },

    async lock(): Promise<void> {
      try {
        await forgetUnlockedKeys();
      } catch (error) {
        console.warn("PiPo: could not delete the stored keys", error);
      }
      keys = null;
      keyring = null;
      batch(() => {
        identity.value = null;
        recoveryCode.value = null;
        storageWarning.value = null;
        status.value = user.value === null ? "signed-out" : "locked";
      });
    },

    async logOut(): Promise<void> {
      try {
        await api.logout();
      } catch (error) {
        console.warn("PiPo: the server did not confirm the logout", error);
      }
      await forgetUnlockedKeys().catch(() => undefined);
      clearMemory();
      status.value = "signed-out";
    },

    async changePassword(current: string, next: string): Promise<void> {
      try {
        const who = requireUser();
        const unlocked = requireKeys();
        if (current === "") {
          throw new AccountError("missing_password", "Enter your current password.");
        }
        checkedNewPassword(next);
        await sodiumReady();
        const { kdf } = await api.prelogin(who.username);
        await yieldToUi();
        const currentKey = prepareLogin(current, kdf).authKey;
        await yieldToUi();
        const rewrapped = rewrapForPassword(unlocked, next, tenantSlug(), who.username);
        await api.changePassword({
          authKey: currentKey,
          newKdf: rewrapped.kdf,
          newAuthKey: rewrapped.authKey,
          newWrappedKeys: rewrapped.wrappedKeys,
        });
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) {
          await sessionEnded();
        }
        throw fail(error, "password");
      }
    },

    async rotateKeys(currentPassword: string): Promise<string> {
      try {
        const who = requireUser();
        const current = requireKeys();
        if (tenant.value?.chainFounded !== true) {
          throw new AccountError("genesis_required", messageForCode("genesis_required"));
        }
        requireEntered(currentPassword);
        await sodiumReady();
        const { kdf } = await api.prelogin(who.username);
        await yieldToUi();
        const authKey = prepareLogin(currentPassword, kdf).authKey;
        const slug = tenantSlug();
        // A link built on a head someone has since extended: fetch it again and sign once more.
        const { session, prepared } = await onFreshHead(fetchHead, async (head) => {
          await yieldToUi();
          const rotation = prepareRotation({
            tenant: slug,
            username: who.username,
            currentKeys: current,
            password: currentPassword,
            head,
            ts: Date.now(),
          });
          const answer = await api.rotateKeys({
            authKey,
            rotateLink: rotation.rotateLink,
            newKdf: rotation.kdf,
            newAuthKey: rotation.authKey,
            newWrappedKeys: rotation.wrappedKeys,
            newRecovery: rotation.recovery,
          });
          return { session: answer, prepared: rotation };
        });
        // The server now holds only the new keys: keep them, and show the new recovery code once.
        await becomeUnlocked(prepared.newKeys, session.user, prepared.recoveryCode);
        chainChanged();
        return prepared.recoveryCode;
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) {
          await sessionEnded();
        }
        throw fail(error, "rotate");
      }
    },

    async recover(typedUsername: string, code: string, newPassword: string): Promise<string> {
      try {
        const username = checkedUsername(typedUsername);
        if (code.trim() === "") {
          throw new AccountError("bad_recovery_code", "Enter your recovery code.");
        }
        checkedNewPassword(newPassword);
        await sodiumReady();
        const recovery = prepareRecovery(code);
        const answer = await api.recoveryUnlock(username, recovery.authKey);
        const slug = tenantSlug();
        const who = answer.user.username;
        const unlocked = recovery.unlock({
          wrappedKeys: answer.recoveryWrappedKeys,
          identityBundle: answer.identityBundle,
          tenant: slug,
          username: who,
        });
        await yieldToUi();
        const rewrapped = rewrapForPassword(unlocked, newPassword, slug, who);
        const fresh = newRecoveryFor(unlocked, slug, who);
        const session = await api.recoveryReset({
          username: who,
          recoveryAuthKey: recovery.authKey,
          newKdf: rewrapped.kdf,
          newAuthKey: rewrapped.authKey,
          newWrappedKeys: rewrapped.wrappedKeys,
          newRecovery: { authKey: fresh.authKey, wrappedKeys: fresh.wrappedKeys },
        });
        await becomeUnlocked(unlocked, session.user, fresh.recoveryCode);
        return fresh.recoveryCode;
      } catch (error) {
        throw fail(error, "recover");
      }
    },

    confirmEmail(token: string): Promise<UserState> {
      const known = confirmations.get(token);
      if (known !== undefined) {
        return known;
      }
      const attempt = (async (): Promise<UserState> => {
        try {
          if (token.trim() === "") {
            throw new AccountError("invalid_token", messageForCode("invalid_token"));
          }
          return (await api.confirmEmail(token)).state;
        } catch (error) {
          throw fail(error, "confirm");
        }
      })();
      confirmations.set(token, attempt);
      return attempt;
    },

    async resendConfirmation(typedUsername: string): Promise<void> {
      try {
        await api.resendConfirmation(checkedUsername(typedUsername));
      } catch (error) {
        throw fail(error, "resend");
      }
    },

    async createInvite(input: InviteInput): Promise<InviteResult> {
      try {
        requireUser();
        if (!canInvite.value) {
          throw new AccountError("forbidden", "Only the workspace's owners and admins can invite people.");
        }
        if (!Number.isInteger(input.days) || input.days < 1 || input.days > MAX_INVITE_DAYS) {
          throw new AccountError("invalid_expiry", messageForCode("invalid_expiry"));
        }
        await sodiumReady();
        const { token, tokenHash } = newInvite();
        const pinned = options.tenantFingerprint?.() ?? null;
        const link = `${origin}/signup#t=${token}&r=${input.role}${pinned === null ? "" : `&fp=${pinned}`}`;
        const expiresAt = Date.now() + input.days * DAY_MS;
        const pgpKey = input.pgpKey?.trim() ?? "";
        // Encrypt first: a bad key then stores no invite on the server.
        const encrypted =
          pgpKey === "" ? null : await encryptForPgpKey(inviteText(link, expiresAt, config), pgpKey);
        const signer = requireKeys();
        let chained = false;
        const invite = await onFreshHead(fetchHead, (head) => {
          // A tenant with a genesis takes the invite only with the admin's signed invite link.
          chained = head.seq >= 0;
          const inviteLink = chained
            ? makeInviteLink({
                tenant: tenantSlug(),
                head,
                ts: Math.min(Date.now(), expiresAt - 1),
                keys: signer,
                tokenHash,
                role: input.role,
                expires: expiresAt,
              })
            : undefined;
          return api.createInvite({
            tokenHash,
            role: input.role,
            expiresAt,
            ...(inviteLink === undefined ? {} : { inviteLink }),
          });
        });
        if (chained) {
          chainChanged();
        }
        return { link, role: invite.role, expiresAt: invite.expiresAt, encrypted };
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 401) {
          await sessionEnded();
        }
        throw fail(error, "invite");
      }
    },

    async exportKeys(passphrase: string): Promise<string> {
      try {
        const unlocked = requireKeys();
        if ([...passphrase].length < 10) {
          throw new AccountError("invalid_password", "A key file passphrase needs at least 10 characters.");
        }
        await sodiumReady();
        await yieldToUi();
        return exportKeyFile(unlocked, passphrase);
      } catch (error) {
        throw fail(error, "export");
      }
    },

    async reloadTenant(): Promise<void> {
      tenant.value = await api.getTenant();
    },

    signGenesisDraft(draft: unknown): string {
      const signer = requireKeys();
      const info = tenant.value;
      if (info === null || info.serverKey === null) {
        throw new AccountError("genesis_not_ready", "The workspace's details are not loaded yet.");
      }
      try {
        return signDraftedGenesis(
          draft,
          {
            tenant: tenantSlug(),
            serverKey: info.serverKey,
            policy: { mode: info.signupPolicy, domains: info.allowedDomains },
            pgp: info.genesisPgp,
          },
          signer,
        );
      } catch (error) {
        throw toAccountError(error, { context: "admin" });
      }
    },

    signAdminLink(spec: AdminLinkSpec, head: LinkHead): LinkJson {
      const signer = requireKeys();
      const context = { tenant: tenantSlug(), head, ts: Date.now(), keys: signer };
      switch (spec.type) {
        case "admit": {
          // Sign only a bundle that verifies and belongs here; carry it exactly as received.
          let parsed: ReturnType<typeof parseIdentityBundle>;
          try {
            parsed = parseIdentityBundle(spec.bundle);
          } catch (error) {
            throw toAccountError(error, { context: "admin" });
          }
          if (parsed.tenant !== context.tenant) {
            throw new AccountError("bundle_mismatch", "This request's keys are for another workspace.");
          }
          return makeAdmitLink({
            ...context,
            bundle: spec.bundle as Record<string, unknown>,
            role: spec.role,
            how: "approval",
          });
        }
        case "set_role":
          return makeSetRoleLink({ ...context, user: spec.user, role: spec.role });
        case "remove":
          return makeRemoveLink({ ...context, user: spec.user });
        case "room_create":
          return makeRoomCreateLink({ ...context, room: spec.room, kind: spec.kind, history: spec.history });
        case "room_add":
          return makeRoomAddLink({ ...context, room: spec.room, user: spec.user, role: spec.role });
        case "room_remove":
          return makeRoomRemoveLink({ ...context, room: spec.room, user: spec.user });
      }
    },

    roomKeyring(): RoomKeyring {
      const signer = requireKeys();
      const who = user.value;
      if (who === null) {
        throw new AccountError("locked", messageForCode("locked"));
      }
      if (keyring === null || keyring.me !== who.username || keyringKeys !== signer) {
        keyring = new RoomKeyring(tenantSlug(), who.username, signer);
        keyringKeys = signer;
      }
      return keyring;
    },

    acknowledgeRecoveryCode(): void {
      recoveryCode.value = null;
    },

    dismissPending(): void {
      if (PENDING_STATES.includes(status.value)) {
        clearMemory();
        status.value = "signed-out";
      }
    },

    sealToOwnKey(text: string): string {
      return sealToBoxKey(requireKeys().boxPub, text);
    },

    openSealedToMe(sealed: string): string {
      return openSealed(requireKeys(), sealed);
    },
  };
  return store;
}

/** The plaintext of a PGP-encrypted invite. */
export function inviteText(link: string, expiresAt: number, config: Pick<AppConfig, "tenantName">): string {
  const workspace =
    config.tenantName.trim() === "" ? "a PiPo workspace" : `${config.tenantName.trim()} on PiPo`;
  const until = new Date(expiresAt).toISOString().slice(0, 10);
  return [
    `You are invited to join ${workspace}.`,
    "",
    `Open this link to create your account (it works once, until ${until}):`,
    link,
    "",
  ].join("\n");
}
