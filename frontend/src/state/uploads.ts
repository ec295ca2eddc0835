/**
 * Sharing files (PROTOCOL.md §8): each file is encrypted in this browser
 * chunk by chunk, uploaded over the upload socket `/ws/files/`, and then
 * announced in its room by an ordinary encrypted message of kind `file`
 * that carries its key, name, type, size and (for images) a thumbnail.
 *
 * Memory stays bounded whatever the file's size: the file is read 1 MiB
 * slice by slice (`file.slice(a, b).arrayBuffer()`, never whole), each slice
 * is encrypted as it is read, and at most {@link WINDOW} chunks are
 * unacknowledged; only their ciphertext is kept. The secretstream cannot go
 * back, so that ciphertext is what is sent again after a drop: the socket
 * reconnects with backoff, `upload_resume` says which chunk the server wants
 * next, and sending goes on from there.
 *
 * Uploads run one after another (their messages arrive in the order the
 * files were chosen). A finished upload leaves the list (its message is in
 * the room); a failed one stays with a sentence saying why until dismissed.
 */

import { batch, computed, type ReadonlySignal, signal } from "@preact/signals-core";
import {
  b64uEncode,
  type Content,
  FILE_CHUNK_BYTES,
  FileEncryptor,
  fileChunkCount,
  fileStreamSize,
} from "../protocol";
import { chunkFrame, FileSocket, FileSocketError, type FileSocketListener } from "../transport/fileSocket";
import { contentFileName, RateMeter, secondsLeft, uploadErrorText } from "./files";
import { makeThumbnail, type Thumbnail } from "./thumbnail";

/** At most this many chunks are sent and not yet acknowledged (§8.3). */
export const WINDOW = 4;
/** How often a step the server failed at (`internal_error`) is asked again. */
const SERVER_RETRIES = 3;

/**
 * `queued`: waiting for the uploads before it; `preparing`: asking the
 * server for an upload; `uploading`; `reconnecting`: the socket dropped and
 * the upload resumes when it is back; `finishing`: every chunk is stored,
 * the upload is being completed and its message sent; `failed`: see `error`.
 */
export type UploadState = "queued" | "preparing" | "uploading" | "reconnecting" | "finishing" | "failed";

/** One upload as the list above the composer shows it. */
export interface UploadView {
  /** A local id (not the server's). */
  readonly key: string;
  readonly name: string;
  readonly room: string;
  /** The thread it is shared in, or null for the room. */
  readonly parent: string | null;
  readonly state: UploadState;
  /** Plaintext bytes the server acknowledged. */
  readonly sentBytes: number;
  readonly totalBytes: number;
  /** Smoothed speed, or null while not known. */
  readonly bytesPerSecond: number | null;
  readonly secondsLeft: number | null;
  /** Why it failed, in a sentence (state `failed`). */
  readonly error: string | null;
}

/** What the test hook `fileUploads()` lists. */
export interface UploadSnapshot {
  readonly name: string;
  readonly sentBytes: number;
  readonly totalBytes: number;
  readonly state: UploadState;
}

export interface UploadsStore {
  /** Uploads in progress, waiting, or failed (finished ones leave the list). */
  readonly uploads: ReadonlySignal<readonly UploadView[]>;
  /** Share `files` in the selected room, or in the thread of `parent` there. */
  start(files: Iterable<File>, parent?: string | null): void;
  /** Stop an upload (the server deletes what it has). */
  cancel(key: string): void;
  /** Take a failed upload off the list. */
  dismiss(key: string): void;
  /** Test hook: cut every upload socket abruptly, as a network failure would. */
  dropSockets(): void;
  /** Test hook: name, progress and state of every upload listed. */
  snapshot(): UploadSnapshot[];
  dispose(): void;
}

/** The upload socket as this store uses it (FileSocket; a fake in tests). */
export interface UploadSocket {
  readonly connected: boolean;
  readonly started: boolean;
  start(): void;
  close(): void;
  drop(): void;
  request(frame: Readonly<Record<string, unknown>>): Promise<Readonly<Record<string, unknown>>>;
  send(frame: Readonly<Record<string, unknown>>): boolean;
  /** Send a chunk's binary frame (upload ‖ index ‖ stream bytes). */
  sendChunk(frame: Uint8Array<ArrayBuffer>): boolean;
}

