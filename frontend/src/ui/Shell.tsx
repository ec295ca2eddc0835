import { type AppState, displayName } from "../state";
import { ConnectionIndicator } from "./ConnectionIndicator";
import { CryptoPanel } from "./CryptoPanel";

/** The application frame: header with the tenant's name and the connection, then the content card. */
export function Shell({ state }: { state: AppState }) {
  const name = displayName(state.config);
  return (
    <div class="frame">
      <header class="frame__header">
        <div class="brand">
          <span class="brand__mark" aria-hidden="true">
            {name.slice(0, 1).toUpperCase()}
          </span>
          <h1 class="brand__name">{name}</h1>
        </div>
        <ConnectionIndicator connection={state.connection} />
      </header>
      <main class="frame__main">
        <CryptoPanel crypto={state.crypto} />
      </main>
    </div>
  );
}
