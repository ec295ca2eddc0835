/**
 * The realtime websocket (ARCHITECTURE.md §6): one connection per tab to
 * `/ws/` on the page's own origin, kept alive with pings and re-opened with
 * exponential backoff and jitter when it drops.
 *
 * Wire protocol (JSON text frames, PROTOCOL.md §4):
 * - client → server: `{"type": "ping", "id": "<string>"}`, and the room frames of §4.4 ({@link RelaySocket.send})
 * - server → client: `{"type": "pong", "id": "<same id>"}`
 * - server → client: `{"type": "error", "code": "<stable_code>", "message": "<text>", "id"?: "<client id>"}`
 * - server → client: every other typed frame goes to `onFrame` (messages, acks, epochs, presence…)
 *
 * The server closes with 4401 (signed out), 4403 (not a member) or 4404 (no
 * such workspace) when retrying cannot help: the socket then goes idle until
 * {@link RelaySocket.start} is called again.
 *
 * No DOM access beyond the `WebSocket` and `location` globals.
 */

/** What the connection is doing now. */
export type SocketStatus =
  /** Not connected and not trying: not started, paused, or refused for good (`closeCode`). */
  | { readonly kind: "idle"; readonly closeCode: number | null }
  | { readonly kind: "connecting"; readonly attempt: number }
  | { readonly kind: "connected" }
  | {
      readonly kind: "disconnected";
      /** How long until the next attempt, in milliseconds. */
      readonly retryInMs: number;
      /** The websocket close code, when the server or browser gave one. */
      readonly closeCode: number | null;
    };

/** A pong matched to the ping it answers. */
export interface Pong {
  readonly id: string;
  readonly rttMs: number;
}

/** An error frame from the server; the connection stays up. */
export interface ServerError {
  readonly code: string;
  readonly message: string;
  readonly id?: string;
}

/** Callbacks for what the socket observes; each is optional. */
export interface SocketListener {
  onStatus?(status: SocketStatus): void;
  onPong?(pong: Pong): void;
  onServerError?(error: ServerError): void;
  /** Any other frame with a string `type` (room traffic, PROTOCOL.md §4.4). */
  onFrame?(frame: Readonly<Record<string, unknown>>): void;
}

/** The subset of the `WebSocket` interface this client uses (lets tests pass a fake). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface RelaySocketOptions {
  /** Path on the page's own host, e.g. "/ws/". */
  readonly path: string;
  readonly listener: SocketListener;
  /** Interval between pings while connected. Default 25 s. */
  readonly pingIntervalMs?: number;
  /** First retry delay. Default 1 s. */
  readonly baseDelayMs?: number;
  /** Longest retry delay. Default 30 s. */
  readonly maxDelayMs?: number;
  /** Opens a socket; defaults to `new WebSocket(url)`. */
  readonly connect?: (url: string) => WebSocketLike;
  /** Where the page lives; defaults to the global `location`. */
  readonly location?: Pick<Location, "protocol" | "host">;
  /** Clock in milliseconds; defaults to `performance.now()`. */
  readonly now?: () => number;
  /** Uniform [0, 1); defaults to `Math.random` (jitter only, not security). */
  readonly random?: () => number;
}

const OPEN = 1;
const NORMAL_CLOSURE = 1000;
/** Client-side close: a ping went unanswered for a whole interval. */
const CLOSE_PING_TIMEOUT = 4000;
/** Server close codes after which reconnecting cannot help (relay/close_codes.py). */
export const TERMINAL_CLOSE_CODES: readonly number[] = [4401, 4403, 4404];

