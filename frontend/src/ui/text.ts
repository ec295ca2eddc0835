/**
 * The words the shell shows, as pure functions of state (easy to test, one
 * place to translate later).
 */

import type { ConnectionStatus, CryptoStatus } from "../state";

/** The connection indicator's text, e.g. "Connected · 3 ms". */
export function connectionText(
  status: ConnectionStatus,
  lastRttMs: number | null,
  retryInSeconds: number | null,
): string {
  switch (status) {
    case "idle":
      return "Not connected";
    case "connected":
      return lastRttMs === null ? "Connected" : `Connected · ${lastRttMs} ms`;
    case "connecting":
      return "Connecting…";
    case "disconnected":
      return retryInSeconds === null || retryInSeconds <= 0
        ? "Offline — retrying now"
        : `Offline — retrying in ${retryInSeconds} s`;
  }
}

/** The encryption panel's text. */
export function cryptoText(status: CryptoStatus): string {
  switch (status.kind) {
    case "initialising":
      return "Preparing end-to-end encryption…";
    case "ready":
      return `End-to-end encryption ready (libsodium ${status.libsodiumVersion})`;
    case "failed":
      return `End-to-end encryption unavailable: ${status.message}`;
  }
}
