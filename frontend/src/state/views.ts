/**
 * Which page to show for an account status and a path, and where to redirect
 * (the route guards). Pure, so the rules are tested without a browser.
 */

import type { AccountStatus } from "./account";

/** The pages of the client. */
export type ViewName =
  | "loading"
  | "login"
  | "signup"
  | "recover"
  | "confirm"
  | "app"
  | "members"
  | "audit"
  | "requests"
  | "rooms"
  | "locked"
  | "pending_approval"
  | "pending_email"
  | "rejected"
  | "recovery-code";

/** A page to show, and the path to move to in place of the current one (or null). */
export interface Route {
  readonly view: ViewName;
  readonly redirect: string | null;
}

/** The signed-in pages (while unlocked), by path. */
const APP_PAGES: Readonly<Record<string, ViewName>> = {
  "/app": "app",
  "/app/members": "members",
  "/app/audit": "audit",
  "/app/requests": "requests",
  "/app/rooms": "rooms",
};

const SIGNED_OUT_PAGES: Readonly<Record<string, ViewName>> = {
  "/login": "login",
  "/signup": "signup",
  "/recover": "recover",
};

/**
 * The route guards:
 * - a recovery code waiting to be stored is shown before anything else;
 * - `/confirm` works in any state (the emailed link opens a new tab);
 * - signed-out: `/login`, `/signup`, `/recover`; anything else goes to `/login`;
 * - locked: `/app` (and `/app/members`, `/app/audit`, `/app/requests`, kept for after unlocking)
 *   shows the unlock page, `/recover` stays; anything else goes to `/app`;
 * - unlocked: `/app`, `/app/members`, `/app/audit`, `/app/requests`; anything else goes to `/app`;
 * - pending or declined: that page, whatever the path.
 */
export function resolveRoute(status: AccountStatus, path: string, showingRecoveryCode: boolean): Route {
  if (showingRecoveryCode) {
    return { view: "recovery-code", redirect: null };
  }
  if (path === "/confirm") {
    return { view: "confirm", redirect: null };
  }
  switch (status) {
    case "loading":
      return { view: "loading", redirect: null };
    case "pending_approval":
    case "pending_email":
    case "rejected":
      return { view: status, redirect: null };
    case "signed-out": {
      const page = SIGNED_OUT_PAGES[path];
      return page === undefined ? { view: "login", redirect: "/login" } : { view: page, redirect: null };
    }
    case "locked":
      if (path === "/recover") {
        return { view: "recover", redirect: null };
      }
      return { view: "locked", redirect: APP_PAGES[path] === undefined ? "/app" : null };
    case "unlocked": {
      const page = APP_PAGES[path];
      return page === undefined ? { view: "app", redirect: "/app" } : { view: page, redirect: null };
    }
  }
}
