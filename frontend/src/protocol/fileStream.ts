/**
 * Encrypted files: the stream the server stores (PROTOCOL.md §8.1; mirrors
 * `protocol/file_stream.py`).
 *
 * A file is cut into plaintext chunks of `chunkBytes` (1 MiB on the wire; the
 * test vectors use smaller chunks so that streams of many chunks stay small)
 * and encrypted with libsodium's secretstream (XChaCha20-Poly1305) under a
 * random per-file key: `header (24 bytes) ‖ c_0 ‖ … ‖ c_{n-1}`, each chunk 17
 * bytes longer than its plaintext, the last one tagged FINAL.
 *
 * Reading needs the plaintext `size` from the `file` content: it fixes where
 * each chunk ends, so that a stream cut short, cut at a chunk boundary, longer
 * than announced or made for another size each get their own code (§8.1,
 * "Which code, exactly"). {@link FileDecryptor} applies the rules to a download arriving
 * in pieces of any size and gives the same result however it is split. Both
 * implementations pass `tests/vectors/files/streams.json`.
 *
 * As everywhere in this package, `await sodiumReady()` first.
 */

import { b64uDecodeExact, b64uEncode, MAX_SAFE_INTEGER } from "./encoding";
import { EncodingError, FileStreamError, KeyFormatError } from "./errors";
import { lib, type Sodium } from "./sodium";

export { FileStreamError, type FileStreamErrorCode } from "./errors";

/** Plaintext bytes per chunk on the wire (the last chunk may be shorter). */
export const FILE_CHUNK_BYTES = 1_048_576;
/** The secretstream header that starts every stream. */
export const FILE_STREAM_HEADER_BYTES = 24;
/** What encryption adds to each chunk: the encrypted tag byte and a 16-byte MAC. */
export const FILE_CHUNK_OVERHEAD_BYTES = 17;
export const FILE_KEY_BYTES = 32;
/** The stream of an empty file: the header and one empty chunk. */
export const MIN_STREAM_BYTES = FILE_STREAM_HEADER_BYTES + FILE_CHUNK_OVERHEAD_BYTES;

type StreamState = ReturnType<Sodium["crypto_secretstream_xchacha20poly1305_init_pull"]>;

// --- Sizes ---------------------------------------------------------------------------

function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) {
    throw new RangeError("chunkBytes must be a positive integer");
  }
}

function checkPlainSize(plainSize: number): void {
  if (!Number.isSafeInteger(plainSize) || plainSize < 0) {
    throw new RangeError("a file size is a non-negative safe integer");
  }
}

/** How many chunks a file of `plainSize` bytes has: `max(1, ceil(size / chunk))` (an empty file is one empty chunk). */
export function fileChunkCount(plainSize: number, chunkBytes: number = FILE_CHUNK_BYTES): number {
  checkPlainSize(plainSize);
  checkChunkBytes(chunkBytes);
  return Math.max(1, Math.ceil(plainSize / chunkBytes));
}

/**
 * The stream's length: `24 + size + 17 * chunks`.
 *
 * @throws RangeError beyond 2^53-1 bytes (not counted exactly any more).
 */
export function fileStreamSize(plainSize: number, chunkBytes: number = FILE_CHUNK_BYTES): number {
  const total =
    FILE_STREAM_HEADER_BYTES + plainSize + FILE_CHUNK_OVERHEAD_BYTES * fileChunkCount(plainSize, chunkBytes);
  if (total > MAX_SAFE_INTEGER) {
    throw new RangeError("the stream of a file this large is over 2^53-1 bytes");
  }
  return total;
}

/**
 * The plaintext size whose stream is `streamSize` bytes, or null if there is
 * none (under 41 bytes, or a last chunk that would be under 17 bytes or empty).
 */
