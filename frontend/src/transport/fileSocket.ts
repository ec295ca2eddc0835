/**
 * The upload websocket `/ws/files/` (PROTOCOL.md §8.3): one connection per
 * tab, opened while uploads run, re-opened with backoff when it drops.
 *
 * - Text frames are JSON (§4.2). {@link FileSocket.request} sends a frame
 *   with a fresh `id` and settles with the answer that echoes it (or rejects
 *   with a {@link FileSocketError} for an error frame with that id, or
 *   `offline` when the socket drops first).
 * - Binary frames carry chunks: `upload` (the UUID's 16 bytes) ‖ chunk index
 *   (uint32 big-endian) ‖ the chunk's stream bytes ({@link chunkFrame}).
 *   Their answers (`chunk_ack`, or an error frame naming `upload`) carry no
 *   id and go to `onFrame`, as does any other frame no request waits for.
 *
 * The socket knows nothing of files, keys or progress: the upload manager
 * (src/state/uploads.ts) decides what to send and resumes after a drop.
 */

import { backoffDelay, closeQuietly, socketUrl, TERMINAL_CLOSE_CODES, textFrame } from "./socket";

/** The subset of `WebSocket` used here (lets tests pass a fake). */
export interface BinaryWebSocketLike {
  readonly readyState: number;
  binaryType: BinaryType;
  readonly bufferedAmount: number;
  onopen: ((event: Event) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  send(data: string | ArrayBufferView<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
}

/** An error frame answering a request, or the socket gone before the answer (`offline`). */
export class FileSocketError extends Error {
  /** The server's stable code (§4.3, §8.3), or `offline`. */
  readonly code: string;
  /** The whole error frame (e.g. `next_chunk`, `retry_after_ms`), empty for `offline`. */
  readonly frame: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, frame: Readonly<Record<string, unknown>> = {}) {
    super(message);
    this.name = "FileSocketError";
    this.code = code;
    this.frame = frame;
  }
}

export interface FileSocketListener {
  /** The socket (re)opened: uploads started on an earlier socket must be resumed. */
  onOpen?(): void;
  /**
   * The socket closed. `retryInMs` is when the next attempt starts, or null
   * when it will not reconnect (a terminal close code, or {@link FileSocket.close}).
   */
  onClose?(closeCode: number | null, retryInMs: number | null): void;
  /** A frame no request waits for: `chunk_ack`, an error naming an `upload`, … */
  onFrame?(frame: Readonly<Record<string, unknown>>): void;
}

export interface FileSocketOptions {
  /** Path on the page's own host, normally "/ws/files/". */
  readonly path: string;
  readonly listener: FileSocketListener;
  /** First retry delay. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Longest retry delay. Default 15 s. */
  readonly maxDelayMs?: number;
  readonly connect?: (url: string) => BinaryWebSocketLike;
  readonly location?: Pick<Location, "protocol" | "host">;
  readonly random?: () => number;
}

const OPEN = 1;
const NORMAL_CLOSURE = 1000;
/** Client-side close used by {@link FileSocket.drop} (a test cutting the connection). */
const CLOSE_DROPPED = 4000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Bytes before a chunk's stream bytes in a binary frame. */
export const CHUNK_FRAME_HEADER_BYTES = 20;

/** The 16 bytes of a lower-case UUID string. */
export function uuidBytes(uuid: string): Uint8Array {
  if (!UUID_PATTERN.test(uuid)) {
    throw new Error(`not a lower-case UUID: ${JSON.stringify(uuid)}`);
  }
  const hex = uuid.replaceAll("-", "");
  const out = new Uint8Array(16);
  for (let index = 0; index < 16; index++) {
    out[index] = Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return out;
}

/** A binary chunk frame: upload UUID (16 bytes) ‖ index (uint32 BE) ‖ the chunk's stream bytes. */
export function chunkFrame(upload: string, index: number, bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(index) || index < 0 || index > 0xffff_ffff) {
    throw new RangeError("a chunk index is an unsigned 32-bit integer");
  }
  const frame = new Uint8Array(CHUNK_FRAME_HEADER_BYTES + bytes.length);
  frame.set(uuidBytes(upload), 0);
  new DataView(frame.buffer).setUint32(16, index, false);
  frame.set(bytes, CHUNK_FRAME_HEADER_BYTES);
  return frame;
}

interface Waiting {
  resolve(frame: Readonly<Record<string, unknown>>): void;
  reject(error: FileSocketError): void;
}

/** The upload socket: reconnects by itself until {@link FileSocket.close} or a terminal close code. */
export class FileSocket {
  readonly #url: string;
  readonly #listener: FileSocketListener;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #connect: (url: string) => BinaryWebSocketLike;
  readonly #random: () => number;
  #socket: BinaryWebSocketLike | null = null;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #started = false;
  #nextId = 1;
  /** The server's `retry_after_ms` before the next attempt (a refused connection), else 0. */
  #retryAfterMs = 0;
  readonly #waiting = new Map<string, Waiting>();

