import { effect } from "@preact/signals";
import type { AppState } from "../state";

/**
 * Mirror the state onto the root element as data-* attributes, for
 * end-to-end tests and for CSS:
 * `data-crypto` = initialising | ready | failed,
 * `data-connection` = connecting | connected | disconnected,
 * `data-pongs` = pongs received so far.
 *
 * @returns a function that stops the mirroring.
 */
export function bindRootState(root: HTMLElement, state: AppState): () => void {
  return effect(() => {
    root.dataset.crypto = state.crypto.status.value.kind;
    root.dataset.connection = state.connection.status.value;
    root.dataset.pongs = String(state.connection.pongs.value);
  });
}
