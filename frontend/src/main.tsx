/**
 * Entry point. The Django shell page provides
 * `<div id="app" data-tenant-name="…" data-tenant-slug="…" data-ws-path="/ws/">`;
 * this reads it, starts the client and mounts the UI into it.
 */

import { render } from "preact";
import { type AppConfig, startApp } from "./state";
import { bindRootState, Shell } from "./ui";
import "./ui/app.css";

function readConfig(root: HTMLElement): AppConfig {
  return {
    tenantName: root.dataset.tenantName ?? "",
    tenantSlug: root.dataset.tenantSlug ?? "",
    wsPath: root.dataset.wsPath || "/ws/",
  };
}

const root = document.getElementById("app");
if (root === null) {
  throw new Error('PiPo: the page has no <div id="app">');
}
const app = startApp(readConfig(root));
bindRootState(root, app.state);
root.replaceChildren(); // drop any server-rendered fallback before Preact takes over
render(<Shell state={app.state} />, root);
