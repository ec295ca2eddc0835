/**
 * The trust chain in words: how-labels, audit-log sentences, the rollback /
 * fork / fingerprint decision and the sentences of a refused chain. Pure
 * functions over links that `verifyChain` has already accepted, so they are
 * tested without a server, a browser or libsodium.
 */

/** How a member was admitted (PROTOCOL.md §6.2). */
export type MemberHow = "genesis" | "approval" | "invite" | "open" | "domain";

/** Why a chain is refused: a chain error code (§6.4), or the client's own history checks (§6.6). */
export interface ChainProblem {
  /** A `ChainError` code, or `fork`, `rollback`, `fingerprint_mismatch`. */
  readonly code: string;
  /** A sentence for people, naming the problem. */
  readonly message: string;
}

/** The last head this browser verified (b64u hashes). */
export interface KnownHead {
  readonly seq: number;
  readonly hash: string;
  readonly fingerprint: string;
}

/** What the history checks need of a freshly verified chain. */
export interface FetchedChain {
  /** Seq of its last link; -1 when it is empty. */
  readonly headSeq: number;
  /** b64u genesis hash; null when empty. */
  readonly fingerprint: string | null;
  /** b64u hash of the link at `seq` (0 ≤ seq ≤ headSeq), else null. */
  hashAt(seq: number): string | null;
}

/** One row of the audit log. */
export interface AuditEntry {
  readonly seq: number;
  readonly type: string;
  /** What happened, as a sentence without a final stop, e.g. "alice admitted bob (approval)". */
  readonly summary: string;
  /** The member the link is about (the signer for policy, invite and room creation). */
  readonly who: string;
  /** Username of the signer, or "server" for a server-attested admission. */
  readonly signedBy: string;
  /** Unix milliseconds of the link. */
  readonly ts: number;
  /** `ts` as "YYYY-MM-DD HH:MM UTC". */
  readonly when: string;
  /** `ts` as an ISO 8601 string (for `<time datetime>`); "" if out of range. */
  readonly iso: string;
}

/** Said after every refusal. */
export const REFUSAL_CONSEQUENCE = "PiPo will not encrypt to anyone until this is resolved.";

const HOW_LABELS: Readonly<Record<MemberHow, string>> = {
  genesis: "founding owner (signed the genesis)",
  approval: "approved by an admin",
  invite: "admitted by invite",
  open: "joined under the open sign-up policy",
  domain: "server-attested (confirmed email domain)",
};

/** How a member was admitted, in words (e.g. "admitted by invite"). */
export function howLabel(how: MemberHow): string {
  return HOW_LABELS[how];
}