/** The websocket URL for `path` on the page's own host: wss: when the page is https:. */
export function socketUrl(path: string, where: Pick<Location, "protocol" | "host">): string {
  if (!path.startsWith("/") || path.startsWith("//")) {
    throw new Error(`websocket path must be an absolute path on this host, got ${JSON.stringify(path)}`);
  }
  const scheme = where.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${where.host}${path}`;
}

/**
 * Delay before reconnect attempt number `attempt` (0-based): exponential
 * from `baseMs`, capped at `maxMs`, with "equal jitter" (between half and all
 * of the step), so many tabs do not reconnect in lockstep after a restart.
 */
/** Close `socket` without hearing from it again (its handlers are removed first). */
export function closeQuietly(socket: Omit<WebSocketLike, "send">, code: number | null): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
  try {
    socket.close(code ?? NORMAL_CLOSURE);
  } catch {
    // already closing
  }
}

/**
 * A server frame as a JSON object, or null for anything else: the server
 * sends no binary frames, and a frame that is not a JSON object is ignored.
 */
export function textFrame(data: unknown): Record<string, unknown> | null {
  if (typeof data !== "string") {
    return null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return null;
  }
  return parsed as Record<string, unknown>;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** A websocket to the relay that reconnects by itself until {@link RelaySocket.close}. */
export class RelaySocket {
  readonly #url: string;
  readonly #listener: SocketListener;
  readonly #pingIntervalMs: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #connect: (url: string) => WebSocketLike;
  readonly #now: () => number;
  readonly #random: () => number;

  #socket: WebSocketLike | null = null;
  #attempt = 0;
  #nextPingId = 1;
  #pending = new Map<string, number>();
  #pingTimer: ReturnType<typeof setInterval> | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;
  #started = false;

  constructor(options: RelaySocketOptions) {
    this.#url = socketUrl(options.path, options.location ?? globalThis.location);
    this.#listener = options.listener;
    this.#pingIntervalMs = options.pingIntervalMs ?? 25_000;
    this.#baseDelayMs = options.baseDelayMs ?? 1_000;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#connect = options.connect ?? ((url) => new WebSocket(url));
    this.#now = options.now ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
  }

  /** The URL this socket connects to. */
  get url(): string {
    return this.#url;
  }

  /** Open the connection; it re-opens by itself until {@link pause} or {@link close}. */
  start(): void {
    if (this.#started || this.#closed) {
      return;
    }
    this.#started = true;
    this.#attempt = 0;
    this.#open();
  }

  /** Close the connection and stop reconnecting until {@link start} (e.g. signed out). */
  pause(): void {
    if (!this.#started || this.#closed) {
      return;
    }
    this.#started = false;
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    this.#drop(NORMAL_CLOSURE);
    this.#listener.onStatus?.({ kind: "idle", closeCode: null });
  }

  /** Whether the socket is open now. */
  get connected(): boolean {
    return this.#socket !== null && this.#socket.readyState === OPEN;
  }

  /** Send one JSON frame now; false when not connected (nothing is queued here). */
  send(frame: Readonly<Record<string, unknown>>): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) {
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send a ping now; returns its id, or null when not connected. The matching
   * pong is reported through `onPong` with the round-trip time.
   */
  ping(): string | null {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) {
      return null;
    }
    const id = `p${this.#nextPingId++}`;
    this.#pending.set(id, this.#now());
    socket.send(JSON.stringify({ type: "ping", id }));
    return id;
  }

  /** Close for good: no more reconnects, timers and handlers released. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    this.#drop(NORMAL_CLOSURE);
  }

  #open(): void {
    this.#retryTimer = null;
    this.#listener.onStatus?.({ kind: "connecting", attempt: this.#attempt });
    let socket: WebSocketLike;
    try {
      socket = this.#connect(this.#url);
    } catch {
      // e.g. a SecurityError from the browser: treat as a failed attempt.
      this.#scheduleRetry(null);
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#pending.clear();
      this.#listener.onStatus?.({ kind: "connected" });
      this.ping();
      this.#pingTimer = setInterval(() => this.#tick(), this.#pingIntervalMs);
    };
    socket.onmessage = (event) => {
      this.#receive(event.data);
    };
    socket.onclose = (event) => {
      if (this.#socket === socket) {
        this.#drop(null);
        if (TERMINAL_CLOSE_CODES.includes(event.code)) {
          this.#started = false;
          this.#listener.onStatus?.({ kind: "idle", closeCode: event.code });
          return;
        }
        this.#scheduleRetry(event.code);
      }
    };
    // An error is always followed by a close event, which does the work.
    socket.onerror = () => undefined;
  }

  #tick(): void {
    const oldest = Math.min(...this.#pending.values()); // Infinity when none is pending
    if (this.#now() - oldest >= this.#pingIntervalMs) {
      // A ping went unanswered for a whole interval: the connection is dead
      // even if the browser has not noticed (sleeping laptop, lost Wi-Fi).
      this.#drop(CLOSE_PING_TIMEOUT);
      this.#scheduleRetry(CLOSE_PING_TIMEOUT);
      return;
    }
    this.ping();
  }

  #receive(data: unknown): void {
    const fields = textFrame(data);
    if (fields === null) {
      return;
    }
    if (fields.type === "pong" && typeof fields.id === "string") {
      const sentAt = this.#pending.get(fields.id);
      if (sentAt === undefined) {
        return; // not ours, or from before a reconnect
      }
      this.#pending.delete(fields.id);
      this.#attempt = 0; // a pong proves the connection healthy
      this.#listener.onPong?.({ id: fields.id, rttMs: Math.max(0, this.#now() - sentAt) });
    } else if (
      fields.type === "error" &&
      typeof fields.code === "string" &&
      typeof fields.message === "string"
    ) {
      const error: ServerError =
        typeof fields.id === "string"
          ? { code: fields.code, message: fields.message, id: fields.id }
          : { code: fields.code, message: fields.message };
      this.#listener.onServerError?.(error);
      if (fields.code === "rate_limited") {
        this.#listener.onFrame?.(fields);
      }
    } else if (typeof fields.type === "string") {
      this.#listener.onFrame?.(fields);
    }
  }

  /** Detach from the current socket and close it; no status is reported. */
  #drop(code: number | null): void {
    if (this.#pingTimer !== null) {
      clearInterval(this.#pingTimer);
      this.#pingTimer = null;
    }
    this.#pending.clear();
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      closeQuietly(socket, code);
    }
  }

  #scheduleRetry(closeCode: number | null): void {
    if (this.#closed || !this.#started) {
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random);
    this.#attempt++;
    this.#listener.onStatus?.({ kind: "disconnected", retryInMs: delay, closeCode });
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }
}
