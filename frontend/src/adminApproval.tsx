/**
 * Second entry point: the Django admin's "Approve (sign in browser)" page
 * (accounts/admin.py, template admin/accounts/signuprequest/approve_in_browser.html).
 * The page provides
 * `<div id="pipo-approval" data-tenant-slug="…" data-tenant-name="…" data-username="…"
 *  data-list-url="…" data-login-url="…" data-app-url="…">`;
 * this reads it and mounts the approval UI into it.
 */

import "@preact/signals"; // components re-render when the signals they read change
import { render } from "preact";
import { type AppConfig, createApprovalPage } from "./state";
import { AdminApprovalPage, type ApprovalLinks } from "./ui/AdminApprovalPage";
import "./ui/adminApproval.css";

const root = document.getElementById("pipo-approval");
if (root === null) {
  throw new Error('PiPo: the page has no <div id="pipo-approval">');
}
const data = root.dataset;
const config: AppConfig = {
  tenantName: data.tenantName ?? "",
  tenantSlug: data.tenantSlug ?? "",
  wsPath: "/ws/",
  testHooks: false,
  // The admin panel lets only signed-in admins see this page.
  authenticated: true,
};
const links: ApprovalLinks = {
  list: data.listUrl || "/admin/",
  login: data.loginUrl || "/login",
  app: data.appUrl || "/app",
};
const page = createApprovalPage(config, data.username ?? "", { account: { origin: window.location.origin } });
root.replaceChildren(); // drop the server-rendered fallback before Preact takes over
render(<AdminApprovalPage page={page} links={links} />, root);
void page.start().catch((error: unknown) => {
  console.error("PiPo: the approval page could not start", error);
});
