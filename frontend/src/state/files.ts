/**
 * Files (PROTOCOL.md §8), the parts people read: sizes, speeds and time
 * left, the sentences for every way an upload or a download can fail, the
 * name a file is saved under, and the `file` content as the timeline shows
 * it. Pure functions, tested without a server or a browser.
 */

import type { Content } from "../protocol";

/** Image types whose upload gets a thumbnail made in the browser. */
export const THUMBNAIL_SOURCE_TYPES: readonly string[] = [
  "image/jpeg",
  "image/png",
  "image/webp",
  "image/gif",
];
/** Thumbnail types a `file` content may carry (§8.2), which the recipient shows inline. */
export const THUMBNAIL_TYPES: readonly string[] = ["image/jpeg", "image/png", "image/webp"];
/** Image types the browser opens full size (in a dialog) after decrypting them. */
export const VIEWABLE_IMAGE_TYPES: readonly string[] = ["image/jpeg", "image/png", "image/webp", "image/gif"];
/** The longest side of a thumbnail, in pixels. */
export const THUMBNAIL_MAX_SIDE = 320;
/**
 * The most bytes a thumbnail may have. §8.2 allows 49,152, but base64url
 * grows it by a third and the whole content must stay under 65,535 bytes
 * (§7.4) with a name of up to 255 characters: 40 KiB always fits.
 */
export const THUMBNAIL_MAX_BYTES = 40 * 1024;
/** JPEG qualities tried, best first, until the thumbnail fits {@link THUMBNAIL_MAX_BYTES}. */
export const THUMBNAIL_QUALITIES: readonly number[] = [0.82, 0.72, 0.62, 0.5, 0.4, 0.3];
/** The longest name a `file` content may carry, in code points (§8.2). */
export const MAX_FILE_NAME_CHARS = 255;

// --- Sizes, speed and time left -------------------------------------------------------

const UNITS = ["KB", "MB", "GB", "TB"] as const;

/**
 * A size as people read it, in binary multiples with the familiar names
 * (1 MB = 1,048,576 bytes, as the file chunks are counted): "512 bytes",
 * "48.2 KB", "50.0 MB". `compact` drops a ".0" ("4 GB", for limits).
 */
export function formatBytes(bytes: number, compact = false): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return "";
  }
  if (bytes < 1024) {
    return `${Math.round(bytes)} ${Math.round(bytes) === 1 ? "byte" : "bytes"}`;
  }
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1023.95 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = value.toFixed(1);
  return `${compact && text.endsWith(".0") ? text.slice(0, -2) : text} ${UNITS[unit]}`;
}