/** "YYYY-MM-DD HH:MM UTC" for Unix milliseconds (the number itself if out of range). */
export function formatWhen(ts: number): string {
  const date = new Date(ts);
  if (!Number.isFinite(date.getTime())) {
    return String(ts);
  }
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function isoOf(ts: number): string {
  const date = new Date(ts);
  return Number.isFinite(date.getTime()) ? date.toISOString() : "";
}

// --- Audit log ----------------------------------------------------------------------

type Json = Record<string, unknown>;

function asObject(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** "a", "a and b", "a, b and c". */
function andList(items: readonly string[]): string {
  if (items.length <= 1) {
    return items[0] ?? "";
  }
  return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** A room by the start of its id (its name is encrypted; the id is all the chain knows). */
export function roomLabel(room: string): string {
  return `room ${room.slice(0, 8)}`;
}

const ROOM_KIND_WORDS: Readonly<Record<string, string>> = {
  channel: "channel",
  private: "private room",
  dm: "direct conversation",
};

function policyWords(policy: Json): string {
  const mode = text(policy.mode);
  const domains = Array.isArray(policy.domains) ? policy.domains.map(text) : [];
  switch (mode) {
    case "open":
      return "open sign-up";
    case "approval":
      return "sign-up with admin approval";
    case "domain":
      return `sign-up by confirmed email at ${andList(domains)}`;
    case "invite":
      return "sign-up by invite only";
    default:
      return mode;
  }
}

function article(role: string): string {
  return role === "admin" || role === "owner" ? `an ${role}` : `a ${role}`;
}

/**
 * Turns verified links into audit entries, one at a time, remembering whose
 * signing key is whose as it goes (so a rotated-away key still names its
 * owner for the links it signed before).
 */
export class AuditWalker {
  /** b64u sign_pub -> username. */
  readonly #keys = new Map<string, string>();
  #serverKey = "";

  /** The entry for the next link of the chain (already verified by `verifyChain`). */
  next(data: unknown): AuditEntry {
    const link = asObject(data);
    const body = asObject(link.body);
    const type = text(link.type);
    const signerKey = text(link.signer);
    const seq = typeof link.seq === "number" ? link.seq : -1;
    const ts = typeof link.ts === "number" ? link.ts : 0;
    const bundle = asObject(body.bundle);
    const bundleUser = text(bundle.user);

    // Keys that this very link introduces and may sign with.
    if (type === "genesis") {
      this.#serverKey = text(body.server_key);
      for (const root of Array.isArray(body.roots) ? body.roots : []) {
        const rootBundle = asObject(root);
        this.#keys.set(text(rootBundle.sign_pub), text(rootBundle.user));
      }
    }
    if (type === "admit") {
      this.#keys.set(text(bundle.sign_pub), bundleUser);
    }
    const signedBy =
      signerKey !== "" && signerKey === this.#serverKey ? "server" : (this.#keys.get(signerKey) ?? "unknown");
    if (type === "rotate_keys") {
      this.#keys.set(text(bundle.sign_pub), bundleUser);
    }
    const [summary, who] = describe(type, body, signedBy);
    return { seq, type, summary, who, signedBy, ts, when: formatWhen(ts), iso: isoOf(ts) };
  }
}

function describe(type: string, body: Json, signer: string): [summary: string, who: string] {
  const user = text(body.user);
  const role = text(body.role);
  const room = text(body.room);
  switch (type) {
    case "genesis": {
      const roots = (Array.isArray(body.roots) ? body.roots : []).map((root) => text(asObject(root).user));
      return [
        `${signer} created the workspace with ${roots.length === 1 ? "owner" : "owners"} ${andList(roots)} (${policyWords(asObject(body.policy))})`,
        andList(roots),
      ];
    }
    case "policy":
      return [`${signer} set the sign-up policy to ${policyWords(body)}`, signer];
    case "invite":
      return [
        `${signer} created an invite for ${article(role)}, valid until ${formatWhen(Number(body.expires))}`,
        signer,
      ];
    case "admit": {
      const newcomer = text(asObject(body.bundle).user);
      const as = role === "member" ? "" : ` as ${role}`;
      switch (text(body.how)) {
        case "approval":
          return [`${signer} admitted ${newcomer}${as} (approval)`, newcomer];
        case "invite":
          return [`${newcomer} joined${as} with an invite`, newcomer];
        case "open":
          return [`${newcomer} joined (open sign-up)`, newcomer];
        case "domain":
          return [`the server admitted ${newcomer} (confirmed email domain)`, newcomer];
        default:
          return [`${signer} admitted ${newcomer}`, newcomer];
      }
    }
    case "set_role":
      return [`${signer} changed ${user}'s role to ${role}`, user];
    case "remove":
      return [user === signer ? `${user} left the workspace` : `${signer} removed ${user}`, user];
    case "rotate_keys":
      return [`${user} rotated their keys`, user];
    case "room_create": {
      const kind = ROOM_KIND_WORDS[text(body.kind)] ?? "room";
      return [`${signer} created a ${kind} (${roomLabel(room)})`, signer];
    }
    case "room_add":
      if (user === signer) {
        return [`${user} joined ${roomLabel(room)}`, user];
      }
      return [`${signer} added ${user} to ${roomLabel(room)}${role === "member" ? "" : ` as ${role}`}`, user];
    case "room_remove":
      return [
        user === signer
          ? `${user} left ${roomLabel(room)}`
          : `${signer} removed ${user} from ${roomLabel(room)}`,
        user,
      ];
    case "room_role":
      return [`${signer} changed ${user}'s role in ${roomLabel(room)} to ${role}`, user];
    default:
      return [`${signer} signed a ${type} link`, signer];
  }
}

/** The audit entries of a whole verified chain, from its genesis. */
export function auditEntries(links: readonly unknown[]): AuditEntry[] {
  const walker = new AuditWalker();
  return links.map((link) => walker.next(link));
}

// --- History checks (rollback, fork, pinned fingerprint) -----------------------------

/**
 * A chain's {@link FetchedChain} from its verified links in order from the
 * genesis and the b64u hash of the last one. Since `verifyChain` checked every
 * `prev`, the hash of link `s` is the `prev` of link `s + 1`: nothing is hashed
 * again.
 */
export function fetchedChainOf(links: readonly unknown[], headHash: string | null): FetchedChain {
  const headSeq = links.length - 1;
  const hashAt = (seq: number): string | null => {
    if (!Number.isInteger(seq) || seq < 0 || seq > headSeq) {
      return null;
    }
    if (seq === headSeq) {
      return headHash;
    }
    const prev = asObject(links[seq + 1]).prev;
    return typeof prev === "string" ? prev : null;
  };
  return { headSeq, fingerprint: headSeq < 0 ? null : hashAt(0), hashAt };
}

function refusal(code: string, what: string): ChainProblem {
  return { code, message: `${what} ${REFUSAL_CONSEQUENCE}` };
}

/**
 * Whether a verified chain may be trusted given this browser's history
 * (PROTOCOL.md §6.6): it must start from the pinned fingerprint, if any, and
 * extend the head verified before, if any. Null when it may; else the problem:
 * `fingerprint_mismatch`, `rollback` (the chain ends before the known head)
 * or `fork` (another genesis, or another link at the known head's seq).
 */
export function checkHistory(
  chain: FetchedChain,
  known: KnownHead | null,
  pinned: string | null,
): ChainProblem | null {
  if (pinned !== null) {
    if (chain.fingerprint === null) {
      return refusal(
        "fingerprint_mismatch",
        "The invite link you joined with names a workspace fingerprint, but the server shows no trust chain at all.",
      );
    }
    if (chain.fingerprint !== pinned) {
      return refusal(
        "fingerprint_mismatch",
        "The workspace fingerprint the server shows does not match the one in the invite link you joined with: this may not be the workspace you were invited to.",
      );
    }
  }
  if (known === null) {
    return null;
  }
  if (chain.fingerprint !== null && chain.fingerprint !== known.fingerprint) {
    return refusal(
      "fork",
      "The server's trust chain starts from a different genesis than the one this browser verified before (a fork): this is not the same workspace history.",
    );
  }
  if (chain.headSeq < known.seq) {
    return rollbackProblem(chain.headSeq, known.seq);
  }
  if (chain.hashAt(known.seq) !== known.hash) {
    return forkProblem(known.seq);
  }
  return null;
}

/** The server's chain ends at `serverSeq` (-1: empty), before the head verified here, `knownSeq`. */
export function rollbackProblem(serverSeq: number, knownSeq: number): ChainProblem {
  return refusal(
    "rollback",
    `The server's trust chain ${serverSeq < 0 ? "is empty" : `ends at link #${serverSeq}`}, but this browser already verified it up to link #${knownSeq} (a rollback): links have been taken away.`,
  );
}

/** The server's link at `seq` is not the one verified here. */
export function forkProblem(seq: number): ChainProblem {
  return refusal(
    "fork",
    `The server's trust chain differs at link #${seq} from the one this browser verified before (a fork): the server is showing a different history.`,
  );
}

const CHAIN_ERROR_WORDS: Readonly<Record<string, string>> = {
  malformed_link: "has a malformed link",
  wrong_tenant: "has a link that belongs to another workspace",
  seq_gap: "has a missing or repeated link",
  wrong_prev: "has a link that does not follow on from the one before it",
  ts_backwards: "has a link dated before the one before it",
  clock_skew: "has a link with an impossible time",
  bad_signature: "has a link with a bad signature",
  duplicate_genesis: "has a second genesis",
  genesis_required: "does not start with its genesis",
  unauthorized: "has a link signed by someone who may not sign it",
  policy_forbids: "admits someone the sign-up policy does not allow",
  invite_invalid: "admits someone with an invalid invite",
  invite_used: "uses an invite twice",
  invite_expired: "admits someone with an expired invite",
  already_member: "admits someone who is already a member",
  not_member: "names someone who is not a member",
  key_in_use: "gives someone a key that is already in use",
  last_owner: "takes away the last owner",
  rotation_not_signed_by_old_key: "has a key change that the old key did not sign",
  room_exists: "creates a room that already exists",
  room_unknown: "names a room that does not exist",
  already_in_room: "adds someone to a room they are already in",
  not_in_room: "names someone who is not in the room",
  bundle_mismatch: "has an identity of the wrong workspace or person",
};

/** The problem for a chain that `verifyChain` refused with `code` at the link with seq `seq` (if known). */
export function problemForChainError(code: string, seq: number | null): ChainProblem {
  const what = CHAIN_ERROR_WORDS[code] ?? "has a link that breaks the membership rules";
  const where = seq === null || seq < 0 ? "" : ` (link #${seq})`;
  return refusal(code, `The server's trust chain ${what}${where}.`);
}

/** A PGP key of the genesis (PROTOCOL.md §6.5), for the Audit log page. */
export interface PgpAnchorView {
  /** e.g. "8913 6F7A 98F1 …": groups of four upper-case hex digits. */
  readonly fingerprint: string;
  /** Lower-case hex, as in the genesis's `pgp` list. */
  readonly fingerprintHex: string;
}

/** A PGP fingerprint for people: groups of four upper-case hex digits. */
export function pgpFingerprintGroups(fingerprintHex: string): string {
  return (fingerprintHex.toUpperCase().match(/.{1,4}/g) ?? []).join(" ");
}

export function pgpAnchorView(fingerprintHex: string): PgpAnchorView {
  const hex = fingerprintHex.toLowerCase();
  return { fingerprint: pgpFingerprintGroups(hex), fingerprintHex: hex };
}

/** The `pgp` list of a genesis link that `verifyChain` accepted (empty when absent). */
export function genesisPgpFingerprints(genesis: unknown): string[] {
  const pgp = asObject(asObject(genesis).body).pgp;
  return Array.isArray(pgp) ? pgp.filter((value): value is string => typeof value === "string") : [];
}

const signatureFails = (key: string): string => `the signature by the key ${key} does not verify`;

const ANCHOR_FAILURES: Readonly<Record<string, (key: string) => string>> = {
  bad_pgp_key: (key) => `the OpenPGP key ${key} cannot be read`,
  pgp_not_in_genesis: (key) => `the key ${key} is not one the founding record lists`,
  pgp_key_revoked: (key) => `the key ${key} is revoked`,
  pgp_key_expired: (key) => `the key ${key} has expired`,
  bad_pgp_signature: signatureFails,
  wrong_statement: (key) => `the key ${key} signed something other than this workspace's fingerprint`,
};

/**
 * A genesis PGP anchor that does not hold (a `PgpError` code of
 * `verifyGenesisAnchor`), for the blocking warning. `fingerprintHex` is the
 * key's own fingerprint where it could be read, else the one the server claims.
 */
export function anchorProblem(code: string, fingerprintHex: string): ChainProblem {
  const key = pgpFingerprintGroups(fingerprintHex) || "it names";
  const what = (ANCHOR_FAILURES[code] ?? signatureFails)(key);
  return refusal(
    code,
    `The workspace's founding record claims an OpenPGP signature that does not hold: ${what}.`,
  );
}