export function plainSizeOfStream(streamSize: number, chunkBytes: number = FILE_CHUNK_BYTES): number | null {
  checkChunkBytes(chunkBytes);
  if (!Number.isSafeInteger(streamSize) || streamSize < MIN_STREAM_BYTES) {
    return null;
  }
  const frame = chunkBytes + FILE_CHUNK_OVERHEAD_BYTES;
  const body = streamSize - FILE_STREAM_HEADER_BYTES;
  const rest = body % frame;
  const candidate = ((body - rest) / frame) * chunkBytes + Math.max(0, rest - FILE_CHUNK_OVERHEAD_BYTES);
  // Stream sizes are strictly increasing in the plaintext size, so at most this one fits.
  if (!Number.isSafeInteger(candidate)) {
    return null;
  }
  try {
    return fileStreamSize(candidate, chunkBytes) === streamSize ? candidate : null;
  } catch {
    return null;
  }
}

/**
 * The stream bytes of chunk `index` (chunk 0 includes the 24-byte header):
 * what the upload sends as that chunk.
 *
 * @throws RangeError for an index outside the file.
 */
export function streamChunkLength(
  plainSize: number,
  index: number,
  chunkBytes: number = FILE_CHUNK_BYTES,
): number {
  const count = fileChunkCount(plainSize, chunkBytes);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new RangeError(`chunk index ${index} outside 0..${count - 1}`);
  }
  const length = frameLength(plainSize, index, chunkBytes);
  return index === 0 ? length + FILE_STREAM_HEADER_BYTES : length;
}

/** Ciphertext bytes of chunk `index` (header not included). */
function frameLength(plainSize: number, index: number, chunkBytes: number): number {
  return Math.min(chunkBytes, plainSize - index * chunkBytes) + FILE_CHUNK_OVERHEAD_BYTES;
}

// --- Writing -------------------------------------------------------------------------

/**
 * Encrypts one file, chunk by chunk, under a fresh random key. The raw key
 * never leaves this object: {@link FileEncryptor.key} is its base64url form
 * for the `file` content (§8.2).
 */
export class FileEncryptor {
  /** The file key as unpadded base64url (32 bytes). */
  readonly key: string;
  readonly #state: StreamState;
  readonly #chunkBytes: number;
  #header: Uint8Array | null;
  #index = 0;
  #finished = false;

  private constructor(key: Uint8Array, header: Uint8Array | null, chunkBytes: number) {
    checkChunkBytes(chunkBytes);
    checkKey(key);
    const sodium = lib();
    this.key = b64uEncode(key);
    this.#chunkBytes = chunkBytes;
    if (header === null) {
      const started = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
      this.#state = started.state;
      this.#header = started.header;
    } else {
      // init_pull derives exactly the state init_push does from a header, so
      // pushing on it gives the stream init_push would give with that header.
      this.#state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
      this.#header = header.slice();
    }
  }

  /**
   * A fresh random key and header (`crypto_secretstream_xchacha20poly1305_keygen`).
   *
   * @param chunkBytes - the plaintext chunk size; anything but 1 MiB is for tests.
   */
  static create(chunkBytes: number = FILE_CHUNK_BYTES): FileEncryptor {
    const key = lib().crypto_secretstream_xchacha20poly1305_keygen();
    try {
      return new FileEncryptor(key, null, chunkBytes);
    } finally {
      key.fill(0);
    }
  }

  /** @internal A fixed key and header, to reproduce the test vectors byte for byte. */
  static withHeader(
    key: Uint8Array,
    header: Uint8Array,
    chunkBytes: number = FILE_CHUNK_BYTES,
  ): FileEncryptor {
    if (header.length !== FILE_STREAM_HEADER_BYTES) {
      throw new RangeError(`a header is ${FILE_STREAM_HEADER_BYTES} bytes`);
    }
    return new FileEncryptor(key, header, chunkBytes);
  }

