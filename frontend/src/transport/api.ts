/**
 * The accounts HTTP API (docs/PROTOCOL.md §5.5): one typed function per
 * endpoint, JSON over the page's own origin.
 *
 * - Every request goes with `credentials: "same-origin"` (the session cookie);
 *   every POST carries the `csrftoken` cookie back as `X-CSRFToken`.
 * - Any answer outside 2xx becomes an {@link ApiError} whose `code` is the
 *   server's stable `error` (e.g. `invalid_credentials`), with `retryAfter`
 *   (seconds) for `throttled`. A failed fetch (offline, DNS, CORS) is code
 *   `network`; a 2xx answer that is not the expected JSON is `bad_response`.
 *
 * Cryptographic fields (`kdf`, `identity_bundle`, `wrapped_keys`, ...) are
 * passed through as opaque JSON: `src/protocol` validates them.
 */

/** Opaque JSON that another layer (src/protocol) validates. */
export type OpaqueJson = unknown;

export type Role = "owner" | "admin" | "member";
export type UserState = "active" | "pending_approval" | "pending_email" | "rejected";
export type SignupPolicy = "open" | "approval" | "domain" | "invite";

/** `user` in every answer that names one. */
export interface UserJson {
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly state: UserState;
}

/** `GET /api/tenant`. */
export interface TenantJson {
  readonly slug: string;
  readonly name: string;
  readonly signupPolicy: SignupPolicy;
  readonly allowedDomains: readonly string[];
  /** The trust chain's genesis exists. */
  readonly chainFounded: boolean;
  /** Who may found the chain: the enrolment link's holder, or the first user (demo). */
  readonly founding: "enrolment" | "first_user";
  /** The server's attestation key (b64u), as a genesis must name it; null if none. */
  readonly serverKey: string | null;
  /** Root seats of a multi-root genesis (0: one root founds it with their signup). */
  readonly rootSeats: number;
  /** The OpenPGP fingerprints the genesis names (§6.5). */
  readonly genesisPgp: readonly string[];
}

/** Login, `me` and recovery reset: who is logged in and their key backup. */
export interface SessionJson {
  readonly user: UserJson;
  readonly identityBundle: OpaqueJson;
  readonly wrappedKeys: OpaqueJson;
}

/** `POST /api/auth/signup` answer. */
export interface SignupAnswer {
  readonly state: UserState;
  readonly user: UserJson;
}

/** `POST /api/auth/recovery/unlock` answer. */
export interface RecoveryUnlockAnswer {
  readonly user: UserJson;
  readonly identityBundle: OpaqueJson;
  readonly recoveryWrappedKeys: OpaqueJson;
}

/** `POST /api/invites` answer. */
export interface InviteJson {
  readonly id: string | number;
  readonly role: Role;
  /** Unix milliseconds. */
  readonly expiresAt: number;
  readonly used?: boolean;
}

/** A refused or failed request. */
export class ApiError extends Error {
  /** HTTP status; 0 when the request never got an answer. */
  readonly status: number;
  /** The server's stable `error` code, or `network` / `bad_response` / `http_<status>`. */
  readonly code: string;
  /** Seconds to wait before retrying (`throttled`), when the server said. */
  readonly retryAfter?: number;

  constructor(status: number, code: string, message: string, retryAfter?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    if (retryAfter !== undefined) {
      this.retryAfter = retryAfter;
    }
  }
}

/** The value of the `csrftoken` cookie in a `document.cookie` string, or "". */
export function csrfTokenFrom(cookies: string): string {
  for (const part of cookies.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") {
      return decodeURIComponent(rest.join("="));
    }
  }
  return "";
}