/** A speed: "45.1 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Time left: "1 s left", "4 min left", "2 h 5 min left". */
export function formatTimeLeft(seconds: number): string {
  const whole = Math.max(0, Math.ceil(seconds));
  if (whole < 60) {
    return `${whole} s left`;
  }
  const minutes = Math.ceil(whole / 60);
  if (minutes < 60) {
    return `${minutes} min left`;
  }
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h left` : `${hours} h ${rest} min left`;
}

/** Seconds until `total` bytes are done at `bytesPerSecond`, or null when the speed is not known yet. */
export function secondsLeft(done: number, total: number, bytesPerSecond: number | null): number | null {
  if (bytesPerSecond === null || !(bytesPerSecond > 0)) {
    return null;
  }
  return Math.max(0, total - done) / bytesPerSecond;
}

/** "12.3 MB of 50.0 MB · 45.1 MB/s · 1 s left" (speed and time once they are known). */
export function progressText(done: number, total: number, bytesPerSecond: number | null): string {
  const parts = [`${formatBytes(done)} of ${formatBytes(total)}`];
  const left = secondsLeft(done, total, bytesPerSecond);
  if (bytesPerSecond !== null && left !== null) {
    parts.push(formatRate(bytesPerSecond), formatTimeLeft(left));
  }
  return parts.join(" · ");
}

/**
 * A smoothed transfer speed: an exponentially weighted average whose weight
 * follows the time between samples (time constant `tauMs`), so a burst of
 * acknowledgements a millisecond apart does not make the speed jump. No
 * speed is known until `warmupMs` have passed since the first sample.
 */
export class RateMeter {
  readonly #tauMs: number;
  readonly #warmupMs: number;
  #firstAt: number | null = null;
  #firstBytes = 0;
  #lastAt = 0;
  #lastBytes = 0;
  #rate: number | null = null;

  constructor(tauMs = 3000, warmupMs = 400) {
    this.#tauMs = tauMs;
    this.#warmupMs = warmupMs;
  }

  /** `bytes` are done by time `at` (milliseconds, any clock that only goes forward). */
  sample(bytes: number, at: number): void {
    if (this.#firstAt === null) {
      this.#firstAt = at;
      this.#firstBytes = bytes;
      this.#lastAt = at;
      this.#lastBytes = bytes;
      return;
    }
    const dt = at - this.#lastAt;
    if (dt <= 0) {
      this.#lastBytes = bytes; // counted with the next sample
      return;
    }
    if (this.#rate === null) {
      if (at - this.#firstAt >= this.#warmupMs) {
        this.#rate = ((bytes - this.#firstBytes) * 1000) / (at - this.#firstAt);
        this.#lastAt = at;
        this.#lastBytes = bytes;
      }
      return;
    }
    const instant = ((bytes - this.#lastBytes) * 1000) / dt;
    const weight = 1 - Math.exp(-dt / this.#tauMs);
    this.#rate += weight * (instant - this.#rate);
    this.#lastAt = at;
    this.#lastBytes = bytes;
  }

  /** Start over (after a pause such as a reconnect, the old speed says little). */
  reset(): void {
    this.#firstAt = null;
    this.#rate = null;
  }

  /** Bytes per second, or null while not known. */
  get bytesPerSecond(): number | null {
    return this.#rate === null ? null : Math.max(0, this.#rate);
  }
}

// --- Names ----------------------------------------------------------------------------

/**
 * The name a file is saved under (§8.2): never a path. `/` and `\`, control
 * characters and leading dots become "_"; an empty name becomes "file".
 */
export function sanitiseFileName(name: string): string {
  let safe = "";
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    safe += code < 0x20 || code === 0x7f || char === "/" || char === "\\" ? "_" : char;
  }
  safe = safe.trim();
  const dots = /^\.+/.exec(safe)?.[0].length ?? 0;
  safe = "_".repeat(dots) + safe.slice(dots);
  return safe === "" ? "file" : safe;
}

/**
 * A local file's name as a `file` content may carry it (§8.2): 1-255 code
 * points, no control characters (they become "_"); a longer name keeps its
 * extension.
 */
export function contentFileName(name: string): string {
  let clean = "";
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    clean += code < 0x20 || code === 0x7f ? "_" : char;
  }
  const chars = [...clean];
  if (chars.length === 0) {
    return "file";
  }
  if (chars.length <= MAX_FILE_NAME_CHARS) {
    return clean;
  }
  const dot = clean.lastIndexOf(".");
  const extension = dot > 0 ? [...clean.slice(dot)] : [];
  const keep = extension.length > 0 && extension.length <= 16 ? extension : [];
  return [...chars.slice(0, MAX_FILE_NAME_CHARS - keep.length), ...keep].join("");
}

// --- Error sentences ------------------------------------------------------------------

/** A number the server put into an error frame, by field name or else from its message. */
function numberIn(frame: Readonly<Record<string, unknown>>, fields: readonly string[]): number | null {
  for (const name of fields) {
    const value = frame[name];
    if (typeof value === "number" && Number.isFinite(value) && value >= 0) {
      return value;
    }
  }
  const message = typeof frame.message === "string" ? frame.message : "";
  const found = /(\d[\d,_]*)\s*bytes/.exec(message) ?? /(\d[\d,_]{2,})/.exec(message);
  if (found?.[1] === undefined) {
    return null;
  }
  const value = Number(found[1].replace(/[,_]/g, ""));
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * What an upload's failure says, for every code of PROTOCOL.md §8.3 (and
 * the relay's, §4.3): `frame` is the server's error frame (its numbers name
 * the limit or what is left), or just `{code}` for failures seen here.
 */
export function uploadErrorText(name: string, frame: Readonly<Record<string, unknown>>): string {
  const code = typeof frame.code === "string" ? frame.code : "internal_error";
  switch (code) {
    case "file_too_large": {
      const limit = numberIn(frame, ["limit", "max_bytes", "max_file_bytes"]);
      return limit === null
        ? `${name} is larger than the server's limit for files.`
        : `${name} is larger than the ${formatBytes(limit, true)} limit.`;
    }
    case "quota_exceeded": {
      const left = numberIn(frame, ["left", "available", "remaining", "free"]);
      const what =
        left === null
          ? "Your workspace's storage is full."
          : `Your workspace's storage is full: ${formatBytes(left, true)} left.`;
      return `${what} ${name} was not uploaded.`;
    }
    case "disk_full":
      return `The server ran out of disk space; ${name} was not uploaded.`;
    case "not_in_room":
      return `You are not in this room any more; ${name} was not uploaded.`;
    case "invalid_size":
      return `The server refused the size of ${name}; it was not uploaded.`;
    case "unknown_upload":
      return `The server no longer has the upload of ${name} (it may have expired); it was not uploaded.`;
    case "incomplete_upload":
      return `The server is missing part of ${name}; it was not uploaded.`;
    case "bad_chunk_frame":
    case "out_of_order":
    case "bad_chunk_size":
      return `The server refused a part of ${name} (${code}); it was not uploaded.`;
    case "rate_limited":
      return `The server is busy; ${name} was not uploaded. Try again in a moment.`;
    case "read_failed":
      return `${name} could not be read from this device (it may have been moved or changed); it was not uploaded.`;
    case "signed_out":
      return `You were signed out; ${name} was not uploaded.`;
    case "not_member":
      return `You are not a member of this workspace any more; ${name} was not uploaded.`;
    case "send_failed":
      return `${name} was uploaded but its message could not be sent.`;
    case "internal_error":
      return `The server failed while storing ${name}; it was not uploaded.`;
    default:
      return `The server refused the upload of ${name} (${code}); it was not uploaded.`;
  }
}