  /**
   * Encrypt the next chunk and return its stream bytes; the first call's
   * output starts with the 24-byte header. Every chunk but the last must be
   * exactly `chunkBytes` long, the last 1 to `chunkBytes` (0 only when it is
   * the only one); `last` tags it FINAL.
   *
   * @throws RangeError for a chunk of the wrong size; Error after the last chunk.
   */
  push(plain: Uint8Array, last: boolean): Uint8Array {
    if (this.#finished) {
      throw new Error("the file's last chunk was already encrypted");
    }
    const fits = last
      ? plain.length <= this.#chunkBytes && (plain.length > 0 || this.#index === 0)
      : plain.length === this.#chunkBytes;
    if (!fits) {
      throw new RangeError(
        `chunk ${this.#index} has ${plain.length} bytes; ` +
          (last ? `the last has 1 to ${this.#chunkBytes}` : `all but the last have ${this.#chunkBytes}`),
      );
    }
    const sodium = lib();
    const tag = last
      ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const chunk = sodium.crypto_secretstream_xchacha20poly1305_push(this.#state, plain, null, tag);
    this.#finished = last;
    this.#index++;
    const header = this.#header;
    if (header === null) {
      return chunk;
    }
    this.#header = null;
    const out = new Uint8Array(header.length + chunk.length);
    out.set(header);
    out.set(chunk, header.length);
    return out;
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== FILE_KEY_BYTES) {
    throw new KeyFormatError(`a file key is ${FILE_KEY_BYTES} bytes`);
  }
}

function decodeKey(key: string): Uint8Array {
  try {
    return b64uDecodeExact(key, FILE_KEY_BYTES, "file key");
  } catch (error) {
    if (error instanceof EncodingError) {
      throw new KeyFormatError(`a file key is ${FILE_KEY_BYTES} bytes of base64url`);
    }
    throw error;
  }
}

// --- Reading -------------------------------------------------------------------------

/**
 * - `reading`: chunks to come;
 * - `retrying`: the last chunk failed at its announced length: is the file longer?
 * - `earlyEnd`: FINAL before the last chunk: only the end of the stream may follow;
 * - `done`: the last chunk, tagged FINAL: nothing may follow.
 */
type Phase = "reading" | "retrying" | "earlyEnd" | "done";

/** A decrypted chunk and its tag. */
interface Opened {
  readonly message: Uint8Array;
  readonly tag: number;
}

/**
 * Decrypts a stream as it downloads, keeping at most about one chunk
 * buffered. {@link FileDecryptor.push} returns the plaintext chunks it
 * completed; {@link FileDecryptor.finish} says the stream ended. Either
 * throws {@link FileStreamError} as soon as the stream is known to be wrong,
 * and again on every later call. The result (plaintext and error) depends
 * only on the bytes, never on how they were split. Offer the file for saving
 * only after `finish()` returned.
 */
export class FileDecryptor {
  readonly #size: number;
  readonly #chunks: number;
  readonly #frame: number;
  readonly #lastFrame: number;
  /** The raw key until the header arrives (then the state holds it). */
  #key: Uint8Array | null;
  #state: StreamState | null = null;
  /** Bytes of the chunk (or header) being assembled: at most one chunk. */
  #buffer: Uint8Array;
  #filled = 0;
  #index = 0;
  #phase: Phase = "reading";
  #error: FileStreamError | null = null;
  #plainBytes = 0;

  /**
   * @param key - the `key` of the `file` content (32 bytes, base64url).
   * @param size - the `size` of the `file` content (plaintext bytes).
   * @param chunkBytes - the plaintext chunk size; anything but 1 MiB is for tests.
   * @throws {@link KeyFormatError} for a key that is not 32 bytes of base64url; RangeError for a bad size.
   */
  constructor(key: string, size: number, chunkBytes: number = FILE_CHUNK_BYTES) {
    this.#chunks = fileChunkCount(size, chunkBytes);
    this.#key = decodeKey(key);
    this.#size = size;
    this.#frame = chunkBytes + FILE_CHUNK_OVERHEAD_BYTES;
    this.#lastFrame = frameLength(size, this.#chunks - 1, chunkBytes);
    // Allocated as it fills, so a small file never takes a whole chunk's memory.
    this.#buffer = new Uint8Array(0);
  }

