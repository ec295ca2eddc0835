/**
 * `/app/requests`: signup requests waiting for an owner's or admin's
 * decision. Approving signs the newcomer's admission with your own key (when
 * the workspace has a trust chain); compare the requester's safety code with
 * them first.
 */

import { useEffect, useState } from "preact/hooks";
import type { SignupRequestView } from "../state";
import { Alert, Busy, Page, RouteLink, SafetyCode, Status, useAction, useApp } from "./kit";

function RequestItem({
  request,
  busy,
  onDecide,
}: {
  request: SignupRequestView;
  busy: boolean;
  onDecide: (username: string, approve: boolean) => void;
}) {
  const titleId = `request-${request.username}`;
  return (
    <li class="member" aria-labelledby={titleId}>
      <div class="member__head">
        <h3 class="member__name" id={titleId}>
          {request.username}
        </h3>
      </div>
      <p class="member__how">
        <span class="member__label">Email:</span> {request.email === "" ? "none given" : request.email}
      </p>
      <p class="member__how">
        <span class="member__label">Requested:</span>{" "}
        {request.iso === "" ? request.when : <time dateTime={request.iso}>{request.when}</time>}
      </p>
      {request.safetyCode === null ? null : (
        <>
          <p class="member__label">Safety code</p>
          <SafetyCode symbols={request.safetyCode} label={`Safety code of ${request.username}`} />
          <p class="fingerprint">
            <span class="fingerprint__label">Fingerprint</span>
            <code class="fingerprint__value">{request.fingerprintGroups.join(" ")}</code>
          </p>
        </>
      )}
      {request.problem === null ? null : <p class="notice notice--bad">{request.problem}</p>}
      <div class="actions actions--tight">
        <button
          type="button"
          class="button button--primary"
          disabled={busy || request.problem !== null}
          onClick={() => onDecide(request.username, true)}
        >
          Approve {request.username}
        </button>
        <button
          type="button"
          class="button"
          disabled={busy}
          onClick={() => onDecide(request.username, false)}
        >
          Reject {request.username}
        </button>
      </div>
    </li>
  );
}

/** `/app/requests`: approve or reject pending signups. */
export function RequestsPage() {
  const { admin } = useApp();
  const load = useAction();
  const decide = useAction();
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => {
    void load.run(() => admin.loadRequests());
  }, [admin]);
  const requests = admin.requests.value;
  const isAdmin = admin.isAdmin.value;
  return (
    <Page
      id="requests"
      title="Signup requests"
      lead={
        <p>
          People who asked to join and wait for a decision. Before you approve someone, compare the safety
          code shown here with the one they see, side by side or on a call: approving admits exactly these
          keys.
        </p>
      }
    >
      <nav class="links" aria-label="Workspace">
        <RouteLink href="/app">Back to your account</RouteLink>
        <RouteLink href="/app/members">Members</RouteLink>
      </nav>
      {isAdmin ? null : <p class="notice">Only the workspace's owners and admins decide signup requests.</p>}
      <Alert message={decide.error ?? load.error} />
      <Status message={done} />
      {requests === null ? (
        <Busy pending={load.pending} text="Loading the requests…" />
      ) : requests.length === 0 ? (
        <p class="notice">No one is waiting for approval.</p>
      ) : (
        <ul class="members">
          {requests.map((request) => (
            <RequestItem
              key={request.username}
              request={request}
              busy={decide.pending}
              onDecide={(username, approve) => {
                setDone(null);
                void decide.run(async () => {
                  if (approve) {
                    await admin.approve(username);
                    setDone(`${username} was approved.`);
                  } else {
                    await admin.reject(username);
                    setDone(`${username} was rejected.`);
                  }
                });
              }}
            />
          ))}
        </ul>
      )}
      <Busy pending={decide.pending} />
    </Page>
  );
}