function parseRetryAfter(body: Record<string, unknown> | null, header: string | null): number | undefined {
  const fromBody = body?.retry_after;
  if (typeof fromBody === "number" && Number.isFinite(fromBody) && fromBody >= 0) {
    return Math.ceil(fromBody);
  }
  if (header !== null && /^\d+$/.test(header.trim())) {
    return Number(header.trim());
  }
  return undefined;
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") {
    return null;
  }
  return JSON.parse(text) as unknown;
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/**
 * Turn a non-2xx answer into an {@link ApiError}: the body's `error` and
 * `message` when it is PiPo's JSON error shape, else `http_<status>` (e.g. a
 * proxy's HTML page, or Django's CSRF failure page).
 */
export async function apiErrorFromResponse(response: Response): Promise<ApiError> {
  let body: Record<string, unknown> | null = null;
  try {
    body = asObject(await readJson(response));
  } catch {
    body = null;
  }
  const retryAfter = parseRetryAfter(body, response.headers.get("Retry-After"));
  const code = typeof body?.error === "string" && body.error !== "" ? body.error : `http_${response.status}`;
  const message =
    typeof body?.message === "string" && body.message !== ""
      ? body.message
      : `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  return new ApiError(response.status, code, message, retryAfter);
}

function badResponse(what: string): ApiError {
  return new ApiError(200, "bad_response", `unexpected answer from the server: ${what}`);
}

function cookieString(): string {
  return typeof document === "undefined" ? "" : document.cookie;
}

/**
 * Send one request and return the parsed JSON body (null for 204).
 *
 * @throws {@link ApiError} for a refusal, a network failure or non-JSON.
 */
async function request(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const init: RequestInit = { method, credentials: "same-origin", headers, cache: "no-store" };
  if (method === "POST") {
    headers["X-CSRFToken"] = csrfTokenFrom(cookieString());
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "network", error instanceof Error ? error.message : String(error));
  }
  if (!response.ok) {
    throw await apiErrorFromResponse(response);
  }
  if (response.status === 204) {
    return null;
  }
  try {
    return await readJson(response);
  } catch {
    throw badResponse(`${method} ${path} did not answer JSON`);
  }
}

function field(object: Record<string, unknown>, name: string): unknown {
  if (!Object.hasOwn(object, name)) {
    throw badResponse(`missing "${name}"`);
  }
  return object[name];
}

function object(value: unknown, what: string): Record<string, unknown> {
  const found = asObject(value);
  if (found === null) {
    throw badResponse(`${what} is not an object`);
  }
  return found;
}

function string(value: unknown, what: string): string {
  if (typeof value !== "string") {
    throw badResponse(`${what} is not a string`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw badResponse(`${what} is not one of ${allowed.join(", ")}`);
  }
  return value as T;
}

const ROLES: readonly Role[] = ["owner", "admin", "member"];
const STATES: readonly UserState[] = ["active", "pending_approval", "pending_email", "rejected"];
const POLICIES: readonly SignupPolicy[] = ["open", "approval", "domain", "invite"];

/** @internal Validate a `user` object. */
export function parseUser(value: unknown): UserJson {
  const user = object(value, "user");
  return {
    username: string(field(user, "username"), "user.username"),
    email: typeof user.email === "string" ? user.email : "",
    role: oneOf(field(user, "role"), ROLES, "user.role"),
    state: oneOf(field(user, "state"), STATES, "user.state"),
  };
}

function parseSession(value: unknown): SessionJson {
  const answer = object(value, "answer");
  return {
    user: parseUser(field(answer, "user")),
    identityBundle: field(answer, "identity_bundle"),
    wrappedKeys: field(answer, "wrapped_keys"),
  };
}

function parseTime(value: unknown, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value)) {
    return value;
  }
  if (typeof value === "string") {
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) {
      return parsed;
    }
  }
  throw badResponse(`${what} is not a time`);
}

function parseInvite(value: unknown): InviteJson {
  const invite = object(value, "invite");
  const id = field(invite, "id");
  if (typeof id !== "string" && typeof id !== "number") {
    throw badResponse("invite.id is not a string or number");
  }
  const parsed = {
    id,
    role: oneOf(field(invite, "role"), ROLES, "invite.role"),
    expiresAt: parseTime(field(invite, "expires_at"), "invite.expires_at"),
  };
  return typeof invite.used === "boolean" ? { ...parsed, used: invite.used } : parsed;
}

/** `GET /api/tenant`: the tenant's name and signup policy. */
export async function getTenant(): Promise<TenantJson> {
  const answer = object(await request("GET", "/api/tenant"), "tenant");
  const domains = answer.allowed_domains;
  return {
    slug: string(field(answer, "slug"), "slug"),
    name: string(field(answer, "name"), "name"),
    signupPolicy: oneOf(field(answer, "signup_policy"), POLICIES, "signup_policy"),
    allowedDomains: Array.isArray(domains) ? domains.filter((d): d is string => typeof d === "string") : [],
    chainFounded: answer.chain_founded === true,
    founding: answer.founding === "first_user" ? "first_user" : "enrolment",
    serverKey: typeof answer.server_key === "string" && answer.server_key !== "" ? answer.server_key : null,
    rootSeats: typeof answer.root_seats === "number" ? answer.root_seats : 0,
    genesisPgp: Array.isArray(answer.genesis_pgp)
      ? answer.genesis_pgp.filter((f): f is string => typeof f === "string")
      : [],
  };
}

/** `GET /api/chain/genesis-draft`: a multi-root genesis in the making (root admins only). */
export interface GenesisDraftJson {
  readonly rootsTotal: number;
  readonly enrolled: readonly string[];
  readonly signed: readonly string[];
  /** The unsigned genesis every root signs; null until every root has enrolled. */
  readonly draft: OpaqueJson | null;
  readonly founded: boolean;
}

function names(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw badResponse(`${what} is not a list of names`);
  }
  return value as string[];
}

export async function getGenesisDraft(): Promise<GenesisDraftJson> {
  const answer = object(await request("GET", "/api/chain/genesis-draft"), "genesis draft");
  const total = field(answer, "roots_total");
  if (typeof total !== "number") {
    throw badResponse("roots_total is not a number");
  }
  return {
    rootsTotal: total,
    enrolled: names(field(answer, "enrolled"), "enrolled"),
    signed: names(field(answer, "signed"), "signed"),
    draft: answer.draft === null || answer.draft === undefined ? null : (answer.draft as OpaqueJson),
    founded: answer.founded === true,
  };
}

/** `POST /api/chain/genesis-draft/signature`: this root's signature; whether the genesis now exists. */
export async function signGenesisDraft(sig: string): Promise<{ founded: boolean }> {
  const answer = object(await request("POST", "/api/chain/genesis-draft/signature", { sig }), "signature");
  return { founded: answer.founded === true };
}

/** `POST /api/auth/prelogin`: the user's KDF parameters (a stable decoy for unknown users). */
export async function prelogin(username: string): Promise<{ kdf: OpaqueJson }> {
  const answer = object(await request("POST", "/api/auth/prelogin", { username }), "prelogin");
  return { kdf: field(answer, "kdf") };
}

/** The body of `POST /api/auth/signup`. */
export interface SignupBody {
  readonly username: string;
  readonly email: string;
  readonly kdf: OpaqueJson;
  readonly authKey: string;
  readonly identityBundle: OpaqueJson;
  readonly wrappedKeys: OpaqueJson;
  readonly recovery: { readonly authKey: string; readonly wrappedKeys: OpaqueJson };
  readonly inviteToken?: string;
  /** The link this signup appends (genesis or own admit, PROTOCOL.md §5.6), passed through. */
  readonly chainLink?: OpaqueJson;
  /** The token of a `/signup#e=` enrolment link (with a genesis). */
  readonly enrolmentToken?: string;
}

