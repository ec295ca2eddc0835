/**
 * What people read: input checks and every error turned into a sentence.
 * Pure functions, so they are tested without a server or a browser.
 */

import { ProtocolError } from "../protocol";
import { ApiError, type SignupPolicy } from "../transport/api";

/** The username rule of docs/PROTOCOL.md §3.1 (after lower-casing). */
export const USERNAME_RULE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const PASSWORD_MIN_CHARS = 10;
export const PASSWORD_MAX_CHARS = 1024;
/** The server refuses invites that live longer (accounts/actions.py: MAX_INVITE_LIFETIME). */
export const MAX_INVITE_DAYS = 90;

/**
 * A failure of an account flow, already worded for people: show `message`
 * as it is. `code` is the stable reason (the server's or the protocol's).
 */
export class AccountError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "AccountError";
    this.code = code;
  }
}

/** What a person was doing, which changes a few sentences. */
export type ErrorContext =
  | "login"
  | "unlock"
  | "signup"
  | "recover"
  | "password"
  | "rotate"
  | "confirm"
  | "resend"
  | "invite"
  | "export"
  | "admin"
  | "boot";

/** Facts some sentences mention. */
export interface MessageFacts {
  readonly context?: ErrorContext;
  readonly retryAfter?: number;
  readonly allowedDomains?: readonly string[];
  readonly status?: number;
}

/** The username as the server knows it: what was typed, trimmed and lower-cased. */
export function normaliseUsername(typed: string): string {
  return typed.trim().toLowerCase();
}

/** Why `username` (already normalised) is not acceptable, or null. */
export function usernameProblem(username: string): string | null {
  if (username === "") {
    return "Enter a username.";
  }
  if (!USERNAME_RULE.test(username)) {
    return "A username has 1 to 64 characters: letters a–z, digits, “.”, “_” or “-”, and starts with a letter or digit.";
  }
  return null;
}

/** Length in characters as people count them (code points, not UTF-16 units). */
function characters(text: string): number {
  return [...text].length;
}

/** Why `password` cannot be a new password, or null. */
export function passwordProblem(password: string): string | null {
  const length = characters(password);
  if (length < PASSWORD_MIN_CHARS) {
    return `A password needs at least ${PASSWORD_MIN_CHARS} characters.`;
  }
  if (length > PASSWORD_MAX_CHARS) {
    return "A password can have at most 1,024 characters.";
  }
  return null;
}

