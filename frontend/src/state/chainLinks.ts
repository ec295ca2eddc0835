/**
 * Which trust-chain link a flow appends, and appending on a fresh head
 * (PROTOCOL.md §5.6, §6.2, §6.7). Pure decisions plus one retry helper; the
 * signing itself happens where the keys are (account.ts, through
 * src/protocol/links.ts).
 */

import type { LinkHead } from "../protocol";
import { ApiError } from "../transport/api";

/** The tenant facts a signup decides on (`GET /api/tenant`). */
export interface ChainTenantFacts {
  readonly signupPolicy: "open" | "approval" | "domain" | "invite";
  readonly allowedDomains: readonly string[];
  readonly chainFounded: boolean;
  readonly founding: "enrolment" | "first_user";
  readonly serverKey: string | null;
  /** Root seats of a multi-root genesis (0 or absent: one root founds it alone). */
  readonly rootSeats?: number;
}

/** What a signup carries for the chain. */
export type SignupChainPlan =
  /** The founding genesis, signed by the newcomer (with the enrolment token of a `#e=` link). */
  | { readonly kind: "genesis"; readonly enrolmentToken?: string }
  /** A root seat of a multi-root genesis: enrol now, sign the server's draft once every root has. */
  | { readonly kind: "seat"; readonly enrolmentToken: string }
  /** The newcomer's own admit: open policy, or an invite (with its role and token). */
  | {
      readonly kind: "admit";
      readonly how: "open" | "invite";
      readonly role: "member" | "admin";
      readonly token?: string;
    }
  /** No link: a tenant without a chain, or an approval / domain signup (admitted later). */
  | { readonly kind: "none" };

/**
 * The chain link a signup must carry:
 * - a `#e=` enrolment link, or a first-user demo tenant without a genesis: the genesis
 *   (on a tenant with several root seats: no link, the seat; the genesis is signed later);
 * - a chained tenant: with an invite, an `invite` admit of the invite's role;
 *   under the open policy, an `open` admit as member; otherwise none
 *   (approval and domain signups are admitted later);
 * - an unchained enrolment tenant without `#e=`: none (the legacy path).
 */
export function signupChainPlan(args: {
  readonly tenant: ChainTenantFacts | null;
  readonly enrolmentToken?: string | null | undefined;
  readonly inviteToken?: string | null | undefined;
  readonly inviteRole?: "member" | "admin" | null | undefined;
}): SignupChainPlan {
  const { tenant } = args;
  const enrolment = args.enrolmentToken ?? null;
  if (enrolment !== null && enrolment !== "") {
    return (tenant?.rootSeats ?? 0) > 1
      ? { kind: "seat", enrolmentToken: enrolment }
      : { kind: "genesis", enrolmentToken: enrolment };
  }
  if (tenant === null) {
    return { kind: "none" };
  }
  if (!tenant.chainFounded) {
    return tenant.founding === "first_user" ? { kind: "genesis" } : { kind: "none" };
  }
  const invite = args.inviteToken ?? null;
  if (invite !== null && invite !== "") {
    return { kind: "admit", how: "invite", role: args.inviteRole ?? "member", token: invite };
  }
  if (tenant.signupPolicy === "open") {
    return { kind: "admit", how: "open", role: "member" };
  }
  return { kind: "none" };
}

/** Chain codes that mean "someone appended meanwhile": build on the new head and try once more. */
export const STALE_HEAD_CODES: readonly string[] = ["seq_gap", "wrong_prev"];

/** Whether `error` says the link was built on a head that is no longer the head. */
export function isStaleHead(error: unknown): boolean {
  return error instanceof ApiError && STALE_HEAD_CODES.includes(error.code);
}

/**
 * Run `attempt` on the current head; if the server answers `seq_gap` or
 * `wrong_prev`, fetch the head again and run it once more.
 */
export async function onFreshHead<T>(
  fetchHead: () => Promise<LinkHead>,
  attempt: (head: LinkHead) => Promise<T>,
): Promise<T> {
  const head = await fetchHead();
  try {
    return await attempt(head);
  } catch (error) {
    if (!isStaleHead(error)) {
      throw error;
    }
    return attempt(await fetchHead());
  }
}
