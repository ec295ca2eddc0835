/**
 * The trust chain for people: the blocking warning when the chain is
 * refused, the Members page (`/app/members`) and the Audit log page
 * (`/app/audit`), all rendered from the chain verified in this browser.
 */

import { useEffect, useState } from "preact/hooks";
import { type AuditEntry, type ChainMemberView, type ChainStatus, memberActions, type Role } from "../state";
import { Alert, Busy, Page, RouteLink, SafetyCode, Status, useAction, useApp } from "./kit";

const ROLE_NAMES: Readonly<Record<ChainMemberView["role"], string>> = {
  owner: "Owner",
  admin: "Admin",
  member: "Member",
};

/** Rows of the audit table shown at first (the newest); the rest on request. */
const AUDIT_PAGE_ROWS = 500;

const EMPTY_CHAIN = "This workspace has no signed membership chain yet.";

/**
 * The blocking warning: shown above every page while the chain is refused.
 * Renders nothing otherwise.
 */
export function ChainWarning() {
  const { chain } = useApp();
  const problem = chain.problem.value;
  if (chain.status.value !== "refused" || problem === null) {
    return null;
  }
  return (
    <section class="trust-alert" role="alert" aria-labelledby="trust-alert-title">
      <h2 class="trust-alert__title" id="trust-alert-title">
        Do not trust this workspace right now
      </h2>
      <p class="trust-alert__text">{problem.message}</p>
      <p class="trust-alert__hint">
        Send nothing sensitive here. Tell the workspace's administrators what this says, by phone or in person
        rather than through this workspace. (Problem code: <code>{problem.code}</code>.)
      </p>
    </section>
  );
}

/** Back to /app and across to the other chain page. */
function ChainNav({ current }: { current: "members" | "audit" }) {
  return (
    <nav class="links" aria-label="Workspace">
      <RouteLink href="/app">Back to your account</RouteLink>
      {current === "members" ? (
        <RouteLink href="/app/audit">Audit log</RouteLink>
      ) : (
        <RouteLink href="/app/members">Members</RouteLink>
      )}
    </nav>
  );
}

/** What to say instead of the content when the chain is not verified; null when it is. */
function ChainNotice({ status, syncError }: { status: ChainStatus; syncError: string | null }) {
  if (syncError !== null && status !== "verified") {
    return <Alert message={syncError} />;
  }
  switch (status) {
    case "verified":
      return null;
    case "empty":
      return <p class="notice">{EMPTY_CHAIN}</p>;
    case "refused":
      return (
        <p class="notice notice--bad">
          Nothing from the workspace's trust chain is shown while it is refused (see the warning above).
        </p>
      );
    case "idle":
    case "verifying":
      return (
        <p class="busy" aria-live="polite">
          <span class="busy__spinner" aria-hidden="true" />
          Checking the workspace's trust chain…
        </p>
      );
  }
}

/** Fetch links added since the last check when a chain page opens. */
function useRefreshOnOpen(): void {
  const { chain } = useApp();
  useEffect(() => {
    if (chain.status.value === "verified") {
      void chain.refresh().catch(() => undefined);
    }
  }, [chain]);
}

const ROLE_WORDS: Readonly<Record<Role, string>> = {
  owner: "an owner",
  admin: "an admin",
  member: "a member",
};

/**
 * An owner's or admin's controls for one other member: role changes
 * (`set_role`) and removal (`remove`, after a confirmation), each a link
 * signed in this browser. Nothing when the rules allow nothing.
 */
function MemberControls({
  member,
  me,
}: {
  member: ChainMemberView;
  me: { username: string; role: Role } | null;
}) {
  const { admin } = useApp();
  const action = useAction();
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const allowed = memberActions(me, member);
  if (allowed.roles.length === 0 && !allowed.canRemove) {
    return null;
  }
  const name = member.username;
  return (
    <fieldset class="member__controls">
      <legend class="member__label">{`Manage ${name}`}</legend>
      <div class="actions actions--tight">
        {allowed.roles.map((role) => (
          <button
            type="button"
            class="button"
            key={role}
            disabled={action.pending}
            onClick={() => {
              setDone(null);
              setConfirming(false);
              void action.run(async () => {
                await admin.setRole(name, role);
                setDone(`${name} is now ${ROLE_WORDS[role]}.`);
              });
            }}
          >
            {`Make ${role}`}
          </button>
        ))}
        {!allowed.canRemove ? null : confirming ? (
          <>
            <button
              type="button"
              class="button button--danger"
              disabled={action.pending}
              onClick={() => {
                setDone(null);
                void action.run(async () => {
                  await admin.remove(name);
                  setConfirming(false);
                });
              }}
            >
              {`Confirm removal of ${name}`}
            </button>
            <button
              type="button"
              class="button"
              disabled={action.pending}
              onClick={() => setConfirming(false)}
            >
              Cancel
            </button>
          </>
        ) : (
          <button
            type="button"
            class="button"
            disabled={action.pending}
            onClick={() => {
              setDone(null);
              action.setError(null);
              setConfirming(true);
            }}
          >
            {`Remove ${name}`}
          </button>
        )}
        <Busy pending={action.pending} text="Signing…" />
      </div>
      {confirming && !action.pending ? (
        <p class="field__hint">
          {name} loses access to the workspace and every room. They can only come back if admitted again.
        </p>
      ) : null}
      <Alert message={action.error} />
      <Status message={done} />
    </fieldset>
  );
}