  /** Plaintext bytes returned so far. */
  get plainBytes(): number {
    return this.#plainBytes;
  }

  /**
   * Feed the next downloaded stream bytes (split anyhow).
   *
   * @returns the plaintext chunks these bytes completed, in order.
   * @throws {@link FileStreamError} `file_corrupt` (with the chunk),
   *   `file_trailing_data`, `file_size_mismatch` as soon as known.
   */
  push(bytes: Uint8Array): Uint8Array[] {
    if (this.#error !== null) {
      throw this.#error;
    }
    try {
      return this.#push(bytes);
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  /**
   * The download ended.
   *
   * @throws {@link FileStreamError} unless the stream held exactly the
   *   announced file: `file_truncated`, `file_size_mismatch`, `file_corrupt`.
   */
  finish(): void {
    if (this.#error !== null) {
      throw this.#error;
    }
    try {
      this.#finish();
    } catch (error) {
      this.#fail(error);
      throw error;
    }
  }

  #fail(error: unknown): void {
    if (error instanceof FileStreamError) {
      this.#error = error;
    }
    this.#buffer = new Uint8Array(0);
    this.#filled = 0;
    this.#key?.fill(0);
    this.#key = null;
  }

  // Every decision waits for a fixed number of bytes or the end of the stream,
  // and looks at nothing else, which is what makes the result independent of
  // the split.

  /**
   * The next `want` stream bytes (buffered ones first), or null and all of
   * `data` from `at` buffered if there are not that many yet.
   */
  #take(data: Uint8Array, at: number, want: number): [Uint8Array | null, number] {
    const need = want - this.#filled;
    if (this.#filled === 0 && data.length - at >= want) {
      return [data.subarray(at, at + want), at + want];
    }
    const available = Math.min(need, data.length - at);
    if (this.#buffer.length < this.#filled + available) {
      const grown = new Uint8Array(Math.max(want, FILE_STREAM_HEADER_BYTES));
      grown.set(this.#buffer.subarray(0, this.#filled));
      this.#buffer = grown;
    }
    this.#buffer.set(data.subarray(at, at + available), this.#filled);
    this.#filled += available;
    if (available < need) {
      return [null, data.length];
    }
    // A view, not a copy: libsodium copies it at once (and #keep copes with it).
    const piece = this.#buffer.subarray(0, this.#filled);
    this.#filled = 0;
    return [piece, at + available];
  }

  /** Keep `piece` (perhaps a view of the buffer itself) as the start of the chunk being assembled. */
  #keep(piece: Uint8Array): void {
    if (this.#buffer.length < this.#frame) {
      this.#buffer = new Uint8Array(this.#frame);
    }
    this.#buffer.set(piece);
    this.#filled = piece.length;
  }