/** `POST /api/auth/signup` (201): `state` says whether the account is active (and logged in). */
export async function signup(body: SignupBody): Promise<SignupAnswer> {
  const payload: Record<string, unknown> = {
    username: body.username,
    email: body.email,
    kdf: body.kdf,
    auth_key: body.authKey,
    identity_bundle: body.identityBundle,
    wrapped_keys: body.wrappedKeys,
    recovery: { auth_key: body.recovery.authKey, wrapped_keys: body.recovery.wrappedKeys },
  };
  if (body.inviteToken !== undefined) {
    payload.invite_token = body.inviteToken;
  }
  if (body.chainLink !== undefined) {
    payload.chain_link = body.chainLink;
  }
  if (body.enrolmentToken !== undefined) {
    payload.enrolment_token = body.enrolmentToken;
  }
  const answer = object(await request("POST", "/api/auth/signup", payload), "signup");
  return {
    state: oneOf(field(answer, "state"), STATES, "state"),
    user: parseUser(field(answer, "user")),
  };
}

/** `POST /api/auth/login`: logs in and returns the key backup. */
export async function login(username: string, authKey: string): Promise<SessionJson> {
  return parseSession(await request("POST", "/api/auth/login", { username, auth_key: authKey }));
}

/** `GET /api/auth/me`: the session's user (401 `not_authenticated` without one). */
export async function me(): Promise<SessionJson> {
  return parseSession(await request("GET", "/api/auth/me"));
}