export interface UploadsOptions {
  /** The selected room, where new uploads go. */
  selectedRoom(): string | null;
  /** Seal and send a content into `room` (the rooms store's outbox); resolves to the message id. */
  send(room: string, content: Content): Promise<string | null>;
  /** Makes the upload socket; default: a {@link FileSocket} on "/ws/files/". */
  socket?(listener: FileSocketListener): UploadSocket;
  /** Makes thumbnails; default: {@link makeThumbnail}. */
  thumbnail?(file: File): Promise<Thumbnail | null>;
  /** Clock in milliseconds for the speed; default `performance.now()`. */
  now?(): number;
}

/** Why a job stopped: a code for {@link uploadErrorText} and the server's frame. */
class Stopped extends Error {
  readonly frame: Readonly<Record<string, unknown>>;

  constructor(frame: Readonly<Record<string, unknown>>) {
    super(typeof frame.code === "string" ? frame.code : "internal_error");
    this.frame = frame;
  }
}

interface Job {
  readonly key: string;
  readonly file: File;
  readonly name: string;
  readonly room: string;
  readonly parent: string | null;
  state: UploadState;
  error: string | null;
  /** The server's upload id, once started. */
  upload: string | null;
  chunks: number;
  encryptor: FileEncryptor | null;
  /** The next chunk to read and encrypt. */
  nextPlain: number;
  /** Chunks acknowledged (all of 0 … acked-1). */
  acked: number;
  /** The binary frames (ciphertext) of chunks read and not acknowledged, by index. */
  readonly unacked: Map<number, Uint8Array<ArrayBuffer>>;
  /** The next chunk to send on the current socket. */
  sentUpTo: number;
  /** Started or resumed on the socket open now: chunks may go. */
  live: boolean;
  /** The server completed the upload (`upload_done`). */
  finished: boolean;
  reading: boolean;
  sentBytes: number;
  readonly meter: RateMeter;
  /** `internal_error` answers so far (asked again up to SERVER_RETRIES times). */
  serverFailures: number;
  /** Set when the job must stop: cancelled by the person, or failed. */
  stopped: Stopped | "cancelled" | null;
  /** Waiters re-checking their condition whenever something changes. */
  readonly waiters: Set<() => void>;
}

