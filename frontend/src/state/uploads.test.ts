/**
 * The upload manager's sending rules (PROTOCOL.md §8.3) against a scripted
 * socket: at most four chunks unacknowledged, and after a drop, resuming
 * from the server's `next_chunk` with the ciphertext kept (the stream cannot
 * be encrypted again). What the socket received must decrypt to the file.
 * The real server is exercised by tests/browser/test_files_*.py.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { type Content, FILE_CHUNK_BYTES, FileDecryptor, parseContent, sodiumReady } from "../protocol";
import { CHUNK_FRAME_HEADER_BYTES, FileSocketError, type FileSocketListener } from "../transport/fileSocket";
import { createUploadsStore, type UploadSocket, WINDOW } from "./uploads";

const ROOM = "0190a000-0000-4000-8000-0000000000aa";
const UPLOAD = "0190a000-0000-4000-8000-0000000000bb";

interface Asked {
  readonly frame: Readonly<Record<string, unknown>>;
  resolve(answer: Readonly<Record<string, unknown>>): void;
  reject(error: Error): void;
}

/** A socket whose answers the test gives. */
class ScriptedSocket implements UploadSocket {
  connected = false;
  started = false;
  readonly asked: Asked[] = [];
  readonly frames: Readonly<Record<string, unknown>>[] = [];
  readonly chunks: { index: number; bytes: Uint8Array }[] = [];

  constructor(readonly listener: FileSocketListener) {}

  start(): void {
    this.started = true;
  }

  open(): void {
    this.connected = true;
    this.listener.onOpen?.();
  }

  close(): void {
    this.started = false;
    this.connected = false;
  }

  drop(): void {
    this.connected = false;
    this.listener.onClose?.(4000, 10);
    for (const each of this.asked.splice(0)) {
      each.reject(new FileSocketError("offline", "the upload connection was lost"));
    }
  }

  request(frame: Readonly<Record<string, unknown>>): Promise<Readonly<Record<string, unknown>>> {
    return new Promise((resolve, reject) => {
      this.asked.push({ frame, resolve, reject });
    });
  }

  send(frame: Readonly<Record<string, unknown>>): boolean {
    this.frames.push(frame);
    return this.connected;
  }

  sendChunk(frame: Uint8Array<ArrayBuffer>): boolean {
    if (!this.connected) {
      return false;
    }
    const index = new DataView(frame.buffer, frame.byteOffset).getUint32(16, false);
    this.chunks.push({ index, bytes: frame.slice(CHUNK_FRAME_HEADER_BYTES) });
    return true;
  }

  /** Answer the oldest request, which must be of `type`. */
  answer(type: string, answer: Record<string, unknown>): void {
    const next = this.asked.shift();
    expect(next?.frame.type).toBe(type);
    next?.resolve(answer);
  }

  ack(index: number): void {
    this.listener.onFrame?.({ type: "chunk_ack", upload: UPLOAD, chunk: index });
  }
}

/** Byte equality (vitest's deep equality is slow on megabytes). */
function same(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) {
    return false;
  }
  for (let index = 0; index < a.length; index++) {
    if (a[index] !== b[index]) {
      return false;
    }
  }
  return true;
}

/** Let reads, encryption and promise callbacks run. */
async function settle(): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

function randomBytes(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65_536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  }
  return bytes;
}

beforeAll(async () => {
  await sodiumReady();
});