/** `POST /api/auth/logout` (204). */
export async function logout(): Promise<void> {
  await request("POST", "/api/auth/logout", {});
}

/** The body of `POST /api/auth/password`. */
export interface PasswordChangeBody {
  readonly authKey: string;
  readonly newKdf: OpaqueJson;
  readonly newAuthKey: string;
  readonly newWrappedKeys: OpaqueJson;
}

/** `POST /api/auth/password` (204): replaces KDF, auth key and backup together. */
export async function changePassword(body: PasswordChangeBody): Promise<void> {
  await request("POST", "/api/auth/password", {
    auth_key: body.authKey,
    new_kdf: body.newKdf,
    new_auth_key: body.newAuthKey,
    new_wrapped_keys: body.newWrappedKeys,
  });
}

/** `POST /api/auth/recovery/unlock`: the recovery backup, for the right recovery key. */
export async function recoveryUnlock(
  username: string,
  recoveryAuthKey: string,
): Promise<RecoveryUnlockAnswer> {
  const answer = object(
    await request("POST", "/api/auth/recovery/unlock", { username, recovery_auth_key: recoveryAuthKey }),
    "recovery",
  );
  return {
    user: parseUser(field(answer, "user")),
    identityBundle: field(answer, "identity_bundle"),
    recoveryWrappedKeys: field(answer, "recovery_wrapped_keys"),
  };
}

/** The body of `POST /api/auth/recovery/reset`. */
export interface RecoveryResetBody {
  readonly username: string;
  readonly recoveryAuthKey: string;
  readonly newKdf: OpaqueJson;
  readonly newAuthKey: string;
  readonly newWrappedKeys: OpaqueJson;
  readonly newRecovery: { readonly authKey: string; readonly wrappedKeys: OpaqueJson };
}

/** `POST /api/auth/recovery/reset`: new password and recovery code; logs in. */
export async function recoveryReset(body: RecoveryResetBody): Promise<SessionJson> {
  return parseSession(
    await request("POST", "/api/auth/recovery/reset", {
      username: body.username,
      recovery_auth_key: body.recoveryAuthKey,
      new_kdf: body.newKdf,
      new_auth_key: body.newAuthKey,
      new_wrapped_keys: body.newWrappedKeys,
      new_recovery: { auth_key: body.newRecovery.authKey, wrapped_keys: body.newRecovery.wrappedKeys },
    }),
  );
}

/** The body of `POST /api/auth/rotate-keys`. */
export interface RotateKeysBody {
  /** The current password's auth key. */
  readonly authKey: string;
  /** The `rotate_keys` link signed by the current keys, passed through. */
  readonly rotateLink: OpaqueJson;
  readonly newKdf: OpaqueJson;
  readonly newAuthKey: string;
  readonly newWrappedKeys: OpaqueJson;
  readonly newRecovery: { readonly authKey: string; readonly wrappedKeys: OpaqueJson };
}

