/**
 * Connection state: what the relay socket is doing, as signals the UI reads.
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals-core";
import type { Pong, ServerError, SocketListener, SocketStatus } from "../transport/socket";

/** `idle`: not connected and not trying (signed out, or refused for good). */
export type ConnectionStatus = "idle" | "connecting" | "connected" | "disconnected";

/** Connection signals; only the socket listener from {@link connectionListener} writes them. */
export interface ConnectionStore {
  readonly status: ReadonlySignal<ConnectionStatus>;
  /** Round-trip time of the latest pong, in whole milliseconds; null before the first. */
  readonly lastRttMs: ReadonlySignal<number | null>;
  /** Whole seconds until the next reconnect attempt while disconnected, else null. */
  readonly retryInSeconds: ReadonlySignal<number | null>;
  /** How many pongs arrived since start. */
  readonly pongs: ReadonlySignal<number>;
  /** The latest error frame from the server, if any. */
  readonly lastServerError: ReadonlySignal<ServerError | null>;
  /** While idle: the close code that stopped the socket (4401 signed out, 4403 not a member), else null. */
  readonly refusedWith: ReadonlySignal<number | null>;
}

/** A {@link ConnectionStore} with the listener that feeds it and a teardown. */
export interface ConnectionModel {
  readonly store: ConnectionStore;
  readonly listener: SocketListener;
  /** Stop the countdown timer. */
  dispose(): void;
}

/**
 * Make the connection store and the socket listener that updates it.
 *
 * @param now - clock in milliseconds (injectable for tests).
 */
export function createConnectionModel(now: () => number = () => performance.now()): ConnectionModel {
  const status = signal<ConnectionStatus>("idle");
  const lastRttMs = signal<number | null>(null);
  const pongs = signal(0);
  const lastServerError = signal<ServerError | null>(null);
  const refusedWith = signal<number | null>(null);
  const retryAt = signal<number | null>(null);
  const clock = signal(now());
  let ticker: ReturnType<typeof setInterval> | null = null;

  const stopTicker = (): void => {
    if (ticker !== null) {
      clearInterval(ticker);
      ticker = null;
    }
  };

  const retryInSeconds = computed(() => {
    const at = retryAt.value;
    if (status.value !== "disconnected" || at === null) {
      return null;
    }
    return Math.max(0, Math.ceil((at - clock.value) / 1000));
  });

  const listener: SocketListener = {
    onStatus(next: SocketStatus): void {
      stopTicker();
      if (next.kind === "disconnected") {
        clock.value = now();
        retryAt.value = clock.value + next.retryInMs;
        // Tick often enough that the whole-second countdown never skips.
        ticker = setInterval(() => {
          clock.value = now();
        }, 250);
      } else {
        retryAt.value = null;
      }
      refusedWith.value = next.kind === "idle" ? next.closeCode : null;
      status.value = next.kind;
    },
    onPong(pong: Pong): void {
      lastRttMs.value = Math.round(pong.rttMs);
      pongs.value += 1;
    },
    onServerError(error: ServerError): void {
      lastServerError.value = error;
    },
  };

  return {
    store: { status, lastRttMs, retryInSeconds, pongs, lastServerError, refusedWith },
    listener,
    dispose: stopTicker,
  };
}
