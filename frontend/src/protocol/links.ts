/**
 * Builders for the links a person's browser signs (PROTOCOL.md §6.2): the
 * founding genesis, admits, invites, role changes and removals.
 *
 * Each takes the tenant, the head the link extends (`GET /api/chain/head`:
 * `seq` and the b64u `hash`, or -1 and null before the genesis), a `ts` and
 * the signer's {@link IdentityKeys}, and returns the link's wire JSON. Nothing
 * is checked here beyond the head: the server and every client judge the
 * link with `ChainState.apply`. Raw keys stay in src/protocol; the state
 * layer passes the `IdentityKeys` object it holds.
 */

import { type LinkJson, LinkType, type PolicyMode, parseGenesisDraft, type Role, signLink } from "./chain";
import { b64uDecodeExact, b64uEncode } from "./encoding";
import { ChainError } from "./errors";
import type { IdentityBundleJson, IdentityKeys } from "./identity";
import { SignatureTag, sign } from "./signing";

/** The chain head a new link extends: what `GET /api/chain/head` answers. */
export interface LinkHead {
  /** Seq of the last link; -1 before the genesis. */
  readonly seq: number;
  /** b64u hash of the last link; null before the genesis. */
  readonly hash: string | null;
}

/** What every builder needs. */
export interface LinkContext {
  readonly tenant: string;
  readonly head: LinkHead;
  /** Unix milliseconds (the server refuses more than 5 minutes from its clock). */
  readonly ts: number;
  /** The signer. */
  readonly keys: IdentityKeys;
}

type Body = Record<string, unknown>;

function build(context: LinkContext, type: LinkType, body: Body): LinkJson {
  const { tenant, head, ts, keys } = context;
  if (!Number.isSafeInteger(head.seq) || head.seq < -1) {
    throw new ChainError("malformed_link", "the head's seq must be an integer >= -1");
  }
  if (head.seq < 0 !== (head.hash === null)) {
    throw new ChainError("malformed_link", "a head has a hash exactly when it has links");
  }
  const prev = head.hash === null ? null : b64uDecodeExact(head.hash, 32, "head.hash");
  return signLink({ tenant, seq: head.seq + 1, prev, ts, type, body, seed: keys.signSeed }).toJson();
}

/** A signup policy as a genesis or policy link carries it. */
export interface LinkPolicy {
  readonly mode: PolicyMode;
  readonly domains: readonly string[];
}

/**
 * The genesis of a tenant founded by one root admin (the signer; no cosigs,
 * no PGP anchors): roots = [the signer's own bundle].
 *
 * @param serverKey - the tenant's `server_key` (b64u) from `GET /api/tenant`.
 */
export function makeGenesisLink(
  args: Omit<LinkContext, "head"> & {
    readonly head?: LinkHead;
    readonly bundle: IdentityBundleJson;
    readonly policy: LinkPolicy;
    readonly serverKey: string;
    /** OpenPGP fingerprints (lower-case hex) that will anchor the genesis (§6.5); none if empty. */
    readonly pgp?: readonly string[];
  },
): LinkJson {
  const head = args.head ?? { seq: -1, hash: null };
  if (head.seq !== -1) {
    throw new ChainError("duplicate_genesis", "a genesis starts an empty chain");
  }
  return build({ ...args, head }, LinkType.GENESIS, {
    roots: [args.bundle],
    policy: { mode: args.policy.mode, domains: [...args.policy.domains] },
    server_key: args.serverKey,
    ...(args.pgp === undefined || args.pgp.length === 0 ? {} : { pgp: [...args.pgp] }),
  });
}

/** What a root admin expects of the genesis the server drafted (`GET /api/tenant`). */
export interface GenesisExpectations {
  readonly tenant: string;
  readonly serverKey: string;
  readonly policy: LinkPolicy;
  readonly pgp: readonly string[];
}

/**
 * A root admin's signature over a drafted multi-root genesis (PROTOCOL.md
 * §6.8), after checking that the draft is a well-formed genesis of this
 * tenant that names this person's own keys as a root, the tenant's server key,
 * its policy and PGP fingerprints, and the first root as signer. The other
 * roots are whoever the draft lists: the person compares their safety codes
 * before signing (the UI shows them).
 *
 * @returns the signature, base64url.
 * @throws {@link ChainError} for a draft that is malformed or not as expected.
 */