/**
 * `POST /api/auth/rotate-keys` (chained tenants): appends the rotation and
 * replaces the identity bundle and both backups; answers as login. A chain
 * refusal is an {@link ApiError} with the chain error code.
 */
export async function rotateKeys(body: RotateKeysBody): Promise<SessionJson> {
  return parseSession(
    await request("POST", "/api/auth/rotate-keys", {
      auth_key: body.authKey,
      rotate_link: body.rotateLink,
      new_kdf: body.newKdf,
      new_auth_key: body.newAuthKey,
      new_wrapped_keys: body.newWrappedKeys,
      new_recovery: { auth_key: body.newRecovery.authKey, wrapped_keys: body.newRecovery.wrappedKeys },
    }),
  );
}

/** `POST /api/auth/email/confirm`: redeem the emailed token. */
export async function confirmEmail(token: string): Promise<{ state: UserState }> {
  const answer = object(await request("POST", "/api/auth/email/confirm", { token }), "confirm");
  return { state: oneOf(field(answer, "state"), STATES, "state") };
}

/** `POST /api/auth/email/resend` (204 always: no enumeration). */
export async function resendConfirmation(username: string): Promise<void> {
  await request("POST", "/api/auth/email/resend", { username });
}

/** The body of `POST /api/invites`. */
export interface InviteBody {
  /** b64u(SHA-256(token)). */
  readonly tokenHash: string;
  readonly role: Role;
  /** Unix milliseconds. */
  readonly expiresAt: number;
  readonly email?: string;
  /** The admin's signed `invite` link (required on a chained tenant), passed through. */
  readonly inviteLink?: OpaqueJson;
}

/** `POST /api/invites` (tenant admins, 201). */
export async function createInvite(body: InviteBody): Promise<InviteJson> {
  const payload: Record<string, unknown> = {
    token_hash: body.tokenHash,
    role: body.role,
    expires_at: body.expiresAt,
  };
  if (body.email !== undefined) {
    payload.email = body.email;
  }
  if (body.inviteLink !== undefined) {
    payload.invite_link = body.inviteLink;
  }
  return parseInvite(await request("POST", "/api/invites", payload));
}

/** `GET /api/invites` (tenant admins). */
export async function listInvites(): Promise<InviteJson[]> {
  const answer = await request("GET", "/api/invites");
  const list = Array.isArray(answer) ? answer : asObject(answer)?.invites;
  if (!Array.isArray(list)) {
    throw badResponse("invites is not a list");
  }
  return list.map(parseInvite);
}

/** One pending signup, from `GET /api/signup-requests`. */
export interface SignupRequestJson {
  readonly username: string;
  readonly email: string;
  /** Unix milliseconds. */
  readonly requestedAt: number;
  /** The requester's identity bundle as stored, passed through (an admit must carry it unchanged). */
  readonly identityBundle: OpaqueJson;
}

/** `GET /api/signup-requests` (tenant admins): accounts waiting for approval. */
export async function listSignupRequests(): Promise<SignupRequestJson[]> {
  const answer = object(await request("GET", "/api/signup-requests"), "signup requests");
  const list = field(answer, "requests");
  if (!Array.isArray(list)) {
    throw badResponse("requests is not a list");
  }
  return list.map((item: unknown) => {
    const entry = object(item, "request");
    return {
      username: string(field(entry, "username"), "request.username"),
      email: typeof entry.email === "string" ? entry.email : "",
      requestedAt: parseTime(field(entry, "requested_at"), "request.requested_at"),
      identityBundle: field(entry, "identity_bundle"),
    };
  });
}

/** `POST /api/signup-requests/<username>/approve` (204); `admitLink` is required on a chained tenant. */
export async function approveSignupRequest(username: string, admitLink?: OpaqueJson): Promise<void> {
  await request(
    "POST",
    `/api/signup-requests/${encodeURIComponent(username)}/approve`,
    admitLink === undefined ? {} : { admit_link: admitLink },
  );
}

