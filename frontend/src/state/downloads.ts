/**
 * Receiving files (PROTOCOL.md §8.1, §8.4): the encrypted stream is fetched
 * from `/api/files/<id>` and decrypted as it arrives; the plaintext is
 * gathered into a Blob a few MiB at a time (so the JS heap holds only those
 * few MiB, whatever the file's size). Only after the chunk tagged FINAL
 * verified and the size matched (`finish()`) is the file handed over for
 * saving under its real name, or shown full size (an image). A tampered,
 * reordered or truncated file is never saved: the download says which.
 *
 * Saving needs the DOM (an anchor with `download`), which the UI layer
 * provides as {@link DownloadsOptions.save}.
 */

import { computed, type ReadonlySignal, signal } from "@preact/signals-core";
import { FileDecryptor, FileStreamError, fileStreamSize } from "../protocol";
import { ApiError, type FileStreamResponse, fetchFileStream } from "../transport/api";
import {
  downloadErrorText,
  type FileView,
  fileKeyOf,
  RateMeter,
  sanitiseFileName,
  secondsLeft,
} from "./files";

/** Plaintext gathered before it is folded into the Blob (bounds the JS heap). */
export const FLUSH_BYTES = 8 * 1024 * 1024;
/** The largest image opened full size in the page (bigger ones are for saving). */
export const MAX_OPEN_BYTES = 256 * 1024 * 1024;
/** A download that receives nothing for this long is given up (`stalled`). */
export const STALL_MS = 30_000;

/** One download as a file message shows it. */
export interface DownloadView {
  /** The file's id (its upload's UUID). */
  readonly id: string;
  readonly name: string;
  /** `save`: to disk; `open`: to show full size. */
  readonly purpose: "save" | "open";
  readonly state: "downloading" | "failed";
  /** Plaintext bytes received so far (estimated from the stream bytes). */
  readonly doneBytes: number;
  readonly totalBytes: number;
  readonly bytesPerSecond: number | null;
  readonly secondsLeft: number | null;
  /** Why it failed, in a sentence; nothing was saved. */
  readonly error: string | null;
}

export interface DownloadsStore {
  /** Downloads in progress or failed, by file id (a finished download leaves). */
  readonly downloads: ReadonlySignal<ReadonlyMap<string, DownloadView>>;
  /** Download, decrypt and verify `file`, then save it under its (sanitised) name. */
  save(file: FileView): Promise<void>;
  /**
   * Download, decrypt and verify an image, and resolve to an object URL of
   * it (the same URL again while it is held), or null when it failed or was
   * cancelled (`downloads` says why). {@link release} frees it.
   */
  open(file: FileView): Promise<string | null>;
  /** Forget the object URL made by {@link open}. */
  release(file: FileView): void;
  cancel(id: string): void;
  /** Take a failed download's message away. */
  dismiss(id: string): void;
  dispose(): void;
}

export interface DownloadsOptions {
  /** Offer `blob` for saving as `name` (the UI's anchor; it revokes its own URL). */
  save(blob: Blob, name: string): void;
  /** Fetches the stream; default: {@link fetchFileStream}. */
  fetchStream?(id: string, signal: AbortSignal): Promise<FileStreamResponse>;
  /** Clock in milliseconds for the speed; default `performance.now()`. */
  now?(): number;
}

interface Running {
  readonly view: FileView;
  readonly purpose: "save" | "open";
  readonly abort: AbortController;
  readonly meter: RateMeter;
  doneBytes: number;
  error: string | null;
  /** When the last bytes arrived (the stall watchdog). */
  lastProgressAt: number;
  stalled: boolean;
}

/** Why a download stopped: a code for {@link downloadErrorText}. */
class Failed extends Error {
  readonly code: string;
  readonly chunk: number | null;
  readonly status: number | null;

  constructor(code: string, chunk: number | null = null, status: number | null = null) {
    super(code);
    this.code = code;
    this.chunk = chunk;
    this.status = status;
  }
}

function failureOf(caught: unknown, aborted: boolean, stalled: boolean): Failed {
  if (stalled) {
    return new Failed("stalled");
  }
  if (aborted) {
    return new Failed("cancelled");
  }
  if (caught instanceof FileStreamError) {
    return new Failed(caught.code, caught.chunk);
  }
  if (caught instanceof ApiError) {
    return caught.status === 404
      ? new Failed("not_found", null, 404)
      : new Failed(caught.status === 0 ? "network" : caught.code, null, caught.status || null);
  }
  if (caught instanceof Failed) {
    return caught;
  }
  return new Failed("network");
}

/**
 * Decrypt a file's stream as it is read, gathering the plaintext into a
 * Blob of `type`; resolves only after the stream verified to its end.
 * `progress` hears the stream bytes read so far.
 *
 * @throws FileStreamError when the stream is not exactly what its sender made.
 */