/**
 * What a failed download says (§8.1's stream errors, and the server's
 * answers); `chunk` is the 0-based index of the chunk that failed, shown
 * counting from 1 as people count.
 */
export function downloadErrorText(
  name: string,
  code: string,
  chunk: number | null = null,
  status: number | null = null,
): string {
  switch (code) {
    case "file_corrupt":
      return chunk === null
        ? `${name} was altered or reordered on the server (a chunk failed verification); it was not saved.`
        : `${name} was altered or reordered on the server (chunk ${chunk + 1} failed verification); it was not saved.`;
    case "file_truncated":
      return `${name} is incomplete on the server (it ends early); it was not saved.`;
    case "file_trailing_data":
      return `${name} has extra data appended on the server; it was not saved.`;
    case "file_size_mismatch":
      return `${name} does not have the size its sender announced; it was not saved.`;
    case "not_found":
      return `${name} is no longer available to you.`;
    case "network":
      return `${name} could not be downloaded: the connection was lost. Try again.`;
    case "stalled":
      return `${name} could not be downloaded: the server stopped sending it; it was not saved. Try again.`;
    case "too_large":
      return `${name} is too large for this browser to open here; download it instead.`;
    default:
      return status === null
        ? `${name} could not be downloaded (${code}).`
        : `${name} could not be downloaded (the server answered ${status}).`;
  }
}

// --- The `file` content as the timeline shows it ----------------------------------------

/** A thumbnail ready to show: a `data:` URL of the encrypted message's image bytes. */
export interface ThumbnailView {
  readonly url: string;
  readonly width: number;
  readonly height: number;
}

/** What a `file` message shows; the file's key stays in the state layer ({@link fileKeyOf}). */
export interface FileView {
  /** The upload's UUID, which names the file on the server. */
  readonly id: string;
  readonly name: string;
  /** The MIME type its sender gave ("" when unknown). */
  readonly type: string;
  /** The plaintext size in bytes. */
  readonly size: number;
  readonly thumbnail: ThumbnailView | null;
  /** Whether the browser can show it full size (a decrypted image). */
  readonly viewable: boolean;
}

const keys = new WeakMap<FileView, string>();

/** The file's key (base64url), for the download store only. */
export function fileKeyOf(view: FileView): string | null {
  return keys.get(view) ?? null;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const B64U_PATTERN = /^[A-Za-z0-9_-]*$/;

/** Standard base64 (with padding) of unpadded base64url text. */
export function base64FromB64u(text: string): string {
  const standard = text.replaceAll("-", "+").replaceAll("_", "/");
  return standard + "=".repeat((4 - (standard.length % 4)) % 4);
}

function thumbnailOf(value: unknown): ThumbnailView | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return null;
  }
  const { type, width, height, data } = value as Record<string, unknown>;
  if (
    typeof type !== "string" ||
    !THUMBNAIL_TYPES.includes(type) ||
    typeof width !== "number" ||
    typeof height !== "number" ||
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < 1 ||
    height < 1 ||
    width > 1024 ||
    height > 1024 ||
    typeof data !== "string" ||
    data === "" ||
    !B64U_PATTERN.test(data)
  ) {
    return null;
  }
  return { url: `data:${type};base64,${base64FromB64u(data)}`, width, height };
}

const views = new WeakMap<object, FileView | null>();

/**
 * The view of a `file` content (§8.2), or null when it is not one or its
 * fields are not what the protocol says. One view per content object, so
 * folds over the same entries give the same object.
 */
export function fileViewOf(content: Content | null): FileView | null {
  if (content === null || content.kind !== "file") {
    return null;
  }
  if (views.has(content)) {
    return views.get(content) ?? null;
  }
  const { file, key, name, type, size } = content;
  let view: FileView | null = null;
  if (
    typeof file === "string" &&
    UUID_PATTERN.test(file) &&
    typeof key === "string" &&
    key.length === 43 &&
    B64U_PATTERN.test(key) &&
    typeof name === "string" &&
    name !== "" &&
    [...name].length <= MAX_FILE_NAME_CHARS &&
    typeof type === "string" &&
    typeof size === "number" &&
    Number.isSafeInteger(size) &&
    size >= 0
  ) {
    const thumbnail = thumbnailOf(content.thumbnail);
    view = {
      id: file,
      name,
      type,
      size,
      thumbnail,
      viewable: VIEWABLE_IMAGE_TYPES.includes(type.toLowerCase()),
    };
    keys.set(view, key);
  }
  views.set(content, view);
  return view;
}

/** How a file message reads where only text fits (notifications, previews): "📎 report.pdf". */
export function filePreview(name: string): string {
  return `📎 ${name}`;
}

/** A thumbnail's size: the image scaled so that its longer side is at most `max` (never enlarged). */
export function thumbnailSize(
  width: number,
  height: number,
  max: number = THUMBNAIL_MAX_SIDE,
): { width: number; height: number } {
  if (!(width > 0) || !(height > 0)) {
    return { width: 1, height: 1 };
  }
  const scale = Math.min(1, max / Math.max(width, height));
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}