/** `/app/members`: who the verified chain admits, how, and their safety codes. */
export function MembersPage() {
  const { chain, account, admin } = useApp();
  useRefreshOnOpen();
  const status = chain.status.value;
  const members = chain.members.value;
  const me = account.user.value?.username ?? null;
  // Manage only as what the verified chain says you are (and the server agrees you are an admin).
  const mine = members.find((member) => member.username === me);
  const manager =
    admin.isAdmin.value && mine !== undefined ? { username: mine.username, role: mine.role } : null;
  const rooms = chain.roomCount.value;
  return (
    <Page
      id="members"
      title="Members"
      lead={
        <p>
          Everyone this workspace's signed membership chain admits, as verified in this browser. PiPo encrypts
          only to these people's keys. Compare a safety code with its owner, side by side or on a call, to be
          sure nobody stands in between.
        </p>
      }
    >
      <ChainNav current="members" />
      <ChainNotice status={status} syncError={chain.syncError.value} />
      {status === "verified" ? (
        <>
          <p class="chain-summary">
            {members.length === 1 ? "1 member" : `${members.length} members`} ·{" "}
            {rooms === 1 ? "1 room" : `${rooms} rooms`} · verified up to link #{chain.headSeq.value}
          </p>
          <ul class="members">
            {members.map((member) => (
              <li class="member" key={member.username}>
                <div class="member__head">
                  <h3 class="member__name">{member.username}</h3>
                  <span class="badge">{ROLE_NAMES[member.role]}</span>
                  {member.username === me ? <span class="member__me">you</span> : null}
                </div>
                <p class="member__how">
                  <span class="member__label">How admitted:</span> {member.howLabel}
                  {member.how === "genesis" ? null : (
                    <span class="member__seq"> (link #{member.admittedSeq})</span>
                  )}
                </p>
                <p class="member__label">Safety code</p>
                <SafetyCode symbols={member.safetyCode} />
                <p class="fingerprint">
                  <span class="fingerprint__label">Fingerprint</span>
                  <code class="fingerprint__value">{member.fingerprintGroups.join(" ")}</code>
                </p>
                <MemberControls member={member} me={manager} />
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Page>
  );
}

function AuditRow({ entry }: { entry: AuditEntry }) {
  return (
    <tr>
      <td class="audit__when">
        {entry.iso === "" ? entry.when : <time dateTime={entry.iso}>{entry.when}</time>}
      </td>
      <td>{entry.who}</td>
      <td>{entry.summary}</td>
      <td>{entry.signedBy}</td>
    </tr>
  );
}

/** `/app/audit`: every link of the verified chain, and the tenant fingerprint. */
export function AuditPage() {
  const { chain } = useApp();
  useRefreshOnOpen();
  const [showAll, setShowAll] = useState(false);
  const status = chain.status.value;
  const groups = chain.fingerprintGroups.value;
  const anchors = chain.anchors.value;
  const unanchored = chain.unanchored.value;
  const entries = status === "verified" ? chain.audit.value : [];
  const hidden = showAll ? 0 : Math.max(0, entries.length - AUDIT_PAGE_ROWS);
  const shown = hidden === 0 ? entries : entries.slice(hidden);
  return (
    <Page
      id="audit"
      title="Audit log"
      lead={
        <p>
          Every change to this workspace's membership, as signed and verified in this browser: who joined,
          how, role changes, key changes and rooms.
        </p>
      }
    >
      <ChainNav current="audit" />
      <ChainNotice status={status} syncError={chain.syncError.value} />
      {status === "verified" && groups !== null ? (
        <>
          <div class="fingerprint">
            <span class="fingerprint__label">Tenant fingerprint</span>
            <code class="fingerprint__value">{groups.join(" ")}</code>
            <p class="field__hint">
              The hash of the workspace's genesis. Invite links carry it, so that newcomers check they join
              this very workspace.
            </p>
            {anchors.map((anchor) => (
              <p class="fingerprint__anchor" key={anchor.fingerprintHex}>
                {`Anchored by PGP key ${anchor.fingerprint}`}
              </p>
            ))}
            {unanchored.map((key) => (
              <p class="fingerprint__anchor fingerprint__anchor--pending" key={key.fingerprintHex}>
                {`PGP key ${key.fingerprint}: not yet anchored`}
              </p>
            ))}
          </div>
          {hidden > 0 ? (
            <div class="actions">
              <button type="button" class="button" onClick={() => setShowAll(true)}>
                Show the {hidden} earlier {hidden === 1 ? "entry" : "entries"}
              </button>
            </div>
          ) : null}
          <div class="table-scroll">
            <table class="audit">
              <caption class="audit__caption">Audit log</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Signed by</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((entry) => (
                  <AuditRow entry={entry} key={entry.seq} />
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </Page>
  );
}
