/**
 * The chain store: the tenant's trust chain (PROTOCOL.md §6), verified in
 * this browser, and the only way to get a key to encrypt to.
 *
 * - Once someone is signed in (unlocked, or locked: verifying needs the
 *   session, not the keys), at boot and after every unlock, every page of
 *   `GET /api/chain` is fetched and verified in one pass (`verifyChainAsync`) from
 *   the genesis; {@link ChainStore.refresh} then verifies only the
 *   links after the verified head, from the verified state.
 * - The result must extend the head this browser verified before (kept per
 *   tenant in IndexedDB by `src/protocol/chainStore.ts`) and start from the
 *   fingerprint pinned from an invite link (`#fp=`), else the chain is
 *   refused: a rollback, a fork or a fingerprint mismatch. A link that fails
 *   verification refuses it too. A refusal is for people to see (the UI shows
 *   a blocking warning) and stops all encryption.
 * - {@link ChainStore.sealForMember} seals only to a `box_pub` of the verified
 *   state.
 *
 * The verified `ChainState` stays inside this module; the UI reads plain view
 * models (members, audit entries, fingerprint groups, the problem).
 */

import { batch, computed, effect, type ReadonlySignal, signal, untracked } from "@preact/signals-core";
import {
  b64uDecodeExact,
  b64uEncode,
  ChainError,
  ChainHistory,
  type ChainState,
  fingerprint,
  linkHash,
  loadPinnedFingerprint,
  loadVerifiedHead,
  PgpError,
  safetyCode,
  sealToBoxKey,
  sodiumReady,
  storePinnedFingerprint,
  storeVerifiedHead,
  type VerifiedHead,
  verifyChainAsync,
  verifyGenesisAnchor,
} from "../protocol";
import * as api from "../transport/api";
import type { AccountStore } from "./account";
import {
  type AuditEntry,
  AuditWalker,
  anchorProblem,
  type ChainProblem,
  checkHistory,
  fetchedChainOf,
  forkProblem,
  genesisPgpFingerprints,
  howLabel,
  type MemberHow,
  type PgpAnchorView,
  pgpAnchorView,
  problemForChainError,
  rollbackProblem,
} from "./chainViews";
import type { AppConfig } from "./config";
import { AccountError, errorMessage, normaliseUsername } from "./messages";

/**
 * - `idle`: not verified (signed out, locked before the first sync, or the
 *   chain could not be fetched: see {@link ChainStore.syncError});
 * - `verifying`: fetching and verifying;
 * - `verified`: the chain verified and extends everything seen before;
 * - `empty`: the tenant has no genesis yet (accounts predate the chain);
 * - `refused`: do not trust this workspace: see {@link ChainStore.problem}.
 */
export type ChainStatus = "idle" | "verifying" | "verified" | "empty" | "refused";

/** A member of the verified chain, for the Members page. */
export interface ChainMemberView {
  readonly username: string;
  readonly role: "owner" | "admin" | "member";
  readonly how: MemberHow;
  /** e.g. "admitted by invite", "server-attested (confirmed email domain)". */
  readonly howLabel: string;
  /** Seq of the link that admitted them. */
  readonly admittedSeq: number;
  /** Twelve symbols from the fingerprint of their signing key. */
  readonly safetyCode: readonly { readonly emoji: string; readonly name: string }[];
  /** SHA-256 of their signing key: 16 groups of four hex digits. */
  readonly fingerprintGroups: readonly string[];
}

/** Storage seam (production: IndexedDB through `src/protocol/chainStore.ts`). */
export interface ChainStorage {
  loadHead(tenant: string): Promise<VerifiedHead | null>;
  storeHead(tenant: string, head: VerifiedHead): Promise<void>;
  loadPin(tenant: string): Promise<string | null>;
  storePin(tenant: string, fingerprint: string): Promise<void>;
}

/** Network seam (production: `src/transport/api.ts`). */
export interface ChainApi {
  fetchChain(after: number): Promise<api.ChainPageJson>;
  fetchGenesis(): Promise<api.GenesisJson>;
}

export interface ChainOptions {
  readonly storage?: ChainStorage;
  readonly api?: ChainApi;
}