/** `POST /api/signup-requests/<username>/reject` (204). */
export async function rejectSignupRequest(username: string): Promise<void> {
  await request("POST", `/api/signup-requests/${encodeURIComponent(username)}/reject`, {});
}

// --- The trust chain (docs/PROTOCOL.md §6.7) -------------------------------------

/** The head the server reports: seq -1 and hash null before the genesis. */
export interface ChainHeadJson {
  readonly seq: number;
  /** b64u hash of the last link, or null when the chain is empty. */
  readonly hash: string | null;
}

/** `GET /api/chain?after=<seq>`: up to 1,000 links after `seq`, unverified. */
export interface ChainPageJson {
  /** Links in wire form, passed through for src/protocol to verify. */
  readonly links: readonly OpaqueJson[];
  /** More links follow the last one of this page. */
  readonly more: boolean;
  readonly head: ChainHeadJson;
}

/** One OpenPGP anchor of the genesis (PROTOCOL.md §6.5). */
export interface GenesisAnchorJson {
  readonly fingerprint: string;
  readonly certificate: string;
  readonly clearsigned: string;
}

/** `GET /api/chain/genesis`: the genesis link (or null) and its PGP anchors. */
export interface GenesisJson {
  readonly link: OpaqueJson | null;
  readonly anchors: readonly GenesisAnchorJson[];
}

function parseHead(value: unknown): ChainHeadJson {
  const head = object(value, "head");
  const seq = field(head, "seq");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < -1) {
    throw badResponse("head.seq is not an integer");
  }
  const hash = field(head, "hash");
  if (hash !== null && typeof hash !== "string") {
    throw badResponse("head.hash is not a string or null");
  }
  return { seq, hash };
}

/** `GET /api/chain?after=<seq>` (members only): the next page of links after `after` (-1: from the genesis). */
export async function fetchChain(after: number): Promise<ChainPageJson> {
  if (!Number.isSafeInteger(after) || after < -1) {
    throw new RangeError("after must be an integer >= -1");
  }
  const answer = object(await request("GET", `/api/chain?after=${after}`), "chain");
  const links = field(answer, "links");
  if (!Array.isArray(links)) {
    throw badResponse("links is not a list");
  }
  const more = field(answer, "more");
  if (typeof more !== "boolean") {
    throw badResponse("more is not a boolean");
  }
  return { links, more, head: parseHead(field(answer, "head")) };
}

/** `GET /api/chain/head` (public): what a new link must extend. */
export async function fetchHead(): Promise<ChainHeadJson> {
  return parseHead(await request("GET", "/api/chain/head"));
}

/** `GET /api/chain/genesis` (public): the genesis, for fingerprint pinning and PGP anchors. */
export async function fetchGenesis(): Promise<GenesisJson> {
  const answer = object(await request("GET", "/api/chain/genesis"), "genesis");
  const link = field(answer, "link");
  const list = answer.anchors;
  const anchors: GenesisAnchorJson[] = [];
  if (Array.isArray(list)) {
    for (const item of list) {
      const anchor = object(item, "anchor");
      anchors.push({
        fingerprint: string(field(anchor, "fingerprint"), "anchor.fingerprint"),
        certificate: string(field(anchor, "certificate"), "anchor.certificate"),
        clearsigned: string(field(anchor, "clearsigned"), "anchor.clearsigned"),
      });
    }
  }
  return { link: link ?? null, anchors };
}

/**
 * `POST /api/chain/links`: append one signed link (no session needed; a
 * genesis also needs the tenant's one-time `enrolmentToken`). 201 gives the
 * stored link's seq and b64u hash; a refusal is an {@link ApiError} whose code
 * is the chain error code (PROTOCOL.md §6.4).
 */