  constructor(options: FileSocketOptions) {
    this.#url = socketUrl(options.path, options.location ?? globalThis.location);
    this.#listener = options.listener;
    this.#baseDelayMs = options.baseDelayMs ?? 500;
    this.#maxDelayMs = options.maxDelayMs ?? 15_000;
    this.#connect =
      options.connect ??
      ((url) => {
        const socket = new WebSocket(url);
        socket.binaryType = "arraybuffer";
        return socket;
      });
    this.#random = options.random ?? Math.random;
  }

  /** Whether the socket is open now. */
  get connected(): boolean {
    return this.#socket !== null && this.#socket.readyState === OPEN;
  }

  /** Whether it is open or trying to be. */
  get started(): boolean {
    return this.#started;
  }

  /** Bytes queued in the browser and not yet handed to the network. */
  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  /** Open the connection (if it is not open or opening already). */
  start(): void {
    if (this.#started) {
      return;
    }
    this.#started = true;
    this.#attempt = 0;
    this.#open();
  }

  /** Close for now (no reconnect until {@link start}); pending requests fail `offline`. */
  close(): void {
    this.#started = false;
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    const had = this.#socket !== null;
    this.#detach(NORMAL_CLOSURE);
    if (had) {
      this.#listener.onClose?.(null, null);
    }
  }

  /**
   * Cut the connection as a network failure would (test hook): the socket is
   * closed at once and the reconnect starts as after any drop.
   */
  drop(): void {
    if (this.#socket === null) {
      return;
    }
    this.#detach(CLOSE_DROPPED);
    this.#scheduleRetry(CLOSE_DROPPED);
  }

  /**
   * Send a JSON frame with a fresh `id` and wait for the answer echoing it.
   *
   * @throws {@link FileSocketError} for an error frame answering it, or `offline`.
   */
  request(frame: Readonly<Record<string, unknown>>): Promise<Readonly<Record<string, unknown>>> {
    return new Promise((resolve, reject) => {
      const socket = this.#socket;
      if (socket === null || socket.readyState !== OPEN) {
        reject(new FileSocketError("offline", "not connected"));
        return;
      }
      const id = `u${this.#nextId++}`;
      this.#waiting.set(id, { resolve, reject });
      socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  /** Send a JSON frame that expects no answer by id; false when not connected. */
  send(frame: Readonly<Record<string, unknown>>): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) {
      return false;
    }
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** Send one chunk's binary frame (made by {@link chunkFrame}); false when not connected. */
  sendChunk(frame: Uint8Array<ArrayBuffer>): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) {
      return false;
    }
    socket.send(frame);
    return true;
  }

  #open(): void {
    this.#retryTimer = null;
    let socket: BinaryWebSocketLike;
    try {
      socket = this.#connect(this.#url);
    } catch {
      this.#scheduleRetry(null);
      return;
    }
    socket.binaryType = "arraybuffer";
    this.#socket = socket;
    socket.onopen = () => {
      this.#attempt = 0;
      this.#listener.onOpen?.();
    };
    socket.onmessage = (event) => this.#receive(event.data);
    socket.onclose = (event) => {
      if (this.#socket !== socket) {
        return;
      }
      this.#detach(null);
      if (TERMINAL_CLOSE_CODES.includes(event.code)) {
        this.#started = false;
        this.#listener.onClose?.(event.code, null);
        return;
      }
      this.#scheduleRetry(event.code);
    };
    socket.onerror = () => undefined; // a close event follows and does the work
  }

  #receive(data: unknown): void {
    const frame = textFrame(data);
    if (frame === null) {
      return;
    }
    if (
      frame.type === "error" &&
      frame.code === "rate_limited" &&
      frame.id === undefined &&
      typeof frame.retry_after_ms === "number"
    ) {
      // Too many new sockets: the server closes this one (4429); wait as long as it asks.
      this.#retryAfterMs = frame.retry_after_ms;
    }
    const id = typeof frame.id === "string" ? frame.id : null;
    const waiting = id === null ? undefined : this.#waiting.get(id);
    if (id !== null && waiting !== undefined) {
      this.#waiting.delete(id);
      if (frame.type === "error") {
        const code = typeof frame.code === "string" ? frame.code : "internal_error";
        const message = typeof frame.message === "string" ? frame.message : code;
        waiting.reject(new FileSocketError(code, message, frame));
      } else {
        waiting.resolve(frame);
      }
      return;
    }
    if (typeof frame.type === "string") {
      this.#listener.onFrame?.(frame);
    }
  }

  /** Forget the current socket (closing it with `code`) and fail what waits on it. */
  #detach(code: number | null): void {
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      closeQuietly(socket, code);
    }
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const each of waiting) {
      each.reject(new FileSocketError("offline", "the upload connection was lost"));
    }
  }

  #scheduleRetry(closeCode: number | null): void {
    if (!this.#started) {
      this.#listener.onClose?.(closeCode, null);
      return;
    }
    const delay = Math.max(
      this.#retryAfterMs,
      backoffDelay(this.#attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random),
    );
    this.#retryAfterMs = 0;
    this.#attempt++;
    this.#listener.onClose?.(closeCode, delay);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }
}