/** The plaintext length of chunk `index` of a file of `size` bytes. */
function plainLength(size: number, index: number): number {
  return Math.max(0, Math.min(FILE_CHUNK_BYTES, size - index * FILE_CHUNK_BYTES));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createUploadsStore(options: UploadsOptions): UploadsStore {
  const jobs: Job[] = [];
  const byUpload = new Map<string, Job>();
  const version = signal(0);
  const now = options.now ?? (() => performance.now());
  const thumbnailOf = options.thumbnail ?? makeThumbnail;
  let running: Job | null = null;
  /** How many times the socket opened (a resume answered on an older socket is stale). */
  let opens = 0;
  let nextKey = 1;

  const bump = (): void => {
    version.value++;
  };
  const wake = (job: Job): void => {
    for (const waiter of [...job.waiters]) {
      waiter();
    }
  };
  const wakeAll = (): void => {
    for (const job of jobs) {
      wake(job);
    }
  };
  /** Resolve once `ready()` holds for `job`; reject as soon as the job is stopped. */
  const until = (job: Job, ready: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (job.stopped !== null) {
          job.waiters.delete(check);
          reject(job.stopped === "cancelled" ? new Stopped({ code: "cancelled" }) : job.stopped);
        } else if (ready()) {
          job.waiters.delete(check);
          resolve();
        }
      };
      job.waiters.add(check);
      check();
    });

  /** Started and neither failed nor cancelled. */
  const active = (job: Job): boolean =>
    job.stopped === null && job.state !== "queued" && job.state !== "failed";

  const listener: FileSocketListener = {
    onOpen(): void {
      opens++;
      for (const job of jobs) {
        if (job.upload !== null && job.stopped === null && !job.finished) {
          void resume(job);
        }
      }
      wakeAll();
    },
    onClose(closeCode, retryInMs): void {
      // Uploads the server completed need the socket no more (their message is being sent).
      const waiting = jobs.filter((job) => active(job) && !job.finished);
      for (const job of jobs) {
        job.live = false;
      }
      if (retryInMs === null && closeCode !== null) {
        const code = closeCode === 4401 ? "signed_out" : closeCode === 4403 ? "not_member" : "internal_error";
        for (const job of waiting) {
          stop(job, new Stopped({ code }));
        }
      } else if (retryInMs !== null) {
        for (const job of waiting) {
          job.state = "reconnecting";
          job.meter.reset();
        }
      }
      bump();
      wakeAll();
    },
    onFrame(frame): void {
      const upload = typeof frame.upload === "string" ? frame.upload : null;
      if (upload === null && frame.type === "error" && frame.code === "internal_error") {
        // The server failed at a frame it cannot name (a chunk, or a request
        // whose answer will not come): start over on a new socket, where
        // `upload_resume` says what it holds, unless that happened too often.
        const affected = jobs.filter((each) => active(each) && !each.finished);
        for (const each of affected) {
          each.serverFailures++;
          if (each.serverFailures > SERVER_RETRIES) {
            stop(each, new Stopped(frame));
          }
        }
        if (affected.some((each) => each.stopped === null)) {
          socket().drop();
        }
        return;
      }
      const job = upload === null ? undefined : byUpload.get(upload);
      if (job === undefined || job.stopped !== null) {
        return;
      }
      if (frame.type === "chunk_ack" && typeof frame.chunk === "number") {
        acknowledge(job, frame.chunk + 1);
      } else if (frame.type === "error" && job.live) {
        // A chunk refused (§8.3): the upload cannot go on.
        if (frame.code !== "disk_full" && frame.code !== "unknown_upload") {
          socket().send({ type: "upload_cancel", upload: job.upload });
        }
        stop(job, new Stopped(frame));
      }
    },
  };
  let socketInstance: UploadSocket | null = null;
  const socket = (): UploadSocket => {
    socketInstance ??= options.socket?.(listener) ?? new FileSocket({ path: "/ws/files/", listener });
    return socketInstance;
  };

  const stop = (job: Job, why: Stopped | "cancelled"): void => {
    if (job.stopped !== null) {
      return;
    }
    job.stopped = why;
    job.unacked.clear();
    job.encryptor = null;
    job.live = false;
    if (why !== "cancelled") {
      job.state = "failed";
      job.error = uploadErrorText(job.name, why.frame);
    }
    bump();
    wake(job);
  };

  /** Chunks before `count` are stored by the server. */
  const acknowledge = (job: Job, count: number): void => {
    if (count <= job.acked) {
      return;
    }
    for (let index = job.acked; index < Math.min(count, job.chunks); index++) {
      job.unacked.delete(index);
      job.sentBytes += plainLength(job.file.size, index);
    }
    job.acked = Math.min(count, job.chunks);
    job.sentUpTo = Math.max(job.sentUpTo, job.acked);
    job.meter.sample(job.sentBytes, now());
    bump();
    wake(job);
    void pump(job);
  };

  /** Send every held chunk from `sentUpTo` on, in order (only on the socket the upload is live on). */
  const flush = (job: Job): void => {
    if (!job.live || job.upload === null || !socket().connected) {
      return;
    }
    for (
      let frame = job.unacked.get(job.sentUpTo);
      frame !== undefined;
      frame = job.unacked.get(job.sentUpTo)
    ) {
      if (!socket().sendChunk(frame)) {
        return;
      }
      job.sentUpTo++;
    }
  };

  /** Read, encrypt and send chunks while fewer than WINDOW are unacknowledged. */
  const pump = async (job: Job): Promise<void> => {
    if (job.reading) {
      return;
    }
    job.reading = true;
    try {
      while (job.stopped === null && job.nextPlain < job.chunks && job.unacked.size < WINDOW) {
        const index = job.nextPlain;
        const start = index * FILE_CHUNK_BYTES;
        let plain: Uint8Array;
        try {
          plain = new Uint8Array(
            await job.file.slice(start, start + plainLength(job.file.size, index)).arrayBuffer(),
          );
        } catch {
          if (job.upload !== null) {
            socket().send({ type: "upload_cancel", upload: job.upload });
          }
          stop(job, new Stopped({ code: "read_failed" }));
          return;
        }
        const encryptor = job.encryptor;
        if (job.stopped !== null || encryptor === null || job.upload === null) {
          return;
        }
        // Kept as the frame itself: a resend after a drop sends the very same bytes.
        const cipher = encryptor.push(plain, index === job.chunks - 1);
        job.unacked.set(index, chunkFrame(job.upload, index, cipher));
        job.nextPlain = index + 1;
        flush(job);
      }
    } finally {
      job.reading = false;
    }
  };

  /** After a reconnect: ask where the server is, and go on from there. */
  const resume = async (job: Job): Promise<void> => {
    const upload = job.upload;
    if (upload === null) {
      return;
    }
    const socketOpened = opens;
    let answer: Readonly<Record<string, unknown>> | null = null;
    while (answer === null) {
      try {
        answer = await socket().request({ type: "upload_resume", upload });
      } catch (caught) {
        if (!(caught instanceof FileSocketError) || caught.code === "offline") {
          return; // the next open resumes again
        }
        if (
          caught.code === "rate_limited" ||
          (caught.code === "internal_error" && job.serverFailures < SERVER_RETRIES)
        ) {
          if (caught.code === "internal_error") {
            job.serverFailures++;
          }
          const wait = caught.frame.retry_after_ms;
          await sleep(typeof wait === "number" ? wait : 1000);
          if (opens !== socketOpened || job.stopped !== null) {
            return; // another socket since: its own resume goes on
          }
          continue;
        }
        stop(job, new Stopped(caught.frame));
        return;
      }
    }
    if (job.stopped !== null || opens !== socketOpened) {
      return;
    }
    if (answer.type === "upload_done") {
      job.finished = true;
      acknowledge(job, job.chunks);
      job.live = true;
      wake(job);
      return;
    }
    const next = answer.next_chunk;
    if (typeof next !== "number" || next < job.acked || next > job.nextPlain) {
      // The server lost chunks this browser no longer holds: it cannot go on.
      socket().send({ type: "upload_cancel", upload });
      stop(job, new Stopped({ code: "unknown_upload" }));
      return;
    }
    acknowledge(job, next);
    job.sentUpTo = next;
    job.live = true;
    if (job.state === "reconnecting") {
      job.state = job.acked === job.chunks ? "finishing" : "uploading";
    }
    bump();
    flush(job);
    void pump(job);
    wake(job);
  };

  /**
   * After a request failed: wait and return if asking again may help (the
   * socket dropped, or the server asked to slow down); else throw why it stopped.
   */
  const retryable = async (job: Job, caught: unknown): Promise<void> => {
    if (!(caught instanceof FileSocketError)) {
      throw caught;
    }
    if (caught.code === "rate_limited") {
      const wait = caught.frame.retry_after_ms;
      await sleep(typeof wait === "number" ? wait : 1000);
    } else if (caught.code === "internal_error" && job.serverFailures < SERVER_RETRIES) {
      // The server failed (§4.3 gives no details). Asking again is safe (a
      // failed step stored nothing; finish and resume may be repeated): try a few times.
      job.serverFailures++;
      await sleep(500 * 2 ** job.serverFailures);
    } else if (caught.code !== "offline") {
      throw new Stopped(caught.frame);
    }
    if (job.stopped !== null) {
      throw job.stopped === "cancelled" ? new Stopped({ code: "cancelled" }) : job.stopped;
    }
  };

  /** Send `frame` once the socket is open, and again after a drop, until it is answered. */
  const ask = async (
    job: Job,
    frame: Readonly<Record<string, unknown>>,
  ): Promise<Readonly<Record<string, unknown>>> => {
    for (;;) {
      await until(job, () => socket().connected);
      try {
        return await socket().request(frame);
      } catch (caught) {
        await retryable(job, caught);
      }
    }
  };

  const run = async (job: Job): Promise<void> => {
    const thumbnail = thumbnailOf(job.file).catch(() => null);
    socket().start();
    job.state = "preparing";
    bump();
    job.encryptor = FileEncryptor.create();
    const started = await ask(job, {
      type: "upload_start",
      room: job.room,
      size: fileStreamSize(job.file.size),
    });
    const upload = started.upload;
    if (typeof upload !== "string") {
      throw new Stopped({ code: "internal_error" });
    }
    if (job.stopped !== null) {
      socket().send({ type: "upload_cancel", upload }); // cancelled while the server made it
      return;
    }
    job.upload = upload;
    job.chunks = fileChunkCount(job.file.size);
    byUpload.set(upload, job);
    if (started.chunks !== job.chunks) {
      throw new Stopped({ code: "invalid_size" });
    }
    job.live = true;
    job.state = "uploading";
    job.meter.sample(0, now());
    bump();
    void pump(job);
    await until(job, () => job.acked === job.chunks);
    job.state = "finishing";
    bump();
    while (!job.finished) {
      await until(job, () => job.finished || (job.live && socket().connected));
      if (job.finished) {
        break;
      }
      try {
        await socket().request({ type: "upload_finish", upload });
        job.finished = true;
      } catch (caught) {
        await retryable(job, caught);
      }
    }
    const key = job.encryptor?.key;
    if (key === undefined || job.stopped !== null) {
      return;
    }
    job.unacked.clear();
    const thumb = await thumbnail;
    const content: Content = {
      kind: "file",
      file: upload,
      key,
      name: job.name,
      type: job.file.type.length <= 255 ? job.file.type : "",
      size: job.file.size,
    };
    if (thumb !== null) {
      content.thumbnail = {
        type: thumb.type,
        width: thumb.width,
        height: thumb.height,
        data: b64uEncode(thumb.bytes),
      };
    }
    if (job.parent !== null) {
      content.parent = job.parent;
    }
    if (job.stopped !== null) {
      return;
    }
    try {
      await options.send(job.room, content);
    } catch {
      throw new Stopped({ code: "send_failed" });
    }
    remove(job);
  };

  const remove = (job: Job): void => {
    const index = jobs.indexOf(job);
    if (index >= 0) {
      jobs.splice(index, 1);
    }
    if (job.upload !== null) {
      byUpload.delete(job.upload);
    }
    bump();
  };

  /** Run the next queued upload, if none runs; close the socket when nothing is left. */
  const next = (): void => {
    if (running !== null) {
      return;
    }
    const job = jobs.find((each) => each.state === "queued" && each.stopped === null);
    if (job === undefined) {
      if (socketInstance?.started === true) {
        socketInstance.close();
      }
      return;
    }
    running = job;
    run(job)
      .catch((caught: unknown) => {
        if (caught instanceof Stopped) {
          if (caught.message !== "cancelled") {
            if (
              job.upload !== null &&
              caught.message !== "disk_full" &&
              caught.message !== "unknown_upload"
            ) {
              socket().send({ type: "upload_cancel", upload: job.upload });
            }
            stop(job, caught);
          }
        } else {
          console.error("PiPo: an upload failed", caught);
          stop(job, new Stopped({ code: "internal_error" }));
        }
      })
      .finally(() => {
        running = null;
        if (job.upload !== null && job.stopped !== null) {
          byUpload.delete(job.upload);
        }
        next();
      });
  };

  const uploads = computed<readonly UploadView[]>(() => {
    version.value;
    return jobs.map((job) => {
      const rate = job.state === "uploading" ? job.meter.bytesPerSecond : null;
      return {
        key: job.key,
        name: job.name,
        room: job.room,
        parent: job.parent,
        state: job.state,
        sentBytes: job.sentBytes,
        totalBytes: job.file.size,
        bytesPerSecond: rate,
        secondsLeft: secondsLeft(job.sentBytes, job.file.size, rate),
        error: job.error,
      };
    });
  });

  return {
    uploads,
    start(files: Iterable<File>, parent: string | null = null): void {
      const room = options.selectedRoom();
      if (room === null) {
        return;
      }
      batch(() => {
        for (const file of files) {
          jobs.push({
            key: `upload-${nextKey++}`,
            file,
            name: contentFileName(file.name),
            room,
            parent,
            state: "queued",
            error: null,
            upload: null,
            chunks: 0,
            encryptor: null,
            nextPlain: 0,
            acked: 0,
            unacked: new Map(),
            sentUpTo: 0,
            live: false,
            finished: false,
            reading: false,
            sentBytes: 0,
            meter: new RateMeter(),
            serverFailures: 0,
            stopped: null,
            waiters: new Set(),
          });
        }
        bump();
      });
      next();
    },
    cancel(key: string): void {
      const job = jobs.find((each) => each.key === key);
      if (job === undefined) {
        return;
      }
      if (job.upload !== null && job.stopped === null && !job.finished) {
        socket().send({ type: "upload_cancel", upload: job.upload });
      }
      stop(job, "cancelled");
      remove(job);
    },
    dismiss(key: string): void {
      const job = jobs.find((each) => each.key === key);
      if (job !== undefined && job.stopped !== null) {
        remove(job);
      }
    },
    dropSockets(): void {
      socketInstance?.drop();
    },
    snapshot(): UploadSnapshot[] {
      return jobs.map((job) => ({
        name: job.name,
        sentBytes: job.sentBytes,
        totalBytes: job.file.size,
        state: job.state,
      }));
    },
    dispose(): void {
      for (const job of [...jobs]) {
        stop(job, "cancelled");
      }
      socketInstance?.close();
    },
  };
}
