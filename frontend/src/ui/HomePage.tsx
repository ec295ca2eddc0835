/**
 * `/app` while unlocked: who is signed in, their safety code, and the account
 * tools (lock, log out, change password, export keys, rotate keys, invite).
 */

import { useEffect, useState } from "preact/hooks";
import { type InviteResult, keyFileName, MAX_INVITE_DAYS, newPasswordProblem, type Role } from "../state";
import { FoundingSection } from "./FoundingSection";
import { Alert, Busy, Field, RouteLink, SafetyCode, Status, useAction, useApp } from "./kit";

const ROLE_NAMES: Readonly<Record<Role, string>> = { owner: "Owner", admin: "Admin", member: "Member" };

/** The unlocked home page. */
export function HomePage() {
  const { account, admin, genesis } = useApp();
  const user = account.user.value;
  const identity = account.identity.value;
  const logout = useAction();
  const lock = useAction();
  const isAdmin = admin.isAdmin.value;
  useEffect(() => {
    if (isAdmin) {
      // Only to know whether to offer the Signup requests page.
      void admin.loadRequests().catch(() => undefined);
    }
  }, [admin, isAdmin]);
  if (user === null || identity === null) {
    return null; // the route guards show another page
  }
  const canInvite = account.canInvite.value;
  const showRequests =
    isAdmin && (account.tenant.value?.signupPolicy === "approval" || (admin.requests.value?.length ?? 0) > 0);
  return (
    <div class="home">
      <section class="page" aria-labelledby="home-title">
        <div class="home__head">
          <div>
            <h2 class="page__title" id="home-title">
              Signed in as {user.username}
            </h2>
            <p class="home__role">
              Role: <span class="badge">{ROLE_NAMES[user.role]}</span>
            </p>
          </div>
          <div class="actions actions--tight">
            <button
              type="button"
              class="button"
              disabled={lock.pending}
              onClick={() => void lock.run(() => account.lock())}
            >
              Lock
            </button>
            <button
              type="button"
              class="button"
              disabled={logout.pending}
              onClick={() => void logout.run(() => account.logOut())}
            >
              Log out
            </button>
          </div>
        </div>
        <Alert message={lock.error ?? logout.error} />
        <Status message={account.storageWarning.value} />
        <nav class="links" aria-label="Workspace">
          <RouteLink href="/app/rooms">Rooms</RouteLink>
          <RouteLink href="/app/members">Members</RouteLink>
          <RouteLink href="/app/audit">Audit log</RouteLink>
          {showRequests ? <RouteLink href="/app/requests">Signup requests</RouteLink> : null}
          {canInvite ? (
            <a class="link" href="/admin/">
              Admin panel
            </a>
          ) : null}
        </nav>
      </section>

      <FoundingSection />

      <section class="section" aria-labelledby="safety-title">
        <h3 class="section__title" id="safety-title">
          Your safety code
        </h3>
        <p class="section__text">
          Compare it with the people you talk to, side by side or on a call. When it matches what they see for
          you, your messages reach you and nobody else.
        </p>
        <SafetyCode symbols={identity.safetyCode} compact={false} />
        <p class="fingerprint">
          <span class="fingerprint__label">Fingerprint</span>
          <code class="fingerprint__value">{identity.fingerprintGroups.join(" ")}</code>
        </p>
      </section>

      <ChangePasswordSection />
      <ExportKeysSection username={user.username} />
      {account.canRotateKeys.value ? <RotateKeysSection /> : null}
      {canInvite && !genesis.pending.value ? <InviteSection /> : null}
    </div>
  );
}

function ChangePasswordSection() {
  const { account } = useApp();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  return (
    <section class="section" aria-labelledby="password-title">
      <h3 class="section__title" id="password-title">
        Change password
      </h3>
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setDone(null);
          const problem = newPasswordProblem(next, repeat);
          if (problem !== null) {
            action.setError(problem);
            return;
          }
          void action.run(async () => {
            await account.changePassword(current, next);
            setCurrent("");
            setNext("");
            setRepeat("");
            setDone("Password changed. Your other sessions have been logged out.");
          });
        }}
      >
        <Field
          id="password-current"
          label="Current password"
          type="password"
          value={current}
          onValue={setCurrent}
          autoComplete="current-password"
          required
        />
        <Field
          id="password-new"
          label="New password"
          type="password"
          value={next}
          onValue={setNext}
          autoComplete="new-password"
          required
          hint="At least 10 characters."
        />
        <Field
          id="password-repeat"
          label="Repeat new password"
          type="password"
          value={repeat}
          onValue={setRepeat}
          autoComplete="new-password"
          required
        />
        <Alert message={action.error} />
        <Status message={done} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Change password
          </button>
          <Busy pending={action.pending} text="Re-encrypting your keys…" />
        </div>
      </form>
    </section>
  );
}

/** Offer `text` as a download named `name` (a Blob URL; nothing leaves the browser). */
function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  anchor.rel = "noopener";
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function ExportKeysSection({ username }: { username: string }) {
  const { account } = useApp();
  const [passphrase, setPassphrase] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const action = useAction();
  return (
    <section class="section" aria-labelledby="export-title">
      <h3 class="section__title" id="export-title">
        Back up your keys
      </h3>
      <p class="section__text">
        A key file holds your keys, encrypted under a passphrase you choose. With it you can join another
        workspace, or start again, with the same identity and safety code.
      </p>
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setDone(null);
          void action.run(async () => {
            const text = await account.exportKeys(passphrase);
            const name = keyFileName(username);
            download(text, name);
            setPassphrase("");
            setDone(`Saved as ${name}. Keep the file and its passphrase apart.`);
          });
        }}
      >
        <Field
          id="export-passphrase"
          label="Key file passphrase"
          type="password"
          value={passphrase}
          onValue={setPassphrase}
          autoComplete="new-password"
          required
          hint="At least 10 characters; you need it to use the file."
        />
        <Alert message={action.error} />
        <Status message={done} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Export key file
          </button>
          <Busy pending={action.pending} text="Encrypting…" />
        </div>
      </form>
    </section>
  );
}

