/**
 * This person's own presence (docs/PROTOCOL.md §4.4): "away" once the tab
 * has been hidden for a while, "online" again as soon as it is visible.
 * Pure logic; the tab's visibility and the timers come from a PresenceEnv.
 */

export type OwnPresence = "online" | "away";
/** What others see of someone: online, away, or nothing (offline). */
export type SeenPresence = OwnPresence;

/** How long the tab stays hidden before this person is "away". */
export const AWAY_AFTER_MS = 60_000;

export interface PresenceEnv {
  hidden(): boolean;
  /** Call `listener` whenever the visibility may have changed; returns the unsubscribe. */
  onVisibilityChange(listener: () => void): () => void;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface AwayTracker {
  /** What this client last decided (and told the server, when connected). */
  readonly state: OwnPresence;
  /** The socket (re)connected: the server starts every socket online; say "away" again if so. */
  onConnected(): void;
  /** Change the delay (tests); a running countdown starts again with it. */
  setDelay(ms: number): void;
  dispose(): void;
}

/**
 * Follow the tab's visibility and `send` the presence frames' state.
 * `send` returns false when the socket is not open; reconnecting says it again.
 */
export function createAwayTracker(
  send: (state: OwnPresence) => boolean,
  env: PresenceEnv,
  delayMs: number = AWAY_AFTER_MS,
): AwayTracker {
  let state: OwnPresence = "online";
  let delay = delayMs;
  let timer: unknown = null;
  let disposed = false;

  const stopTimer = (): void => {
    if (timer !== null) {
      env.clearTimeout(timer);
      timer = null;
    }
  };
  const startTimer = (): void => {
    stopTimer();
    timer = env.setTimeout(() => {
      timer = null;
      if (!disposed && env.hidden() && state === "online") {
        state = "away";
        send("away");
      }
    }, delay);
  };
  const update = (): void => {
    if (disposed) {
      return;
    }
    if (env.hidden()) {
      if (state === "online" && timer === null) {
        startTimer();
      }
      return;
    }
    stopTimer();
    if (state === "away") {
      state = "online";
      send("online");
    }
  };
  const unsubscribe = env.onVisibilityChange(update);
  update();
  return {
    get state(): OwnPresence {
      return state;
    },
    onConnected(): void {
      if (state === "away") {
        send("away");
      }
    },
    setDelay(ms: number): void {
      delay = Math.max(0, ms);
      if (timer !== null) {
        startTimer();
      }
    },
    dispose(): void {
      disposed = true;
      stopTimer();
      unsubscribe();
    },
  };
}

/** The browser's visibility and timers; null outside a browser. */
export function domPresenceEnv(): PresenceEnv | null {
  if (typeof document === "undefined" || typeof window === "undefined") {
    return null;
  }
  return {
    hidden: () => document.visibilityState === "hidden",
    onVisibilityChange(listener) {
      document.addEventListener("visibilitychange", listener);
      return () => {
        document.removeEventListener("visibilitychange", listener);
      };
    },
    setTimeout: (callback, ms) => window.setTimeout(callback, ms),
    clearTimeout: (handle) => {
      window.clearTimeout(handle as number);
    },
  };
}

/** Apply a `presence` frame to who is seen online or away (offline: gone). */
export function applyPresence(
  seen: ReadonlyMap<string, SeenPresence>,
  user: unknown,
  state: unknown,
): ReadonlyMap<string, SeenPresence> {
  if (typeof user !== "string" || user === "") {
    return seen;
  }
  const next = new Map(seen);
  if (state === "online" || state === "away") {
    next.set(user, state);
  } else {
    next.delete(user);
  }
  return next;
}