export function signGenesisDraft(draft: unknown, expected: GenesisExpectations, keys: IdentityKeys): string {
  const { link, message } = parseGenesisDraft(draft);
  const refuse = (why: string): never => {
    throw new ChainError("malformed_link", `The drafted genesis ${why}: do not sign it.`);
  };
  if (link.tenant !== expected.tenant) {
    refuse("is for another workspace");
  }
  if (link.seq !== 0 || link.prev !== null) {
    refuse("does not start the chain");
  }
  const body = link.body as Record<string, unknown>;
  if (body.server_key !== expected.serverKey) {
    refuse("names another server key");
  }
  const policy = body.policy as { mode: string; domains: string[] };
  if (
    policy.mode !== expected.policy.mode ||
    JSON.stringify([...policy.domains].sort()) !== JSON.stringify([...expected.policy.domains].sort())
  ) {
    refuse("has another signup policy than the workspace's");
  }
  const pgp = Array.isArray(body.pgp) ? (body.pgp as string[]) : [];
  if (JSON.stringify(pgp) !== JSON.stringify([...expected.pgp])) {
    refuse("names other PGP keys than the workspace's");
  }
  const roots = link.bundles ?? [];
  if (roots.some((each) => each.tenant !== expected.tenant)) {
    throw new ChainError(
      "bundle_mismatch",
      "The drafted genesis names a root of another workspace: do not sign it.",
    );
  }
  if (roots.some((each) => b64uEncode(each.signPub) === expected.serverKey)) {
    throw new ChainError("key_in_use", "The drafted genesis gives a root the server's key: do not sign it.");
  }
  const mine = roots.find(
    (root) => equalKeys(root.signPub, keys.signPub) && equalKeys(root.boxPub, keys.boxPub),
  );
  if (mine === undefined) {
    refuse("does not name your keys as a root");
  }
  const first = roots[0];
  if (first === undefined || !equalKeys(link.signer, first.signPub)) {
    refuse("is not signed first by its first root");
  }
  return b64uEncode(sign(SignatureTag.LINK, message, keys.signSeed));
}

function equalKeys(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/** How the signer admits: `approval` (an admin signs), `open` or `invite` (the newcomer signs). */
export type SelfOrAdminHow = "approval" | "open" | "invite";

/**
 * An admit. For `open` and `invite` the signer is the newcomer (the bundle's
 * own keys); for `approval` an admin. `token` (b64u invite token) is given
 * exactly for `invite`.
 */
export function makeAdmitLink(
  args: LinkContext & {
    readonly bundle: IdentityBundleJson | Body;
    readonly role: "member" | "admin";
    readonly how: SelfOrAdminHow;
    readonly token?: string;
  },
): LinkJson {
  const body: Body = { bundle: args.bundle, role: args.role, how: args.how };
  if (args.how === "invite") {
    if (args.token === undefined) {
      throw new ChainError("malformed_link", "an invite admit carries the invite token");
    }
    body.token = args.token;
  }
  return build(args, LinkType.ADMIT, body);
}

/** An invite, signed by an admin: `tokenHash` is b64u SHA-256(token), `expires` Unix ms. */
export function makeInviteLink(
  args: LinkContext & {
    readonly tokenHash: string;
    readonly role: "member" | "admin";
    readonly expires: number;
  },
): LinkJson {
  return build(args, LinkType.INVITE, { token_hash: args.tokenHash, role: args.role, expires: args.expires });
}

/** A tenant role change, signed by an admin (an owner for anything touching owners). */
export function makeSetRoleLink(
  args: LinkContext & { readonly user: string; readonly role: Role },
): LinkJson {
  return build(args, LinkType.SET_ROLE, { user: args.user, role: args.role });
}

/** A new room; the signer becomes its owner (§6.2). `room` is a fresh lower-case UUID. */
export function makeRoomCreateLink(
  args: LinkContext & {
    readonly room: string;
    readonly kind: "channel" | "private" | "dm";
    readonly history: "all" | "joined";
  },
): LinkJson {
  return build(args, LinkType.ROOM_CREATE, { room: args.room, kind: args.kind, history: args.history });
}

/** Someone into a room (or the signer joining a channel). */
export function makeRoomAddLink(
  args: LinkContext & {
    readonly room: string;
    readonly user: string;
    readonly role: "owner" | "admin" | "member";
  },
): LinkJson {
  return build(args, LinkType.ROOM_ADD, { room: args.room, user: args.user, role: args.role });
}

/** Someone out of a room (or the signer leaving it). */
export function makeRoomRemoveLink(
  args: LinkContext & { readonly room: string; readonly user: string },
): LinkJson {
  return build(args, LinkType.ROOM_REMOVE, { room: args.room, user: args.user });
}

/** A removal from the tenant, signed by an admin or by the user themself (leaving). */
export function makeRemoveLink(args: LinkContext & { readonly user: string }): LinkJson {
  return build(args, LinkType.REMOVE, { user: args.user });
}

/**
 * A key rotation, signed by the user's CURRENT key (the signer): `bundle` is
 * the new identity bundle, of the same tenant and user, with a new `sign_pub`.
 */
export function makeRotateKeysLink(
  args: LinkContext & { readonly user: string; readonly bundle: IdentityBundleJson },
): LinkJson {
  return build(args, LinkType.ROTATE_KEYS, { user: args.user, bundle: args.bundle });
}
