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

import { type LinkJson, LinkType, type PolicyMode, type Role, signLink } from "./chain";
import { b64uDecodeExact } from "./encoding";
import { ChainError } from "./errors";
import type { IdentityBundleJson, IdentityKeys } from "./identity";

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
  });
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
