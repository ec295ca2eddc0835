/**
 * The Django admin's "Approve (sign in browser)" page: one pending signup,
 * shown with the admin panel's own markup (module, form-row, messagelist,
 * submit-row) so that it reads as part of the admin. Approving signs the
 * admission with the signed-in admin's key in this browser (through the
 * state layer; this component never sees a key).
 */

import type { ApprovalPage, IdentityView, SignupRequestView } from "../state";

/** Where the page's links go, from the template's data-* attributes. */
export interface ApprovalLinks {
  /** The admin's list of signup requests. */
  readonly list: string;
  /** The app's login, coming back here afterwards. */
  readonly login: string;
  /** The app, where locked keys are unlocked. */
  readonly app: string;
}

function Row({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="form-row">
      <div class="flex-container">
        {/* Styled like the admin's read-only field labels; nothing here is an input. */}
        <span class="pipo-label">{label}:</span>
        <div class="readonly">{children}</div>
      </div>
    </div>
  );
}

function SafetyCode({ code, label }: { code: IdentityView["safetyCode"]; label: string }) {
  return (
    <ol class="pipo-safety-code" aria-label={label}>
      {code.map((symbol, index) => (
        <li class="pipo-safety-code__item" key={index}>
          <span class="pipo-safety-code__emoji" aria-hidden="true">
            {symbol.emoji}
          </span>
          <span class="pipo-safety-code__word">{symbol.name}</span>
        </li>
      ))}
    </ol>
  );
}

function RequestModule({ request }: { request: SignupRequestView }) {
  return (
    <fieldset class="module aligned">
      <h2>Signup request</h2>
      <Row label="Username">
        <strong>{request.username}</strong>
      </Row>
      <Row label="Email">{request.email === "" ? "none given" : request.email}</Row>
      <Row label="Requested">
        {request.iso === "" ? request.when : <time dateTime={request.iso}>{request.when}</time>}
      </Row>
      <Row label="Safety code">
        {request.safetyCode === null ? (
          "none: this request's keys do not verify"
        ) : (
          <SafetyCode code={request.safetyCode} label={`Safety code of ${request.username}`} />
        )}
      </Row>
      {request.fingerprintGroups.length === 0 ? null : (
        <Row label="Fingerprint">
          <code class="pipo-fingerprint">{request.fingerprintGroups.join(" ")}</code>
        </Row>
      )}
    </fieldset>
  );
}

function Message({
  level,
  children,
}: {
  level: "success" | "warning" | "error" | "info";
  children: preact.ComponentChildren;
}) {
  const role = level === "error" || level === "warning" ? "alert" : "status";
  return (
    <ul class="messagelist">
      <li class={level} role={role}>
        {children}
      </li>
    </ul>
  );
}

/** What to say, for each phase but `ready` and `approving`. */
function PhaseMessage({ page, links }: { page: ApprovalPage; links: ApprovalLinks }) {
  const phase = page.phase.value;
  const error = page.error.value;
  const request = page.request.value;
  switch (phase) {
    case "loading":
      return <p class="pipo-approval__loading">Loading your keys and the workspace's trust chain…</p>;
    case "signed-out":
      return (
        <Message level="warning">
          You are not signed in to the app in this browser, so your key cannot sign this approval.{" "}
          <a href={links.login}>Log in</a>, then come back to this page.
        </Message>
      );
    case "locked":
      return (
        <Message level="warning">
          Your keys are not unlocked in this browser, so this page cannot sign the approval. Unlock them in
          the app (<a href={links.app}>open the app</a>) or <a href={links.login}>log in again</a>, then come
          back to this page.
        </Message>
      );
    case "not-admin":
      return <Message level="error">Only the workspace's owners and admins approve signup requests.</Message>;
    case "chain-refused":
      return (
        <Message level="error">
          Do not approve anyone: this workspace's trust chain did not verify in your browser. {error}
        </Message>
      );
    case "chain-error":
    case "failed":
      return <Message level="error">{error ?? "Something went wrong. Please reload the page."}</Message>;
    case "not-found":
      return (
        <Message level="info">
          {page.username} is not waiting for approval any more (someone decided already).{" "}
          <a href={links.list}>Back to the signup requests</a>.
        </Message>
      );
    case "approved":
      return (
        <Message level="success">
          {request?.username ?? page.username} was approved
          {page.chained.value ? ", admitted by your signed link in the trust chain" : ""}. They can log in now
          and were emailed. <a href={links.list}>Back to the signup requests</a>.
        </Message>
      );
    default:
      return null;
  }
}

/** The page's body, inside the admin's `#content-main`. */
export function AdminApprovalPage({ page, links }: { page: ApprovalPage; links: ApprovalLinks }) {
  const phase = page.phase.value;
  const request = page.request.value;
  const signer = page.signer.value;
  const identity = page.signerIdentity.value;
  const deciding = phase === "ready" || phase === "approving";
  const blocked = request?.problem ?? null;
  return (
    <div class="pipo-approval" data-phase={phase}>
      <PhaseMessage page={page} links={links} />
      {request === null ? null : <RequestModule request={request} />}
      {deciding && identity !== null && signer !== null ? (
        <fieldset class="module aligned">
          <h2>Signed by you</h2>
          <Row label="Admin">{signer}</Row>
          <Row label="Your safety code">
            <SafetyCode code={identity.safetyCode} label={`Your safety code (${signer})`} />
          </Row>
        </fieldset>
      ) : null}
      {deciding && blocked !== null ? <Message level="error">{blocked}</Message> : null}
      {deciding && page.error.value !== null ? (
        <Message level="error">The server refused the approval: {page.error.value}</Message>
      ) : null}
      {deciding && request !== null ? (
        <div class="submit-row">
          <input
            type="button"
            class="default"
            value={phase === "approving" ? "Signing and sending…" : `Approve ${request.username}`}
            aria-label={`Approve ${request.username}`}
            disabled={phase === "approving" || blocked !== null}
            onClick={() => {
              void page.approve();
            }}
          />
          <a href={links.list} class="closelink">
            Cancel
          </a>
        </div>
      ) : null}
    </div>
  );
}
