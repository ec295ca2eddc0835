/**
 * On /app, for a root admin of a workspace founded by several roots: who has
 * enrolled, the roots' safety codes to compare, and "Sign the genesis"
 * (PROTOCOL.md §6.8). Hidden for everyone else and once the chain exists.
 */

import { useEffect } from "preact/hooks";
import type { GenesisRootView } from "../state";
import { Alert, Busy, SafetyCode, useAction, useApp } from "./kit";

export function FoundingSection() {
  const { account, genesis } = useApp();
  const founded = account.tenant.value?.chainFounded === true;
  useEffect(() => {
    if (founded) {
      return;
    }
    let stop = (): void => undefined;
    void genesis.load().then(() => {
      stop = genesis.watch();
    });
    return () => stop();
  }, [genesis, founded]);
  const draft = genesis.draft.value;
  const action = useAction();
  if (draft === null || draft.founded) {
    return null;
  }
  const waitingFor = draft.roots.filter((root) => !root.signed).map((root) => root.username);
  return (
    <section class="section" aria-labelledby="founding-title">
      <h3 class="section__title" id="founding-title">
        Found this workspace
      </h3>
      {draft.roots.length === 0 ? (
        <p class="section__text" role="status">
          You hold one of {draft.rootsTotal} root admin seats. {draft.enrolled.length} of {draft.rootsTotal}{" "}
          root admins have enrolled so far; once everyone has, you will all sign the workspace's genesis here.
        </p>
      ) : (
        <>
          <p class="section__text">
            The genesis names the {draft.rootsTotal} root admins below as owners and is signed by each of
            them. Before you sign, compare every safety code with its owner, in person or on a call.
          </p>
          <ol class="members">
            {draft.roots.map((root) => (
              <RootItem root={root} key={root.username} />
            ))}
          </ol>
          {draft.signedByMe ? (
            <p class="section__text" role="status">
              You have signed. Waiting for {waitingFor.join(", ")} to sign.
            </p>
          ) : (
            <div class="actions">
              <button
                type="button"
                class="button button--primary"
                disabled={action.pending}
                onClick={() => void action.run(() => genesis.sign())}
              >
                Sign the genesis
              </button>
            </div>
          )}
        </>
      )}
      <Busy pending={action.pending} text="Signing…" />
      <Alert message={action.error ?? genesis.error.value} />
    </section>
  );
}

function RootItem({ root }: { readonly root: GenesisRootView }) {
  const titleId = `root-${root.username}`;
  return (
    <li class="member" aria-labelledby={titleId}>
      <div class="member__head">
        <h4 class="member__name" id={titleId}>
          {root.username}
          {root.isMe ? " (you)" : ""}
        </h4>
        <span class="badge">{root.signed ? "Signed" : "Not signed yet"}</span>
      </div>
      <SafetyCode symbols={root.safetyCode} label={`Safety code of ${root.username}`} />
    </li>
  );
}