  #push(data: Uint8Array): Uint8Array[] {
    const plain: Uint8Array[] = [];
    let at = 0;
    let piece: Uint8Array | null;
    if (this.#state === null) {
      [piece, at] = this.#take(data, at, FILE_STREAM_HEADER_BYTES);
      if (piece === null || this.#key === null) {
        return plain;
      }
      this.#state = lib().crypto_secretstream_xchacha20poly1305_init_pull(piece, this.#key);
      this.#key.fill(0);
      this.#key = null;
    }
    const sodium = lib();
    for (;;) {
      if (this.#phase === "earlyEnd" || this.#phase === "done") {
        if (at < data.length) {
          throw this.#afterEnd();
        }
        return plain;
      }
      const last = this.#index === this.#chunks - 1;
      if (this.#phase === "retrying") {
        [piece, at] = this.#take(data, at, this.#frame);
        if (piece === null) {
          return plain;
        }
        throw this.#longer(this.#pull(piece));
      }
      [piece, at] = this.#take(data, at, last ? this.#lastFrame : this.#frame);
      if (piece === null) {
        return plain;
      }
      const opened = this.#pull(piece);
      if (opened === null) {
        if (last && this.#lastFrame < this.#frame) {
          // Perhaps the file is longer than announced: wait for a full chunk.
          this.#keep(piece);
          this.#phase = "retrying";
          continue;
        }
        throw corrupt(this.#index, "fails authentication");
      }
      const { message, tag } = opened;
      const final = tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
      if (!final && tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
        throw corrupt(this.#index, `has tag ${tag}, neither MESSAGE nor FINAL`);
      }
      if (last && !final) {
        throw sizeMismatch(this.#index, `the file goes on past ${this.#size} bytes`);
      }
      plain.push(message);
      this.#plainBytes += message.length;
      if (final) {
        this.#phase = last ? "done" : "earlyEnd";
      } else {
        this.#index++;
      }
    }
  }

  #finish(): void {
    if (this.#phase === "done") {
      return;
    }
    if (this.#phase === "earlyEnd") {
      throw sizeMismatch(this.#index, `the file ends after ${this.#plainBytes} bytes, not ${this.#size}`);
    }
    if (this.#state === null) {
      throw new FileStreamError(
        "file_truncated",
        `the stream ends inside its ${FILE_STREAM_HEADER_BYTES}-byte header`,
      );
    }
    const rest = this.#buffer.slice(0, this.#filled);
    this.#filled = 0;
    if (this.#phase === "retrying") {
      // Between the announced length of the last chunk and a full chunk.
      throw this.#longer(rest.length > this.#lastFrame ? this.#pull(rest) : null);
    }
    if (rest.length >= FILE_CHUNK_OVERHEAD_BYTES) {
      const opened = this.#pull(rest);
      if (opened !== null && opened.tag === lib().crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        const ends = this.#plainBytes + opened.message.length;
        throw sizeMismatch(this.#index, `the file ends after ${ends} bytes, not ${this.#size}`);
      }
    }
    throw new FileStreamError(
      "file_truncated",
      `the stream ends inside chunk ${this.#index} (or before it)`,
      this.#index,
    );
  }

  /** The verdict on the last chunk, which failed at its announced length and was tried again as a longer chunk. */
  #longer(opened: Opened | null): FileStreamError {
    const sodium = lib();
    if (
      opened !== null &&
      (opened.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ||
        opened.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL)
    ) {
      return sizeMismatch(this.#index, `the file is longer than ${this.#size} bytes`);
    }
    return corrupt(this.#index, "fails authentication");
  }

  #afterEnd(): FileStreamError {
    if (this.#phase === "earlyEnd") {
      return corrupt(this.#index, "is tagged FINAL but is not the last chunk");
    }
    return new FileStreamError("file_trailing_data", "bytes follow the chunk tagged FINAL");
  }

  /**
   * Decrypt one chunk; null if it fails authentication (the state is then
   * unchanged, so the same chunk may be tried again with more bytes).
   */
  #pull(piece: Uint8Array): Opened | null {
    if (this.#state === null) {
      throw new Error("unreachable: the header is read first");
    }
    const result = lib().crypto_secretstream_xchacha20poly1305_pull(this.#state, piece, null);
    return result === false ? null : result;
  }
}

function corrupt(index: number, what: string): FileStreamError {
  return new FileStreamError("file_corrupt", `chunk ${index} ${what}`, index);
}

function sizeMismatch(index: number, what: string): FileStreamError {
  return new FileStreamError("file_size_mismatch", `chunk ${index}: ${what}`, index);
}

/**
 * The plaintext of a whole stream.
 *
 * @throws {@link FileStreamError} (§8.1's codes, with the chunk index where
 *   one applies) unless it is exactly a file of `size` bytes.
 */
export function decryptFileStream(
  key: string,
  stream: Uint8Array,
  size: number,
  chunkBytes: number = FILE_CHUNK_BYTES,
): Uint8Array {
  const decryptor = new FileDecryptor(key, size, chunkBytes);
  const pieces = decryptor.push(stream);
  decryptor.finish();
  const out = new Uint8Array(decryptor.plainBytes);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
