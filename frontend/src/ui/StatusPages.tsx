/**
 * Pages that say where the account stands: loading, the one-time recovery
 * code, locked, waiting for approval or email, declined.
 */

import { useState } from "preact/hooks";
import { displayName } from "../state";
import { Alert, Busy, Field, Page, RouteLink, Status, useAction, useApp } from "./kit";

/** Until the server has said who is signed in. */
export function LoadingPage() {
  return (
    <Page id="loading" title="Loading…">
      <Busy pending text="Checking your session…" />
    </Page>
  );
}

/** The recovery code, once, after signup or recovery. */
export function RecoveryCodePage() {
  const { account } = useApp();
  const code = account.recoveryCode.value ?? "";
  const [stored, setStored] = useState(false);
  return (
    <Page
      id="recovery-code"
      title="Your recovery code"
      lead={
        <p>
          This code is shown <strong>only once</strong>. If you ever lose your password, it is the only way to
          unlock your account and your encrypted messages: nobody else, not even an administrator, can do it
          for you. Write it down or keep it in a password manager, away from this device.
        </p>
      }
    >
      <pre class="recovery-code" id="recovery-code">
        {code}
      </pre>
      <label class="choice choice--confirm">
        <input
          type="checkbox"
          checked={stored}
          onChange={(event) => setStored(event.currentTarget.checked)}
        />
        <span>I have stored my recovery code</span>
      </label>
      <div class="actions">
        <button
          type="button"
          class="button button--primary"
          disabled={!stored}
          onClick={() => account.acknowledgeRecoveryCode()}
        >
          Continue
        </button>
      </div>
    </Page>
  );
}

/** Signed in, keys not in this browser: ask for the password. */
export function LockedPage() {
  const { account } = useApp();
  const [password, setPassword] = useState("");
  const action = useAction();
  const logout = useAction();
  const username = account.user.value?.username ?? "";
  return (
    <Page
      id="locked"
      title="PiPo is locked"
      lead={
        <p>
          You are logged in as <strong>{username}</strong>, but your keys are locked in this browser. Enter
          your password to unlock them.
        </p>
      }
    >
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => account.unlock(password));
        }}
      >
        <Field
          id="locked-password"
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="current-password"
          required
        />
        <Alert message={action.error ?? logout.error} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Unlock
          </button>
          <button
            type="button"
            class="button"
            disabled={logout.pending}
            onClick={() => void logout.run(() => account.logOut())}
          >
            Log out
          </button>
          <Busy pending={action.pending} text="Unlocking your keys…" />
        </div>
      </form>
      <p class="links">
        Forgot your password? <RouteLink href="/recover">Use a recovery code</RouteLink>
      </p>
    </Page>
  );
}

function BackToLogin() {
  const { account, router } = useApp();
  return (
    <p class="links">
      <a
        href="/login"
        class="link"
        onClick={(event) => {
          event.preventDefault();
          account.dismissPending();
          router.navigate("/login");
        }}
      >
        Back to log in
      </a>
    </p>
  );
}

/** The refusal sentence: an alert when a login was refused, else plain text. */
function StateSentence({ fallback }: { fallback: string }) {
  const { account } = useApp();
  const refusal = account.refusal.value;
  return refusal === null ? <p>{fallback}</p> : <Alert message={refusal} />;
}

/** A signup (or login) waiting for an administrator. */
export function PendingApprovalPage() {
  const { account, config } = useApp();
  const name = account.tenant.value?.name.trim() || displayName(config);
  return (
    <Page id="pending-approval" title="Waiting for approval">
      <StateSentence fallback="Your account is waiting for an administrator's approval." />
      <p>
        An administrator of {name} will look at your request. You will get an email when they have decided;
        then come back and log in with your username and password.
      </p>
      <BackToLogin />
    </Page>
  );
}

/** A signup (or login) waiting for the emailed link. */
export function PendingEmailPage() {
  const { account } = useApp();
  const username = account.pendingUsername.value ?? "";
  const email = account.pendingEmail.value;
  const action = useAction();
  const [sent, setSent] = useState<string | null>(null);
  return (
    <Page id="pending-email" title="Check your email">
      <StateSentence
        fallback={`We sent a link to ${email === null || email === "" ? "your email address" : email}. Open it to confirm your address and activate your account.`}
      />
      <p>The link is valid for 24 hours. Nothing arrived? Check your spam folder, or send a new link.</p>
      <Alert message={action.error} />
      <Status message={sent} />
      <div class="actions">
        <button
          type="button"
          class="button"
          disabled={action.pending || username === ""}
          onClick={() =>
            void action.run(async () => {
              setSent(null);
              await account.resendConfirmation(username);
              setSent("We sent a new email. Only the link in the newest email works.");
            })
          }
        >
          Resend email
        </button>
        <Busy pending={action.pending} text="Sending…" />
      </div>
      <BackToLogin />
    </Page>
  );
}

/** A declined signup. */
export function RejectedPage() {
  return (
    <Page id="rejected" title="Request declined">
      <StateSentence fallback="Your request to join was declined." />
      <p>If you think this is a mistake, please contact the workspace's administrators.</p>
      <BackToLogin />
    </Page>
  );
}