describe("createUploadsStore", () => {
  it("should keep four chunks in flight and resume from the server's next chunk after a drop", async () => {
    const size = 6 * FILE_CHUNK_BYTES + 1234; // seven chunks
    const plain = randomBytes(size);
    const sent: { room: string; content: Content }[] = [];
    let socket: ScriptedSocket | null = null;
    const uploads = createUploadsStore({
      selectedRoom: () => ROOM,
      send: async (room, content) => {
        sent.push({ room, content });
        return "message-id";
      },
      socket: (listener) => {
        socket = new ScriptedSocket(listener);
        return socket;
      },
      thumbnail: async () => null,
    });
    uploads.start([new File([plain], "data.bin", { type: "application/octet-stream" })]);
    const wire = socket as unknown as ScriptedSocket;
    expect(wire.started).toBe(true);
    wire.open();
    await settle();
    expect(wire.asked[0]?.frame).toMatchObject({
      type: "upload_start",
      room: ROOM,
      size: size + 24 + 7 * 17,
    });
    wire.answer("upload_start", { type: "upload_started", upload: UPLOAD, chunks: 7, chunk_size: 1048576 });
    await settle();
    expect(wire.chunks.map((chunk) => chunk.index)).toEqual([0, 1, 2, 3]);
    expect(uploads.snapshot()).toEqual([
      { name: "data.bin", sentBytes: 0, totalBytes: size, state: "uploading" },
    ]);

    wire.ack(0);
    wire.ack(1);
    await settle();
    expect(wire.chunks.map((chunk) => chunk.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(uploads.snapshot()[0]?.sentBytes).toBe(2 * FILE_CHUNK_BYTES);

    // The connection drops; the server had stored chunk 2 but its ack was lost.
    wire.drop();
    await settle();
    expect(uploads.uploads.value[0]?.state).toBe("reconnecting");
    wire.open();
    await settle();
    expect(wire.asked[0]?.frame).toEqual({ type: "upload_resume", upload: UPLOAD });
    wire.answer("upload_resume", { type: "upload_resumed", upload: UPLOAD, next_chunk: 3, chunks: 7 });
    await settle();
    expect(uploads.snapshot()[0]?.sentBytes).toBe(3 * FILE_CHUNK_BYTES);
    // Chunks 3, 4 and 5 again (the same ciphertext), then 6: never more than four unacknowledged.
    expect(wire.chunks.slice(6).map((chunk) => chunk.index)).toEqual([3, 4, 5, 6]);
    expect(new Set(wire.chunks.slice(6).map((chunk) => chunk.index)).size).toBeLessThanOrEqual(WINDOW);
    for (const index of [3, 4, 5]) {
      const [first, again] = wire.chunks.filter((chunk) => chunk.index === index);
      expect(same(again?.bytes, first?.bytes), `chunk ${index}`).toBe(true);
    }
    for (const index of [3, 4, 5, 6]) {
      wire.ack(index);
    }
    await settle();
    expect(uploads.uploads.value[0]?.state).toBe("finishing");
    wire.answer("upload_finish", { type: "upload_done", upload: UPLOAD, file: UPLOAD });
    await settle();

    // The message announces the file; the list is empty; the socket is closed.
    expect(uploads.uploads.value).toEqual([]);
    expect(wire.started).toBe(false);
    expect(sent).toHaveLength(1);
    const content = sent[0]?.content as Content;
    expect(sent[0]?.room).toBe(ROOM);
    expect(content).toMatchObject({
      kind: "file",
      file: UPLOAD,
      name: "data.bin",
      type: "application/octet-stream",
      size,
    });
    expect(content.thumbnail).toBeUndefined();
    expect(parseContent(content)).toEqual(content); // exactly the fields of §8.2
    expect(content.parent).toBeUndefined();

    // What the server stored (each chunk once, in order) is the file.
    const stored = new Map(wire.chunks.map((chunk) => [chunk.index, chunk.bytes]));
    const decryptor = new FileDecryptor(content.key as string, size);
    const out = new Uint8Array(size);
    let at = 0;
    for (let index = 0; index < 7; index++) {
      for (const piece of decryptor.push(stored.get(index) as Uint8Array)) {
        out.set(piece, at);
        at += piece.length;
      }
    }
    decryptor.finish();
    expect(at).toBe(size);
    expect(same(out, plain)).toBe(true);
  });

  it("should say why the server refused an upload, and keep it listed until dismissed", async () => {
    let socket: ScriptedSocket | null = null;
    const uploads = createUploadsStore({
      selectedRoom: () => ROOM,
      send: async () => "never",
      socket: (listener) => {
        socket = new ScriptedSocket(listener);
        return socket;
      },
      thumbnail: async () => null,
    });
    uploads.start([new File([new Uint8Array(10)], "report.pdf")], "0190a000-0000-7000-8000-0000000000cc");
    const wire = socket as unknown as ScriptedSocket;
    wire.open();
    await settle();
    const asked = wire.asked.shift();
    asked?.reject(
      new FileSocketError("quota_exceeded", "125829120 bytes left", {
        type: "error",
        code: "quota_exceeded",
        message: "the workspace has 125829120 bytes left",
      }),
    );
    await settle();
    const [failed] = uploads.uploads.value;
    expect(failed?.state).toBe("failed");
    expect(failed?.parent).toBe("0190a000-0000-7000-8000-0000000000cc");
    expect(failed?.error).toBe("Your workspace's storage is full: 120 MB left. report.pdf was not uploaded.");
    uploads.dismiss(failed?.key ?? "");
    expect(uploads.uploads.value).toEqual([]);
  });
});
