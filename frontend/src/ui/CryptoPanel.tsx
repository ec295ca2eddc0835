import type { CryptoStore } from "../state";
import { cryptoText } from "./text";

/** States whether the browser's cryptography (libsodium) is ready. */
export function CryptoPanel({ crypto }: { crypto: CryptoStore }) {
  const status = crypto.status.value;
  return (
    <section class={`panel panel--crypto panel--${status.kind}`} aria-labelledby="crypto-heading">
      <h2 id="crypto-heading" class="panel__title">
        Encryption
      </h2>
      <p class="panel__text">
        <span class="panel__icon" aria-hidden="true" />
        {cryptoText(status)}
      </p>
      {status.kind === "ready" ? (
        <p class="panel__hint">Messages and files are encrypted in this browser before they leave it.</p>
      ) : null}
    </section>
  );
}
