import type { ConnectionStore } from "../state";
import { connectionText } from "./text";

/** A coloured dot and a short live-region text saying how the relay connection is. */
export function ConnectionIndicator({ connection }: { connection: ConnectionStore }) {
  const status = connection.status.value;
  if (status === "idle") {
    return null; // signed out (or not a member): nothing to connect to
  }
  const text = connectionText(status, connection.lastRttMs.value, connection.retryInSeconds.value);
  return (
    <p class={`connection connection--${status}`} role="status" aria-live="polite">
      <span class="connection__dot" aria-hidden="true" />
      <span class="connection__text">{text}</span>
    </p>
  );
}
