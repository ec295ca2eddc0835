/**
 * Entry point. The Django shell page provides
 * `<div id="app" data-tenant-name="…" data-tenant-slug="…" data-ws-path="/ws/" data-test-hooks="false">`;
 * this reads it, starts the client and mounts the UI into it.
 */

import { render } from "preact";
import { type AppConfig, type AppState, type ChainProblem, type ChainStatus, startApp } from "./state";
import { bindRootState, Shell, saveBlob } from "./ui";
import { applyStoredTheme } from "./ui/theme";
import "./ui/app.css";

// First thing: the chosen theme on <html>, so the first paint has its colours.
applyStoredTheme();

/** What end-to-end tests may call when the page says `data-test-hooks="true"`. */
interface PipoTestHooks {
  /** Seal `text` to the unlocked identity's X25519 key (throws when locked). */
  sealToOwnKey(text: string): string;
  /** Open a sealed box with the unlocked identity's X25519 key (throws when locked). */
  openSealed(sealed: string): string;
  /**
   * Seal `text` to `username`'s X25519 key from the verified trust chain only
   * (throws when the chain is refused, empty or unverified, or they are not a member).
   */
  sealForMember(username: string, text: string): string;
  /**
   * The trust chain's status, when refused the problem, and the lower-case
   * hex fingerprints of the genesis's verified PGP anchors.
   */
  chainStatus(): { status: ChainStatus; problem: ChainProblem | null; anchors: string[] };
  /** Every message this client holds, per room: id, seq, decrypted text (null if unreadable) and state. */
  roomMessages(): Record<string, { id: string; seq: number | null; text: string | null; state: string }[]>;
  /**
   * Try to open a stored envelope of `room` with what this client holds (and
   * the room's epochs, if the server still serves them): state `ok` with the
   * text, `before_joined`, or `failed` with the code.
   */
  tryOpen(
    room: string,
    envelope: unknown,
  ): Promise<{ state: string; text: string | null; code: string | null }>;
  /**
   * Seal and send any content (PROTOCOL.md §7.4) to the selected room as this
   * person, e.g. an edit of someone else's message, which other clients must
   * ignore; resolves to the message id.
   */
  sendContent(content: Parameters<AppState["rooms"]["send"]>[0]): Promise<string | null>;
  /** How long the tab must stay hidden before this person is "away" (default 60 s). */
  setAwayDelay(ms: number): void;
  /**
   * Close every open upload socket abruptly, as a lost connection would; the
   * uploads reconnect and resume (PROTOCOL.md §8.3).
   */
  dropFileSockets(): void;
  /** Every upload listed: its name, plaintext bytes acknowledged, size and state. */
  fileUploads(): { name: string; sentBytes: number; totalBytes: number; state: string }[];
}

declare global {
  interface Window {
    __pipoTest?: PipoTestHooks;
  }
}

function readConfig(root: HTMLElement): AppConfig {
  return {
    tenantName: root.dataset.tenantName ?? "",
    tenantSlug: root.dataset.tenantSlug ?? "",
    wsPath: root.dataset.wsPath || "/ws/",
    testHooks: root.dataset.testHooks === "true",
    authenticated:
      root.dataset.authenticated === "true" ? true : root.dataset.authenticated === "false" ? false : null,
  };
}

/** Expose only these test hooks; never the keys themselves. */
function installTestHooks(state: AppState): void {
  const hooks: PipoTestHooks = {
    sealToOwnKey: (text) => state.account.sealToOwnKey(text),
    openSealed: (sealed) => state.account.openSealedToMe(sealed),
    sealForMember: (username, text) => state.chain.sealForMember(username, text),
    chainStatus: () => ({
      status: state.chain.status.value,
      problem: state.chain.problem.value,
      anchors: state.chain.anchors.value.map((anchor) => anchor.fingerprintHex),
    }),
    roomMessages: () => state.rooms.snapshot(),
    tryOpen: (room, envelope) => state.rooms.tryOpen(room, envelope),
    sendContent: (content) => state.rooms.send(content),
    setAwayDelay: (ms) => state.presence?.setDelay(ms),
    dropFileSockets: () => state.uploads.dropSockets(),
    fileUploads: () => state.uploads.snapshot(),
  };
  Object.defineProperty(window, "__pipoTest", {
    value: Object.freeze(hooks),
    configurable: false,
    writable: false,
  });
}

const root = document.getElementById("app");
if (root === null) {
  throw new Error('PiPo: the page has no <div id="app">');
}
const config = readConfig(root);
const app = startApp(config, {
  history: window,
  account: { origin: window.location.origin },
  files: { save: saveBlob },
});
if (config.testHooks) {
  installTestHooks(app.state);
}
bindRootState(root, app.state);
root.replaceChildren(); // drop any server-rendered fallback before Preact takes over
render(<Shell state={app.state} />, root);
