/**
 * Decrypting a download as it streams (PROTOCOL.md §8.1): the plaintext is
 * gathered into a Blob piece by piece and only a verified stream gives one.
 * The streams here are made with the protocol's encryptor and read through
 * a real ReadableStream cut at odd places; the server's part is exercised
 * by tests/browser/test_files_*.py.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { FILE_CHUNK_BYTES, FileEncryptor, FileStreamError, fileChunkCount, sodiumReady } from "../protocol";
import { decryptStream, FLUSH_BYTES } from "./downloads";

beforeAll(async () => {
  await sodiumReady();
});

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  }
  return bytes;
}

/** The stream of `plain` under a fresh key. */
function encrypt(plain: Uint8Array): { key: string; stream: Uint8Array } {
  const encryptor = FileEncryptor.create();
  const count = fileChunkCount(plain.length);
  const parts: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const start = index * FILE_CHUNK_BYTES;
    parts.push(encryptor.push(plain.subarray(start, start + FILE_CHUNK_BYTES), index === count - 1));
  }
  const stream = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    stream.set(part, at);
    at += part.length;
  }
  return { key: encryptor.key, stream };
}

/** A reader that delivers `bytes` in pieces of `piece` bytes (as a network would, unevenly). */
function readerOf(bytes: Uint8Array, piece: number): ReadableStreamDefaultReader<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + piece));
      at += piece;
    },
  }).getReader();
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) {
    return false;
  }
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index]) {
      return false;
    }
  }
  return true;
}

describe("decryptStream", () => {
  it("should gather a verified file into a Blob, whatever the pieces it arrives in", async () => {
    const plain = randomBytes(FLUSH_BYTES + 2 * FILE_CHUNK_BYTES + 777); // folds into the Blob on the way
    const { key, stream } = encrypt(plain);
    const seen: number[] = [];
    const blob = await decryptStream(readerOf(stream, 300_007), key, plain.length, "image/png", (read) =>
      seen.push(read),
    );
    expect(blob.type).toBe("image/png");
    expect(blob.size).toBe(plain.length);
    expect(same(new Uint8Array(await blob.arrayBuffer()), plain)).toBe(true);
    expect(seen.at(-1)).toBe(stream.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it("should refuse a stream with a changed byte, naming the chunk", async () => {
    const plain = randomBytes(3 * FILE_CHUNK_BYTES);
    const { key, stream } = encrypt(plain);
    const at = 24 + (FILE_CHUNK_BYTES + 17) + 1000; // in chunk 1
    stream[at] = (stream[at] ?? 0) ^ 1;
    const refused = await decryptStream(
      readerOf(stream, 65_536),
      key,
      plain.length,
      "",
      () => undefined,
    ).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FileStreamError);
    expect((refused as FileStreamError).code).toBe("file_corrupt");
    expect((refused as FileStreamError).chunk).toBe(1);
  });

  it("should refuse a stream that ends early, and one with bytes after its end", async () => {
    const plain = randomBytes(2 * FILE_CHUNK_BYTES + 10);
    const { key, stream } = encrypt(plain);
    const short = await decryptStream(
      readerOf(stream.subarray(0, 24 + 2 * (FILE_CHUNK_BYTES + 17)), 65_536),
      key,
      plain.length,
      "",
      () => undefined,
    ).catch((error: unknown) => error);
    expect((short as FileStreamError).code).toBe("file_truncated");
    const longer = new Uint8Array(stream.length + 5);
    longer.set(stream);
    const long = await decryptStream(readerOf(longer, 65_536), key, plain.length, "", () => undefined).catch(
      (error: unknown) => error,
    );
    expect((long as FileStreamError).code).toBe("file_trailing_data");
  });
});