export async function decryptStream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  key: string,
  size: number,
  type: string,
  progress: (streamBytes: number) => void,
): Promise<Blob> {
  const decryptor = new FileDecryptor(key, size);
  let blob = new Blob([], { type });
  let parts: Uint8Array<ArrayBuffer>[] = [];
  let held = 0;
  let read = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    read += value.length;
    for (const plain of decryptor.push(value)) {
      parts.push(plain as Uint8Array<ArrayBuffer>);
      held += plain.length;
    }
    if (held >= FLUSH_BYTES) {
      blob = new Blob([blob, ...parts], { type });
      parts = [];
      held = 0;
    }
    progress(read);
  }
  decryptor.finish();
  return new Blob([blob, ...parts], { type });
}

export function createDownloadsStore(options: DownloadsOptions): DownloadsStore {
  const running = new Map<string, Running>();
  const opened = new Map<string, string>();
  const version = signal(0);
  const now = options.now ?? (() => performance.now());
  const fetchStream = options.fetchStream ?? fetchFileStream;
  const bump = (): void => {
    version.value++;
  };

  const downloads = computed<ReadonlyMap<string, DownloadView>>(() => {
    version.value;
    const out = new Map<string, DownloadView>();
    for (const [id, each] of running) {
      const rate = each.error === null ? each.meter.bytesPerSecond : null;
      out.set(id, {
        id,
        name: each.view.name,
        purpose: each.purpose,
        state: each.error === null ? "downloading" : "failed",
        doneBytes: each.doneBytes,
        totalBytes: each.view.size,
        bytesPerSecond: rate,
        secondsLeft: each.error === null ? secondsLeft(each.doneBytes, each.view.size, rate) : null,
        error: each.error,
      });
    }
    return out;
  });

  /** Fetch and decrypt `view`; null when it failed or was cancelled (the view then says why). */
  const fetchBlob = async (view: FileView, purpose: "save" | "open", type: string): Promise<Blob | null> => {
    const key = fileKeyOf(view);
    const current = running.get(view.id);
    if (current !== undefined && current.error === null) {
      return null; // already on its way
    }
    const job: Running = {
      view,
      purpose,
      abort: new AbortController(),
      meter: new RateMeter(),
      doneBytes: 0,
      error: null,
      lastProgressAt: now(),
      stalled: false,
    };
    running.set(view.id, job);
    job.meter.sample(0, now());
    bump();
    const streamTotal = fileStreamSize(view.size);
    // Nothing arriving for STALL_MS (a server that stopped sending, a dead
    // connection the browser has not noticed): give up rather than wait forever.
    const watchdog = setInterval(() => {
      if (now() - job.lastProgressAt > STALL_MS) {
        job.stalled = true;
        job.abort.abort();
      }
    }, 1000);
    try {
      if (key === null) {
        throw new Failed("file_corrupt");
      }
      if (purpose === "open" && view.size > MAX_OPEN_BYTES) {
        throw new Failed("too_large");
      }
      const response = await fetchStream(view.id, job.abort.signal);
      const blob = await decryptStream(response.reader, key, view.size, type, (read) => {
        job.lastProgressAt = now();
        job.doneBytes = Math.min(view.size, Math.round((read / streamTotal) * view.size));
        job.meter.sample(job.doneBytes, now());
        bump();
      });
      if (running.get(view.id) === job) {
        running.delete(view.id);
        bump();
      }
      return job.abort.signal.aborted ? null : blob;
    } catch (caught) {
      const failure = failureOf(caught, job.abort.signal.aborted, job.stalled);
      if (running.get(view.id) === job) {
        if (failure.code === "cancelled") {
          running.delete(view.id);
        } else {
          job.error = downloadErrorText(view.name, failure.code, failure.chunk, failure.status);
          job.abort.abort();
        }
        bump();
      }
      return null;
    } finally {
      clearInterval(watchdog);
    }
  };

  return {
    downloads,
    async save(view: FileView): Promise<void> {
      const blob = await fetchBlob(view, "save", "application/octet-stream");
      if (blob !== null) {
        options.save(blob, sanitiseFileName(view.name));
      }
    },
    async open(view: FileView): Promise<string | null> {
      const held = opened.get(view.id);
      if (held !== undefined) {
        return held;
      }
      const blob = await fetchBlob(view, "open", view.viewable ? view.type.toLowerCase() : "");
      if (blob === null) {
        return null;
      }
      const url = URL.createObjectURL(blob);
      opened.set(view.id, url);
      return url;
    },
    release(view: FileView): void {
      const url = opened.get(view.id);
      if (url !== undefined) {
        opened.delete(view.id);
        URL.revokeObjectURL(url);
      }
    },
    cancel(id: string): void {
      const job = running.get(id);
      if (job !== undefined && job.error === null) {
        job.abort.abort();
        running.delete(id);
        bump();
      }
    },
    dismiss(id: string): void {
      const job = running.get(id);
      if (job !== undefined && job.error !== null) {
        running.delete(id);
        bump();
      }
    },
    dispose(): void {
      for (const job of running.values()) {
        job.abort.abort();
      }
      running.clear();
      for (const url of opened.values()) {
        URL.revokeObjectURL(url);
      }
      opened.clear();
    },
  };
}