/** Checks a new password and its repetition; null when both are fine. */
export function newPasswordProblem(password: string, repeat: string): string | null {
  return passwordProblem(password) ?? (password === repeat ? null : "The two passwords do not match.");
}

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  if (items.length <= 1) {
    return items[0] ?? "";
  }
  return `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

/** Whether signup under `policy` asks for an email address (without an invite). */
export function emailRequired(policy: SignupPolicy | null, invited: boolean): boolean {
  return !invited && (policy === "approval" || policy === "domain");
}

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Why `email` will not do for this signup, or null. */
export function emailProblem(
  email: string,
  options: {
    required: boolean;
    policy: SignupPolicy | null;
    allowedDomains: readonly string[];
    invited: boolean;
  },
): string | null {
  const trimmed = email.trim();
  if (trimmed === "") {
    return options.required ? "Enter your email address." : null;
  }
  if (!EMAIL_SHAPE.test(trimmed)) {
    return "That email address does not look right.";
  }
  if (options.policy === "domain" && !options.invited && options.allowedDomains.length > 0) {
    const domain = trimmed.slice(trimmed.lastIndexOf("@") + 1).toLowerCase();
    if (!options.allowedDomains.some((allowed) => allowed.toLowerCase() === domain)) {
      return domainMessage(options.allowedDomains);
    }
  }
  return null;
}

function domainMessage(allowedDomains: readonly string[] | undefined): string {
  return allowedDomains !== undefined && allowedDomains.length > 0
    ? `Only addresses at ${orList(allowedDomains)} can join this workspace.`
    : "Addresses at that domain cannot join this workspace.";
}

/** What a signup policy means, in a few words. */
export function policyText(policy: SignupPolicy, allowedDomains: readonly string[]): string {
  switch (policy) {
    case "open":
      return "Anyone can join";
    case "approval":
      return "An administrator approves new accounts";
    case "domain":
      return allowedDomains.length > 0
        ? `Only addresses at ${orList(allowedDomains)}`
        : "Only addresses at approved domains";
    case "invite":
      return "Invitation only";
  }
}

/** "1 minute", "3 minutes" for a wait in seconds (at least one minute). */
export function minutesText(seconds: number | undefined): string {
  const minutes = Math.max(1, Math.ceil((seconds ?? 60) / 60));
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** The sentence for a stable error code (server or protocol). */
export function messageForCode(code: string, facts: MessageFacts = {}): string {
  const context = facts.context;
  switch (code) {
    // Server: login, recovery, throttling.
    case "invalid_credentials":
      return context === "recover"
        ? "Wrong username or recovery code."
        : context === "rotate"
          ? "The password is wrong."
          : context === "unlock" || context === "password"
            ? "Wrong password."
            : "Wrong username or password.";
    case "throttled":
      return `Too many attempts. Try again in ${minutesText(facts.retryAfter)}.`;
    case "not_authenticated":
      return "You are signed out. Please log in again.";
    case "pending_approval":
      return "Your account is waiting for an administrator's approval.";
    case "pending_email":
      return "Please confirm your email address first: open the link we emailed you.";
    case "rejected":
      return "Your request to join was declined.";
    // Server: signup.
    case "username_taken":
      return "That username is taken. Please choose another one.";
    case "invalid_username":
      return usernameProblem("!") ?? "That username is not allowed.";
    case "invalid_email":
      return "That email address does not look right.";
    case "domain_not_allowed":
      return domainMessage(facts.allowedDomains);
    case "invite_required":
      return "This workspace is invitation only: you need an invite link to join.";
    case "invite_invalid":
      return "This invite link is not valid. Please ask for a new one.";
    case "invite_expired":
      return "This invite has expired.";
    case "invite_used":
      return "This invite has already been used.";
    // Server: email confirmation.
    case "invalid_token":
      return "This confirmation link is not valid. It may have been used already, or replaced by a newer one.";
    case "token_expired":
      return "This confirmation link has expired. Log in to get a new one.";
    // Server: shapes the client made (a bug if they ever show).
    case "invalid_request":
    case "invalid_kdf":
    case "malformed_bundle":
    case "bad_signature":
    case "bundle_mismatch":
    case "malformed_wrapped_keys":
      return `Something went wrong (${code}). Please reload the page and try again.`;
    // Server: permissions and sizes.
    case "permission_denied":
    case "forbidden":
      return "You are not allowed to do that.";
    case "not_found":
      return "That was not found.";
    case "too_large":
    case "request_too_large":
      return "That is too large to send.";
    case "invalid_role":
      return "Choose Member or Admin as the invite's role.";
    case "invalid_expiry":
      return `An invite is valid for 1 to ${MAX_INVITE_DAYS} days.`;
    case "internal_error":
      return "The server had a problem. Please try again in a moment.";
    // Trust chain (PROTOCOL.md §6.4) and the flows that append to it.
    case "last_owner":
      return "A workspace must keep at least one owner.";
    case "unauthorized":
      return "You may not do that.";
    case "not_member":
      return "That person is not a member of this workspace any more.";
    case "already_member":
      return "That person is already a member of this workspace.";
    case "key_in_use":
      return context === "rotate"
        ? "The new keys are already in use in this workspace. Please try again."
        : "Those keys already belong to a member of this workspace.";
    case "rotation_not_signed_by_old_key":
      return "The server refused the key change: the keys in this browser are no longer your current keys. Log out, log in again and try once more.";
    case "policy_forbids":
      return "This workspace's signup policy does not allow that.";
    case "seq_gap":
    case "wrong_prev":
    case "ts_backwards":
      return "Someone changed the workspace's membership at the same moment. Please try again.";
    case "clock_skew":
      return "This device's clock is off by more than five minutes. Set it right and try again.";
    case "duplicate_genesis":
      return "This workspace has already been set up: this setup link cannot be used any more.";
    case "enrolment_required":
      return "Only the setup link from the server's operator can set up this workspace.";
    case "genesis_required":
      return "This workspace's signed membership chain has not been set up yet.";
    case "enrolment_used":
      return "This setup link has already been used. Each root admin has their own link.";
    case "genesis_not_ready":
      return "Not every root admin has enrolled yet: you can sign once they have.";
    case "admit_required":
    case "invite_link_required":
    case "malformed_link":
    case "wrong_tenant":
      return `Something went wrong (${code}). Please reload the page and try again.`;
    case "removed":
      return "You were removed from this workspace.";
    // Transport.
    case "network":
      return "Cannot reach the server. Check your connection and try again.";
    case "bad_response":
      return "The server gave an unexpected answer. Please try again.";
    // Protocol (in this browser).
    case "unwrap_failed":
      return context === "signup"
        ? "Wrong key file passphrase."
        : context === "recover"
          ? "That recovery code does not unlock this account."
          : "Your keys could not be unlocked with this password.";
    case "keys_mismatch":
      return "The keys stored for this account do not match its identity. Please contact an administrator.";
    case "bad_password":
      return `A password has ${PASSWORD_MIN_CHARS} to 1,024 characters.`;
    case "bad_recovery_code":
      return "That is not a recovery code: it has 32 letters and digits, in groups of four.";
    case "malformed_key_file":
      return "That file is not a PiPo key file.";
    case "bad_pgp_key":
      return "That is not an OpenPGP public key. Paste the whole armored key, including its BEGIN and END lines.";
    case "storage_unavailable":
      return "This browser cannot store your keys. They stay unlocked only until you close or reload this page.";
    case "locked":
      return "PiPo is locked. Unlock it with your password first.";
    default:
      return genericMessage(code, facts.status);
  }
}

function genericMessage(code: string, status: number | undefined): string {
  if (status === 403 && code === "http_403") {
    // Django's CSRF failure page, or a proxy: no PiPo error body.
    return "The server refused the request. Please reload the page and try again.";
  }
  if (status !== undefined && status >= 500) {
    return "The server had a problem. Please try again in a moment.";
  }
  if (status === 429) {
    return "Too many attempts. Please wait a little and try again.";
  }
  return `Something went wrong (${code}). Please try again.`;
}

/** The sentence for any error a flow can meet. */
export function errorMessage(error: unknown, facts: MessageFacts = {}): string {
  if (error instanceof AccountError) {
    return error.message;
  }
  if (error instanceof ApiError) {
    const withApi: MessageFacts = { ...facts, status: error.status };
    return messageForCode(
      error.code,
      error.retryAfter === undefined ? withApi : { ...withApi, retryAfter: error.retryAfter },
    );
  }
  if (error instanceof ProtocolError) {
    return messageForCode(error.code, facts);
  }
  return "Something went wrong. Please try again.";
}

/** The stable code of any error, for branching. */
export function errorCode(error: unknown): string {
  if (error instanceof AccountError || error instanceof ApiError || error instanceof ProtocolError) {
    return error.code;
  }
  return "unknown";
}

/** Wrap any error as an {@link AccountError} worded for people. */
export function toAccountError(error: unknown, facts: MessageFacts = {}): AccountError {
  if (error instanceof AccountError) {
    return error;
  }
  if (!(error instanceof ApiError || error instanceof ProtocolError)) {
    console.error("PiPo: unexpected error", error);
  }
  return new AccountError(errorCode(error), errorMessage(error, facts));
}
