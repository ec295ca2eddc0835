/**
 * The pages for people who are not signed in: log in, sign up, recover,
 * confirm an email address.
 */

import { useEffect, useState } from "preact/hooks";
import {
  confirmTokenFrom,
  displayName,
  emailRequired,
  enrolmentTokenFrom,
  fingerprintFrom,
  inviteRoleFrom,
  inviteTokenFrom,
  newPasswordProblem,
  policyText,
  type SignupPolicy,
  type UserState,
} from "../state";
import { Alert, Busy, Field, Page, RouteLink, useAction, useApp } from "./kit";

/** `/login`. */
export function LoginPage() {
  const { account } = useApp();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();
  const bootError = account.bootError.value;
  return (
    <Page id="login" title="Log in">
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(() => account.logIn(username, password));
        }}
      >
        <Field
          id="login-username"
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="username"
          required
        />
        <Field
          id="login-password"
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="current-password"
          required
        />
        <Alert message={action.error ?? bootError} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Log in
          </button>
          <Busy pending={action.pending} text="Unlocking your keys…" />
        </div>
      </form>
      <ul class="links">
        <li>
          <RouteLink href="/signup">Create an account</RouteLink>
        </li>
        <li>
          <RouteLink href="/recover">Use a recovery code</RouteLink>
        </li>
      </ul>
    </Page>
  );
}

function policyExplanation(policy: SignupPolicy): string {
  switch (policy) {
    case "open":
      return "Your account is ready as soon as you create it.";
    case "approval":
      return "You can log in once an administrator has approved your request.";
    case "domain":
      return "We will email you a link to confirm your address.";
    case "invite":
      return "You need an invite link from an administrator to join.";
  }
}

/** `/signup` (with `#t=<token>` from an invite link). */
export function SignupPage() {
  const { account, chain, config, router } = useApp();
  const tenant = account.tenant.value;
  const inviteToken = inviteTokenFrom(router.hash.value);
  const inviteRole = inviteRoleFrom(router.hash.value);
  const enrolmentToken = enrolmentTokenFrom(router.hash.value);
  const founding = enrolmentToken !== null || (tenant?.founding === "first_user" && !tenant.chainFounded);
  const pinnedFingerprint = fingerprintFrom(router.hash.value);
  const invited = inviteToken !== null;
  const policy = tenant?.signupPolicy ?? null;
  const needsEmail = emailRequired(policy, invited);
  const name = tenant?.name.trim() || displayName(config);

  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [keySource, setKeySource] = useState<"new" | "file">("new");
  const [keyFile, setKeyFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const action = useAction();

  const submit = async (): Promise<void> => {
    const problem = newPasswordProblem(password, repeat);
    if (problem !== null) {
      action.setError(problem);
      return;
    }
    await action.run(async () => {
      let keyFileInput: { text: string; passphrase: string } | undefined;
      if (keySource === "file") {
        if (keyFile === null) {
          throw new Error("no key file");
        }
        keyFileInput = { text: await keyFile.text(), passphrase };
      }
      if (pinnedFingerprint !== null) {
        // Pin the workspace fingerprint from the link, and refuse a server whose genesis is another.
        await chain.pinFingerprint(pinnedFingerprint);
      }
      await account.signUp({
        username,
        email,
        password,
        ...(keyFileInput === undefined ? {} : { keyFile: keyFileInput }),
        ...(inviteToken === null ? {} : { inviteToken, inviteRole }),
        ...(enrolmentToken === null ? {} : { enrolmentToken }),
      });
    });
  };

  return (
    <Page
      id="signup"
      title="Create your account"
      lead={
        <>
          {invited || founding ? null : (
            <p>
              You are joining <strong>{name}</strong>.
            </p>
          )}
          {founding && !invited ? (
            <p class="notice notice--invite">
              {(tenant?.rootSeats ?? 0) > 1 ? (
                <>
                  <strong>You are setting up {name}</strong> as one of its {tenant?.rootSeats} root admins.
                  Your account becomes an owner; once every root admin has enrolled, you all sign the
                  workspace's membership chain.
                </>
              ) : (
                <>
                  <strong>You are setting up {name}.</strong> Your account becomes its first owner, and your
                  keys sign the workspace's membership chain.
                </>
              )}
            </p>
          ) : null}
          {invited ? (
            <p class="notice notice--invite">
              <strong>You have been invited</strong> to join {name}. Your account is active as soon as you
              create it.
            </p>
          ) : null}
          {policy === null ? null : (
            <p class="policy">
              <strong class="policy__name">{policyText(policy, tenant?.allowedDomains ?? [])}</strong>
              {invited || founding ? null : <span class="policy__text">. {policyExplanation(policy)}</span>}
            </p>
          )}
        </>
      }
    >
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (keySource === "file" && keyFile === null) {
            action.setError("Choose your key file, or generate new keys.");
            return;
          }
          void submit();
        }}
      >
        <Field
          id="signup-username"
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="username"
          required
          hint="Lower-case letters, digits, “.”, “_” and “-”; up to 64 characters."
        />
        <Field
          id="signup-email"
          label="Email"
          type="email"
          value={email}
          onValue={setEmail}
          autoComplete="email"
          required={needsEmail}
          hint={
            needsEmail
              ? policy === "domain"
                ? "Required: we send a confirmation link to it."
                : "Required: we email you when an administrator has decided."
              : "Optional."
          }
        />
        <Field
          id="signup-password"
          label="Password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="new-password"
          required
          hint="At least 10 characters. It never leaves this browser: it encrypts your keys."
        />
        <Field
          id="signup-repeat"
          label="Repeat password"
          type="password"
          value={repeat}
          onValue={setRepeat}
          autoComplete="new-password"
          required
        />
        <fieldset class="fieldset">
          <legend class="fieldset__legend">Keys</legend>
          <label class="choice">
            <input
              type="radio"
              name="signup-keys"
              value="new"
              checked={keySource === "new"}
              onChange={() => setKeySource("new")}
            />
            Generate new keys
          </label>
          <label class="choice">
            <input
              type="radio"
              name="signup-keys"
              value="file"
              checked={keySource === "file"}
              onChange={() => setKeySource("file")}
            />
            Use an existing key file
          </label>
          {keySource === "file" ? (
            <div class="fieldset__more">
              <div class="field">
                <label class="field__label" for="signup-key-file">
                  Key file
                </label>
                <input
                  id="signup-key-file"
                  class="field__file"
                  type="file"
                  accept=".json,application/json"
                  onChange={(event) => setKeyFile(event.currentTarget.files?.[0] ?? null)}
                />
              </div>
              <Field
                id="signup-key-passphrase"
                label="Key file passphrase"
                type="password"
                value={passphrase}
                onValue={setPassphrase}
                autoComplete="off"
              />
            </div>
          ) : null}
        </fieldset>
        <Alert message={action.error} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Create account
          </button>
          <Busy pending={action.pending} text="Creating your keys…" />
        </div>
      </form>
      <p class="links">
        Already have an account? <RouteLink href="/login">Log in</RouteLink>
      </p>
    </Page>
  );
}

