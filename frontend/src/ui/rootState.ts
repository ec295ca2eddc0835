import { effect } from "@preact/signals";
import type { AppState } from "../state";

/**
 * Mirror the state onto the root element as data-* attributes, for
 * end-to-end tests and for CSS:
 * `data-crypto` = initialising | ready | failed,
 * `data-connection` = connecting | connected | disconnected,
 * `data-pongs` = pongs received so far,
 * `data-account` = loading | signed-out | locked | unlocked |
 *   pending_approval | pending_email | rejected,
 * `data-view` = the page shown (login, signup, app, members, audit, recovery-code, ...),
 * `data-chain` = idle | verifying | verified | empty | refused (the trust chain).
 *
 * @returns a function that stops the mirroring.
 */
export function bindRootState(root: HTMLElement, state: AppState): () => void {
  return effect(() => {
    root.dataset.crypto = state.crypto.status.value.kind;
    root.dataset.connection = state.connection.status.value;
    root.dataset.pongs = String(state.connection.pongs.value);
    root.dataset.account = state.account.status.value;
    root.dataset.view = state.route.value.view;
    root.dataset.chain = state.chain.status.value;
  });
}