/** The chain store: signals to read and actions to call. */
export interface ChainStore {
  readonly status: ReadonlySignal<ChainStatus>;
  /** Why the chain is refused (status `refused`), else null. */
  readonly problem: ReadonlySignal<ChainProblem | null>;
  /** Why the last fetch failed (network, session), else null. Not a refusal. */
  readonly syncError: ReadonlySignal<string | null>;
  /** Seq of the verified head; -1 when nothing is verified. */
  readonly headSeq: ReadonlySignal<number>;
  /** Current members of the verified chain, by username. */
  readonly members: ReadonlySignal<readonly ChainMemberView[]>;
  /** Number of rooms in the verified chain. */
  readonly roomCount: ReadonlySignal<number>;
  /** Every verified link as an audit entry, oldest first. */
  readonly audit: ReadonlySignal<readonly AuditEntry[]>;
  /** The tenant fingerprint (genesis hash) in 16 groups of four hex digits; null until verified. */
  readonly fingerprintGroups: ReadonlySignal<readonly string[] | null>;
  /** The tenant fingerprint as b64u, for `#fp=` in invite links; null unless verified. */
  readonly fingerprint: ReadonlySignal<string | null>;
  /**
   * The OpenPGP keys whose clearsignature of the verified genesis verified in
   * this browser (PROTOCOL.md §6.5); empty unless verified. An anchor that
   * does not hold refuses the chain instead.
   */
  readonly anchors: ReadonlySignal<readonly PgpAnchorView[]>;
  /** Keys the verified genesis lists in `pgp` that no verified anchor covers yet ("not yet anchored"). */
  readonly unanchored: ReadonlySignal<readonly PgpAnchorView[]>;

  /** Fetch the whole chain and verify it from the genesis. */
  sync(): Promise<void>;
  /** Fetch and verify only the links after the verified head (a full sync if nothing is verified). */
  refresh(): Promise<void>;
  /**
   * Pin the fingerprint from an invite or enrolment link (`#fp=`) for this
   * tenant and compare it with the public genesis now.
   *
   * @throws {@link AccountError} `fingerprint_mismatch` when the server's
   *   genesis is not the one the link names (sign up nowhere then).
   */
  pinFingerprint(fingerprintB64u: string): Promise<void>;
  /**
   * Seal `text` to `username`'s X25519 key from the verified chain state.
   *
   * @throws {@link ChainGateError} when the chain is not verified (refused,
   *   empty, not yet synced) or `username` is not a member of it.
   */
  sealForMember(username: string, text: string): string;
  /** Every room of the verified chain, with its members and their room roles. */
  readonly rooms: ReadonlySignal<readonly ChainRoomView[]>;
  /** What the verified chain said at each point (room membership, keys); null until verified. */
  history(): ChainHistory | null;
  /**
   * The X25519 keys of `room`'s members in the verified chain, and the head
   * seq they are from: the only keys a new room epoch may be sealed to.
   *
   * @throws {@link ChainGateError} as {@link sealForMember} does, and
   *   `not_member` for a room that does not exist in the verified chain.
   */
  roomRecipients(room: string): {
    readonly chainSeq: number;
    readonly recipients: ReadonlyMap<string, Uint8Array>;
  };
  /** Forget the verified state in memory (signed out). The stored head stays. */
  reset(): void;
}

/** A room as the verified chain has it. */
export interface ChainRoomView {
  readonly id: string;
  readonly kind: "channel" | "private" | "dm";
  readonly history: "all" | "joined";
  readonly members: readonly { readonly username: string; readonly role: "owner" | "admin" | "member" }[];
}

/** Why {@link ChainStore.sealForMember} will not encrypt. */
export class ChainGateError extends Error {
  readonly code: "chain_refused" | "chain_unverified" | "chain_empty" | "not_member";

  constructor(code: ChainGateError["code"], message: string) {
    super(message);
    this.name = "ChainGateError";
    this.code = code;
  }
}

const defaultStorage: ChainStorage = {
  loadHead: loadVerifiedHead,
  storeHead: storeVerifiedHead,
  loadPin: loadPinnedFingerprint,
  storePin: storePinnedFingerprint,
};