/** `/recover`: a new password with the recovery code. */
export function RecoverPage() {
  const { account } = useApp();
  const [username, setUsername] = useState(account.user.value?.username ?? "");
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const action = useAction();
  return (
    <Page
      id="recover"
      title="Reset your password"
      lead={
        <p>
          Your recovery code unlocks your keys without your password. You choose a new password, and get a new
          recovery code: the old one stops working.
        </p>
      }
    >
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const problem = newPasswordProblem(password, repeat);
          if (problem !== null) {
            action.setError(problem);
            return;
          }
          void action.run(async () => {
            await account.recover(username, code, password);
          });
        }}
      >
        <Field
          id="recover-username"
          label="Username"
          value={username}
          onValue={setUsername}
          autoComplete="username"
          required
        />
        <Field
          id="recover-code"
          label="Recovery code"
          value={code}
          onValue={setCode}
          autoComplete="off"
          mono
          required
          hint="32 letters and digits, for example 7Q2M-…; case, spaces and dashes do not matter."
        />
        <Field
          id="recover-password"
          label="New password"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="new-password"
          required
          hint="At least 10 characters."
        />
        <Field
          id="recover-repeat"
          label="Repeat new password"
          type="password"
          value={repeat}
          onValue={setRepeat}
          autoComplete="new-password"
          required
        />
        <Alert message={action.error} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Reset password
          </button>
          <Busy pending={action.pending} />
        </div>
      </form>
      <p class="links">
        <RouteLink href="/login">Back to log in</RouteLink>
      </p>
    </Page>
  );
}

/** `/confirm#c=<token>`: redeem the emailed link once. */
export function ConfirmPage() {
  const { account, router } = useApp();
  const token = confirmTokenFrom(router.hash.value) ?? "";
  const [result, setResult] = useState<{ state: UserState } | { error: string } | null>(null);
  useEffect(() => {
    let current = true;
    setResult(null);
    account.confirmEmail(token).then(
      (state) => {
        if (current) {
          setResult({ state });
        }
      },
      (error: unknown) => {
        if (current) {
          setResult({ error: error instanceof Error ? error.message : String(error) });
        }
      },
    );
    return () => {
      current = false;
    };
  }, [account, token]);

  if (result === null) {
    return (
      <Page id="confirm" title="Confirming your email…">
        <Busy pending text="Checking the link…" />
      </Page>
    );
  }
  if ("error" in result) {
    return (
      <Page id="confirm" title="Email not confirmed">
        <Alert message={result.error} />
        <p class="links">
          <RouteLink href="/login">Log in</RouteLink>
        </p>
      </Page>
    );
  }
  return (
    <Page id="confirm" title="Email confirmed">
      <p>
        {result.state === "active"
          ? "Your account is active. You can log in now."
          : "Thank you. An administrator still has to approve your account; you will get an email."}
      </p>
      <p class="links">
        <RouteLink href="/login">Log in</RouteLink>
      </p>
    </Page>
  );
}