export async function postLink(
  link: OpaqueJson,
  enrolmentToken?: string,
): Promise<{ readonly seq: number; readonly hash: string }> {
  const payload: Record<string, unknown> = { link };
  if (enrolmentToken !== undefined) {
    payload.enrolment_token = enrolmentToken;
  }
  const answer = object(await request("POST", "/api/chain/links", payload), "link");
  const seq = field(answer, "seq");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
    throw badResponse("seq is not an integer");
  }
  return { seq, hash: string(field(answer, "hash"), "hash") };
}

/** One stored envelope of a room and its sequence number. */
export interface StoredMessageJson {
  readonly seq: number;
  readonly envelope: OpaqueJson;
}

/** `GET /api/rooms/<room>/messages?before=&limit=`: newest first; 404 for rooms one is not in. */
export async function fetchRoomMessages(
  room: string,
  options: { readonly before?: number; readonly limit?: number } = {},
): Promise<{ messages: StoredMessageJson[]; more: boolean }> {
  const query = new URLSearchParams();
  if (options.before !== undefined) {
    query.set("before", String(options.before));
  }
  if (options.limit !== undefined) {
    query.set("limit", String(options.limit));
  }
  const suffix = query.size > 0 ? `?${query.toString()}` : "";
  const answer = object(
    await request("GET", `/api/rooms/${encodeURIComponent(room)}/messages${suffix}`),
    "messages",
  );
  const list = field(answer, "messages");
  if (!Array.isArray(list)) {
    throw badResponse("messages is not a list");
  }
  const messages = list.map((item: unknown) => {
    const entry = object(item, "message");
    const seq = field(entry, "seq");
    if (typeof seq !== "number") {
      throw badResponse("message.seq is not a number");
    }
    return { seq, envelope: field(entry, "envelope") };
  });
  return { messages, more: answer.more === true };
}

/** `GET /api/rooms/<room>/epochs`: every epoch record, and the shares addressed to the caller. */
export async function fetchRoomEpochs(
  room: string,
): Promise<{ records: OpaqueJson[]; shares: OpaqueJson[] }> {
  const answer = object(await request("GET", `/api/rooms/${encodeURIComponent(room)}/epochs`), "epochs");
  const records = field(answer, "records");
  const shares = field(answer, "shares");
  if (!Array.isArray(records) || !Array.isArray(shares)) {
    throw badResponse("records and shares must be lists");
  }
  return { records, shares };
}

// --- Files (docs/PROTOCOL.md §8.4) ------------------------------------------------

/** An encrypted file's stream as it arrives: read it chunk by chunk, never whole. */
export interface FileStreamResponse {
  /** The stream bytes as the network delivers them. */
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** `Content-Length` (the stream size), when the server said. */
  readonly length: number | null;
}

/**
 * `GET /api/files/<id>`: the encrypted stream of a file, for reading as it
 * downloads (src/protocol decrypts it). `signal` aborts the request and the
 * reading.
 *
 * @throws {@link ApiError}: 404 `http_404` (or the server's code) when the
 *   file is not there or not one's to read, `network` when the request failed,
 *   `aborted` when `signal` aborted it.
 */
export async function fetchFileStream(id: string, signal?: AbortSignal): Promise<FileStreamResponse> {
  const init: RequestInit = {
    method: "GET",
    credentials: "same-origin",
    headers: { Accept: "application/octet-stream" },
    cache: "no-store",
  };
  if (signal !== undefined) {
    init.signal = signal;
  }
  let response: Response;
  try {
    response = await fetch(`/api/files/${encodeURIComponent(id)}`, init);
  } catch (error) {
    if (signal?.aborted === true) {
      throw new ApiError(0, "aborted", "the download was cancelled");
    }
    throw new ApiError(0, "network", error instanceof Error ? error.message : String(error));
  }
  if (!response.ok) {
    throw await apiErrorFromResponse(response);
  }
  if (response.body === null) {
    throw badResponse(`GET /api/files/${id} has no body`);
  }
  const header = response.headers.get("Content-Length");
  const length = header !== null && /^\d+$/.test(header) ? Number(header) : null;
  return { reader: response.body.getReader(), length };
}