const defaultApi: ChainApi = { fetchChain: api.fetchChain, fetchGenesis: api.fetchGenesis };

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function groupsOf(hexDigits: string): string[] {
  return hexDigits.match(/.{1,4}/g) ?? [];
}

/** A b64u 32-byte hash, or null for anything else. */
export function parseFingerprint(text: string | null | undefined): string | null {
  if (text === null || text === undefined) {
    return null;
  }
  try {
    b64uDecodeExact(text.trim(), 32, "fp");
    return text.trim();
  } catch {
    return null;
  }
}

function memberView(state: ChainState, username: string): ChainMemberView | null {
  const member = state.members.get(username);
  if (member === undefined) {
    return null;
  }
  const digest = fingerprint(member.signPub);
  return {
    username: member.user,
    role: member.role,
    how: member.how,
    howLabel: howLabel(member.how),
    admittedSeq: member.admittedSeq,
    safetyCode: safetyCode(digest).map(({ emoji, name }) => ({ emoji, name })),
    fingerprintGroups: groupsOf(hex(digest)),
  };
}

/** Make the chain store; it syncs by itself when someone signs in or unlocks, and resets when they leave. */
export function createChainStore(
  config: AppConfig,
  account: AccountStore,
  options: ChainOptions = {},
): ChainStore & { dispose(): void } {
  const storage = options.storage ?? defaultStorage;
  const chainApi = options.api ?? defaultApi;

  const status = signal<ChainStatus>("idle");
  const problem = signal<ChainProblem | null>(null);
  const syncError = signal<string | null>(null);
  /** Verified PGP anchors of the genesis, and the listed keys without one (§6.5). */
  const anchorViews = signal<readonly PgpAnchorView[]>([]);
  const unanchoredViews = signal<readonly PgpAnchorView[]>([]);
  /** Bumped whenever `verified` or `links` change. */
  const version = signal(0);

  /** The verified state and its links (raw JSON, oldest first): never leave this module. */
  let verified: ChainState | null = null;
  let links: unknown[] = [];
  /** Bumped by reset(): work started before it is dropped. */
  let epoch = 0;
  /** Syncs run one after another. */
  let queue: Promise<void> = Promise.resolve();

  const tenantSlug = (): string => account.tenant.value?.slug || config.tenantSlug;

  const headSeq = computed(() => {
    version.value;
    return verified?.seq ?? -1;
  });
  const members = computed<readonly ChainMemberView[]>(() => {
    version.value;
    const state = verified;
    if (state === null) {
      return [];
    }
    return [...state.members.keys()]
      .sort()
      .map((username) => memberView(state, username))
      .filter((view): view is ChainMemberView => view !== null);
  });
  const rooms = computed<readonly ChainRoomView[]>(() => {
    version.value;
    const state = verified;
    if (state === null) {
      return [];
    }
    return [...state.rooms.values()].map((room) => ({
      id: room.room,
      kind: room.kind,
      history: room.history,
      members: [...room.members]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([username, role]) => ({ username, role })),
    }));
  });
  let historyCache: { version: number; history: ChainHistory } | null = null;
  const roomCount = computed(() => {
    version.value;
    return verified?.rooms.size ?? 0;
  });
  const audit = computed<readonly AuditEntry[]>(() => {
    version.value;
    const walker = new AuditWalker();
    return links.map((link) => walker.next(link));
  });
  const fingerprintB64u = computed(() => {
    version.value;
    const print = verified?.fingerprint;
    return status.value === "verified" && print ? b64uEncode(print) : null;
  });
  const fingerprintGroups = computed(() => {
    version.value;
    const print = verified?.fingerprint;
    return print ? groupsOf(hex(print)) : null;
  });

  const refuse = (found: ChainProblem): void => {
    batch(() => {
      anchorViews.value = [];
      unanchoredViews.value = [];
      problem.value = found;
      syncError.value = null;
      status.value = "refused";
    });
  };

  /**
   * Check the genesis's PGP anchors (PROTOCOL.md §6.5) against the verified
   * genesis: its hash (the state's fingerprint) and its `pgp` list, never
   * what the server's genesis answer says. The anchors that verify, or the
   * problem with the first that does not; null when they could not be
   * checked (network, OpenPGP.js not loading): that refuses nothing, as a
   * server could leave the anchors out anyway.
   */
  const checkAnchors = async (
    tenant: string,
    state: ChainState,
    genesisLink: unknown,
  ): Promise<{ anchors: PgpAnchorView[]; unanchored: PgpAnchorView[] } | ChainProblem | null> => {
    const genesisHash = state.fingerprint;
    if (genesisHash === null) {
      return { anchors: [], unanchored: [] };
    }
    const listed = genesisPgpFingerprints(genesisLink);
    let answer: api.GenesisJson;
    try {
      answer = await chainApi.fetchGenesis();
    } catch (error) {
      console.warn("PiPo: could not fetch the genesis's PGP anchors", error);
      return null;
    }
    const verifiedHex = new Set<string>();
    for (const anchor of answer.anchors) {
      try {
        verifiedHex.add(
          await verifyGenesisAnchor({ tenant, genesisHash, genesisPgpFingerprints: listed, anchor }),
        );
      } catch (error) {
        if (error instanceof PgpError) {
          const claimed = /^[0-9a-f]{40,64}$/i.test(anchor.fingerprint) ? anchor.fingerprint : "";
          return anchorProblem(error.code, error.fingerprint ?? claimed);
        }
        console.warn("PiPo: could not check the genesis's PGP anchors", error);
        return null;
      }
    }
    return {
      anchors: [...verifiedHex].map(pgpAnchorView),
      unanchored: listed.filter((hex) => !verifiedHex.has(hex.toLowerCase())).map(pgpAnchorView),
    };
  };

  /** Keep a newly verified state (after the history checks) and remember its head. */
  const adopt = async (tenant: string, state: ChainState, all: unknown[], started: number): Promise<void> => {
    // The anchors are checked before the chain counts as verified, so nobody
    // sees (or encrypts under) a verified chain whose anchor does not hold.
    const anchored = await checkAnchors(tenant, state, all[0]);
    if (started !== epoch) {
      return;
    }
    if (anchored !== null && "code" in anchored) {
      refuse(anchored);
      return;
    }
    if (state.head !== null && state.fingerprint !== null) {
      try {
        await storage.storeHead(tenant, {
          seq: state.seq,
          hash: b64uEncode(state.head),
          fingerprint: b64uEncode(state.fingerprint),
        });
      } catch (error) {
        console.warn("PiPo: could not remember the verified chain head in this browser", error);
      }
    }
    if (started !== epoch) {
      return;
    }
    verified = state;
    links = all;
    batch(() => {
      problem.value = null;
      syncError.value = null;
      if (anchored !== null) {
        anchorViews.value = anchored.anchors;
        unanchoredViews.value = anchored.unanchored;
      }
      status.value = state.seq < 0 ? "empty" : "verified";
      version.value++;
    });
  };

  const loadHistory = async (tenant: string): Promise<[VerifiedHead | null, string | null]> => {
    try {
      return await Promise.all([storage.loadHead(tenant), storage.loadPin(tenant)]);
    } catch (error) {
      // Without storage there is nothing to compare with (no rollback check).
      console.warn("PiPo: could not read the remembered chain head", error);
      return [null, null];
    }
  };

  /** Fetch every page after `after`; null when reset() ran meanwhile. */
  const fetchAfter = async (
    after: number,
    started: number,
  ): Promise<{ links: unknown[]; head: api.ChainHeadJson } | null> => {
    const fetched: unknown[] = [];
    let next = after;
    for (;;) {
      const page = await chainApi.fetchChain(next);
      if (started !== epoch) {
        return null;
      }
      for (const link of page.links) {
        fetched.push(link);
      }
      if (!page.more) {
        return { links: fetched, head: page.head };
      }
      if (page.links.length === 0) {
        throw new api.ApiError(200, "bad_response", "the server said more links follow but sent none");
      }
      next += page.links.length;
    }
  };

  const failedFetch = (error: unknown): void => {
    console.warn("PiPo: could not fetch the trust chain", error);
    batch(() => {
      syncError.value = `Could not load the workspace's trust chain: ${errorMessage(error)}`;
      if (status.value === "verifying") {
        status.value = verified === null ? "idle" : verified.seq < 0 ? "empty" : "verified";
      }
    });
  };

  const fullSync = async (): Promise<void> => {
    const tenant = tenantSlug();
    const started = epoch;
    if (tenant === "") {
      syncError.value = "Could not load the workspace's trust chain: this page does not name its workspace.";
      return;
    }
    if (status.value !== "refused") {
      status.value = "verifying";
    }
    let fetched: { links: unknown[]; head: api.ChainHeadJson } | null;
    try {
      await sodiumReady();
      fetched = await fetchAfter(-1, started);
    } catch (error) {
      if (started === epoch) {
        failedFetch(error);
      }
      return;
    }
    if (fetched === null) {
      return;
    }
    const [known, pinned] = await loadHistory(tenant);
    if (started !== epoch) {
      return;
    }
    let state: ChainState;
    try {
      // One pass over the whole chain (signature checks run concurrently).
      state = await verifyChainAsync(fetched.links, { tenant });
    } catch (error) {
      if (error instanceof ChainError) {
        if (started === epoch) {
          refuse(problemForChainError(error.code, error.at ?? null));
        }
        return;
      }
      throw error;
    }
    if (started !== epoch) {
      return;
    }
    const found = checkHistory(
      fetchedChainOf(fetched.links, state.head === null ? null : b64uEncode(state.head)),
      known,
      pinned,
    );
    if (found !== null) {
      refuse(found);
      return;
    }
    await adopt(tenant, state, fetched.links, started);
  };

  const incremental = async (): Promise<void> => {
    const base = verified;
    const tenant = tenantSlug();
    if (base === null || base.seq < 0 || status.value !== "verified" || base.tenant !== tenant) {
      await fullSync();
      return;
    }
    const started = epoch;
    let fetched: { links: unknown[]; head: api.ChainHeadJson } | null;
    try {
      fetched = await fetchAfter(base.seq, started);
    } catch (error) {
      if (started === epoch) {
        failedFetch(error);
      }
      return;
    }
    if (fetched === null || verified !== base) {
      return;
    }
    const headHash = base.head === null ? null : b64uEncode(base.head);
    if (fetched.links.length === 0) {
      // Nothing new; the server's head must still be ours.
      if (fetched.head.seq < base.seq) {
        refuse(rollbackProblem(fetched.head.seq, base.seq));
      } else if (
        fetched.head.seq === base.seq &&
        fetched.head.hash !== null &&
        fetched.head.hash !== headHash
      ) {
        refuse(forkProblem(base.seq));
      } else {
        // Nothing new, but a certificate may have been revoked since: check the anchors again.
        const anchored = await checkAnchors(tenant, base, links[0]);
        if (verified !== base || started !== epoch) {
          return;
        }
        if (anchored !== null && "code" in anchored) {
          refuse(anchored);
          return;
        }
        batch(() => {
          syncError.value = null;
          if (anchored !== null) {
            anchorViews.value = anchored.anchors;
            unanchoredViews.value = anchored.unanchored;
          }
        });
      }
      return;
    }
    let state: ChainState;
    try {
      // Only the new links, from the verified state.
      state = await verifyChainAsync(fetched.links, { tenant, state: base });
    } catch (error) {
      if (error instanceof ChainError) {
        if (verified === base) {
          refuse(problemForChainError(error.code, error.at === undefined ? null : base.seq + 1 + error.at));
        }
        return;
      }
      throw error;
    }
    if (verified !== base) {
      return;
    }
    const all = links.concat(fetched.links);
    await adopt(tenant, state, all, started);
  };

  const enqueue = (work: () => Promise<void>): Promise<void> => {
    const run = queue.then(work, work);
    queue = run.catch((error: unknown) => {
      console.error("PiPo: trust chain sync failed", error);
    });
    return run;
  };

  /** The verified state, or why nothing may be encrypted to anyone now. */
  const gate = (): ChainState => {
    const current = status.value;
    if (current === "refused") {
      throw new ChainGateError(
        "chain_refused",
        `PiPo will not encrypt: ${problem.value?.message ?? "the workspace's trust chain was refused."}`,
      );
    }
    if (current === "empty") {
      throw new ChainGateError(
        "chain_empty",
        "This workspace has no signed membership chain yet, so PiPo cannot check anyone's keys and will not encrypt to them.",
      );
    }
    const state = verified;
    if (current !== "verified" || state === null) {
      throw new ChainGateError(
        "chain_unverified",
        "The workspace's trust chain has not been verified yet, so PiPo will not encrypt to anyone.",
      );
    }
    return state;
  };

  const reset = (): void => {
    epoch++;
    verified = null;
    links = [];
    batch(() => {
      status.value = "idle";
      problem.value = null;
      syncError.value = null;
      anchorViews.value = [];
      unanchoredViews.value = [];
      version.value++;
    });
  };

  // Sync when the account becomes unlocked; forget everything when signed out.
  let lastUser: string | null = null;
  const stopFollowing = effect(() => {
    const accountStatus = account.status.value;
    const username = account.user.value?.username ?? null;
    untracked(() => {
      if (username !== lastUser && lastUser !== null) {
        reset();
      }
      lastUser = username;
      if (accountStatus === "unlocked" || accountStatus === "locked") {
        // Verifying needs a session, not keys: a locked page warns too.
        void enqueue(status.value === "verified" ? incremental : fullSync).catch(() => undefined);
      } else if (accountStatus !== "loading") {
        reset();
      }
    });
  });

  return {
    status,
    problem,
    syncError,
    headSeq,
    members,
    roomCount,
    audit,
    fingerprintGroups,
    fingerprint: fingerprintB64u,
    anchors: computed(() => (status.value === "verified" ? anchorViews.value : [])),
    unanchored: computed(() => (status.value === "verified" ? unanchoredViews.value : [])),

    sync: () => enqueue(fullSync),
    refresh: () => enqueue(incremental),

    async pinFingerprint(fingerprintB64u: string): Promise<void> {
      const pin = parseFingerprint(fingerprintB64u);
      const tenant = tenantSlug();
      if (pin === null || tenant === "") {
        return;
      }
      try {
        await storage.storePin(tenant, pin);
      } catch (error) {
        console.warn("PiPo: could not remember the workspace fingerprint in this browser", error);
      }
      let genesis: api.GenesisJson;
      try {
        genesis = await chainApi.fetchGenesis();
      } catch (error) {
        // Checked again, against the verified chain, once signed in.
        console.warn("PiPo: could not fetch the genesis to compare the fingerprint", error);
        return;
      }
      if (genesis.link === null) {
        return;
      }
      await sodiumReady();
      let actual: string | null;
      try {
        actual = b64uEncode(linkHash(genesis.link));
      } catch (error) {
        if (!(error instanceof ChainError)) {
          throw error;
        }
        actual = null;
      }
      if (actual !== pin) {
        throw new AccountError(
          "fingerprint_mismatch",
          "This server's workspace fingerprint does not match the one in your invite link, so this may not be the workspace you were invited to. Do not sign up here; ask the person who invited you to check the link.",
        );
      }
    },

    rooms,

    history(): ChainHistory | null {
      if (verified === null) {
        return null;
      }
      const current = version.peek();
      if (historyCache === null || historyCache.version !== current) {
        const history = new ChainHistory();
        history.extend(links);
        historyCache = { version: current, history };
      }
      return historyCache.history;
    },

    roomRecipients(room: string): { chainSeq: number; recipients: ReadonlyMap<string, Uint8Array> } {
      const state = gate();
      const found = state.rooms.get(room);
      if (found === undefined) {
        throw new ChainGateError("not_member", "This room is not in the workspace's verified trust chain.");
      }
      const recipients = new Map<string, Uint8Array>();
      for (const username of found.members.keys()) {
        const member = state.members.get(username);
        if (member !== undefined) {
          recipients.set(username, member.boxPub);
        }
      }
      return { chainSeq: state.seq, recipients };
    },

    sealForMember(username: string, text: string): string {
      const state = gate();
      const name = normaliseUsername(username);
      const member = state.members.get(name);
      if (member === undefined) {
        throw new ChainGateError(
          "not_member",
          `${name || "That person"} is not a member in this workspace's verified trust chain, so PiPo will not encrypt to them.`,
        );
      }
      return sealToBoxKey(member.boxPub, text);
    },

    reset,

    dispose(): void {
      stopFollowing();
      epoch++;
    },
  };
}
