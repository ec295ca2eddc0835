/**
 * A tiny client-side router: the current path and fragment as signals,
 * `navigate()` with `history.pushState`, and back/forward via `popstate`.
 *
 * The browser is passed in ({@link RouterEnv}), so this module touches no DOM
 * global itself; tests and `startApp` without a window use
 * {@link memoryRouterEnv}.
 *
 * Secrets in links travel in the fragment (`#t=` invite token, `#c=` email
 * confirmation token), which browsers never send to a server.
 */

import { batch, type ReadonlySignal, signal } from "@preact/signals-core";

/** What the router needs from `window`. */
export interface RouterEnv {
  readonly location: { readonly pathname: string; readonly hash: string };
  readonly history: {
    pushState(data: unknown, unused: string, url?: string): void;
    replaceState(data: unknown, unused: string, url?: string): void;
  };
  addEventListener(type: "popstate", listener: () => void): void;
  removeEventListener(type: "popstate", listener: () => void): void;
}

/** The router store. */
export interface Router {
  /** The current path, e.g. "/login" (no query, no fragment). */
  readonly path: ReadonlySignal<string>;
  /** The current fragment including "#", or "". */
  readonly hash: ReadonlySignal<string>;
  /** Go to `url` (a path, optionally with `#fragment`), adding a history entry. */
  navigate(url: string): void;
  /** Go to `url` in place of the current history entry (redirects). */
  replace(url: string): void;
  /** Stop listening to `popstate`. */
  dispose(): void;
}

/**
 * The `key=value` pairs of a fragment such as `#t=abc&fp=xyz` (the leading
 * "#" is optional). Values are percent-decoded; a key without "=" maps to "".
 */
export function parseFragment(hash: string): Map<string, string> {
  const text = hash.startsWith("#") ? hash.slice(1) : hash;
  const pairs = new Map<string, string>();
  if (text === "") {
    return pairs;
  }
  for (const part of text.split("&")) {
    if (part === "") {
      continue;
    }
    const at = part.indexOf("=");
    const rawKey = at === -1 ? part : part.slice(0, at);
    const rawValue = at === -1 ? "" : part.slice(at + 1);
    const key = safeDecode(rawKey);
    if (key !== "" && !pairs.has(key)) {
      pairs.set(key, safeDecode(rawValue));
    }
  }
  return pairs;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The invite token of a `/signup#t=<token>` link, or null. */
export function inviteTokenFrom(hash: string): string | null {
  const token = parseFragment(hash).get("t")?.trim();
  return token ? token : null;
}

/** The invite's role from a `/signup#t=<token>&r=<role>` link: "admin" or, by default, "member". */
export function inviteRoleFrom(hash: string): "member" | "admin" {
  return parseFragment(hash).get("r")?.trim() === "admin" ? "admin" : "member";
}

/** The enrolment token of a `/signup#e=<token>` link (`create_tenant` prints it), or null. */
export function enrolmentTokenFrom(hash: string): string | null {
  const token = parseFragment(hash).get("e")?.trim();
  return token ? token : null;
}

/**
 * The tenant fingerprint of an invite or enrolment link (`#fp=<b64u>`), as
 * written (the chain store checks that it is a 32-byte hash), or null.
 */
export function fingerprintFrom(hash: string): string | null {
  const fp = parseFragment(hash).get("fp")?.trim();
  return fp ? fp : null;
}

/** The email confirmation token of a `/confirm#c=<token>` link, or null. */
export function confirmTokenFrom(hash: string): string | null {
  const token = parseFragment(hash).get("c")?.trim();
  return token ? token : null;
}

/** Split "/path#frag" (or "/path?q#frag") into its path and fragment. */
export function splitUrl(url: string): { path: string; hash: string } {
  const hashAt = url.indexOf("#");
  const beforeHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const hash = hashAt === -1 ? "" : url.slice(hashAt);
  const queryAt = beforeHash.indexOf("?");
  const path = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  return { path: normalisePath(path), hash: hash === "#" ? "" : hash };
}

/** "/login/" -> "/login", "" -> "/". */
export function normalisePath(path: string): string {
  if (path === "" || path === "/") {
    return "/";
  }
  const withSlash = path.startsWith("/") ? path : `/${path}`;
  return withSlash.length > 1 && withSlash.endsWith("/") ? withSlash.slice(0, -1) : withSlash;
}

/** A router env with no browser behind it (tests, server-less starts). */
export function memoryRouterEnv(initial = "/"): RouterEnv {
  const { path, hash } = splitUrl(initial);
  const location = { pathname: path, hash };
  const move = (_data: unknown, _unused: string, url?: string): void => {
    if (url !== undefined) {
      const next = splitUrl(url);
      location.pathname = next.path;
      location.hash = next.hash;
    }
  };
  return {
    location,
    history: { pushState: move, replaceState: move },
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
  };
}

/** Make the router and start following `popstate`. */
export function createRouter(env: RouterEnv): Router {
  const path = signal(normalisePath(env.location.pathname));
  const hash = signal(env.location.hash);

  const sync = (): void => {
    batch(() => {
      path.value = normalisePath(env.location.pathname);
      hash.value = env.location.hash;
    });
  };
  const go = (url: string, replace: boolean): void => {
    const target = splitUrl(url);
    const href = `${target.path}${target.hash}`;
    if (target.path === path.value && target.hash === hash.value) {
      return;
    }
    if (replace) {
      env.history.replaceState(null, "", href);
    } else {
      env.history.pushState(null, "", href);
    }
    sync();
  };
  env.addEventListener("popstate", sync);

  return {
    path,
    hash,
    navigate: (url) => go(url, false),
    replace: (url) => go(url, true),
    dispose: () => env.removeEventListener("popstate", sync),
  };
}