/** Replace the identity keys (shown only on a tenant whose trust chain is founded). */
function RotateKeysSection() {
  const { account } = useApp();
  const [password, setPassword] = useState("");
  const action = useAction();
  return (
    <section class="section" aria-labelledby="rotate-title">
      <h3 class="section__title" id="rotate-title">
        Rotate your keys
      </h3>
      <p class="section__text">
        If a device with PiPo on it was lost or may be in someone else's hands, replace your keys. You get new
        keys and a new safety code: tell the people you talk to, so they compare the new one. You also get a
        new recovery code; the old one stops working. Key files you exported hold the old keys.
      </p>
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          void action.run(async () => {
            // On success the one-time recovery code page takes over, then /app with the new safety code.
            await account.rotateKeys(password);
          });
        }}
      >
        <Field
          id="rotate-password"
          label="Password for key rotation"
          type="password"
          value={password}
          onValue={setPassword}
          autoComplete="current-password"
          required
          hint="Your current password; it stays the same."
        />
        <Alert message={action.error} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Rotate my keys
          </button>
          <Busy pending={action.pending} text="Making and encrypting your new keys…" />
        </div>
      </form>
    </section>
  );
}

function InviteSection() {
  const { account } = useApp();
  const [role, setRole] = useState<"member" | "admin">("member");
  const [days, setDays] = useState("7");
  const [pgpKey, setPgpKey] = useState("");
  const [invite, setInvite] = useState<InviteResult | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const action = useAction();
  return (
    <section class="section" aria-labelledby="invite-title">
      <h3 class="section__title" id="invite-title">
        Invite someone
      </h3>
      <p class="section__text">
        An invite link lets one person join directly, with the role you choose. The secret part of the link
        never reaches the server.
      </p>
      <form
        class="form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          setCopied(null);
          void action.run(async () => {
            setInvite(null);
            const trimmed = pgpKey.trim();
            setInvite(
              await account.createInvite({
                role,
                days: Number(days),
                ...(trimmed === "" ? {} : { pgpKey: trimmed }),
              }),
            );
          });
        }}
      >
        <div class="field-row">
          <div class="field">
            <label class="field__label" for="invite-role">
              Role
            </label>
            <select
              id="invite-role"
              class="field__input"
              value={role}
              onChange={(event) => setRole(event.currentTarget.value === "admin" ? "admin" : "member")}
            >
              <option value="member">Member</option>
              <option value="admin">Admin</option>
            </select>
          </div>
          <Field
            id="invite-days"
            label="Valid for (days)"
            type="number"
            value={days}
            onValue={setDays}
            min={1}
            max={MAX_INVITE_DAYS}
            required
          />
        </div>
        <div class="field">
          <label class="field__label" for="invite-pgp">
            Invitee's OpenPGP public key
          </label>
          <textarea
            id="invite-pgp"
            class="field__input field__input--mono field__textarea"
            rows={4}
            value={pgpKey}
            spellcheck={false}
            aria-describedby="invite-pgp-hint"
            onInput={(event) => setPgpKey(event.currentTarget.value)}
          />
          <p class="field__hint" id="invite-pgp-hint">
            Optional. Paste an armored key (“-----BEGIN PGP PUBLIC KEY BLOCK-----”) to get the invite
            encrypted to it.
          </p>
        </div>
        <Alert message={action.error} />
        <div class="actions">
          <button type="submit" class="button button--primary" disabled={action.pending}>
            Create invite
          </button>
          <Busy pending={action.pending} />
        </div>
      </form>
      {invite === null ? null : (
        <div class="result">
          <div class="field">
            <label class="field__label" for="invite-link">
              Invite link
            </label>
            <div class="copy-row">
              <input
                id="invite-link"
                class="field__input field__input--mono"
                type="text"
                readOnly
                value={invite.link}
                onFocus={(event) => event.currentTarget.select()}
              />
              <button
                type="button"
                class="button"
                onClick={() => {
                  void copyText(invite.link, "invite-link").then(setCopied);
                }}
              >
                Copy link
              </button>
            </div>
            <p class="field__hint">
              {ROLE_NAMES[invite.role]} · works once, until {new Date(invite.expiresAt).toLocaleString()}.
            </p>
          </div>
          <Status message={copied} />
          {invite.encrypted === null ? null : (
            <div class="field">
              <label class="field__label" for="invite-encrypted">
                Encrypted invite
              </label>
              <textarea
                id="invite-encrypted"
                class="field__input field__input--mono field__textarea"
                rows={8}
                readOnly
                value={invite.encrypted}
                onFocus={(event) => event.currentTarget.select()}
              />
              <p class="field__hint">Send this to the invitee; only their private key can open it.</p>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

/** Copy to the clipboard; without clipboard access, select the field so the person can copy it. */
async function copyText(text: string, fallbackInputId: string): Promise<string> {
  try {
    await navigator.clipboard.writeText(text);
    return "Link copied.";
  } catch {
    const input = document.getElementById(fallbackInputId);
    if (input instanceof HTMLInputElement) {
      input.focus();
      input.select();
    }
    return "Press Ctrl+C (or ⌘C) to copy the selected link.";
  }
}
