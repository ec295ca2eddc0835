import { describe, expect, it } from "vitest";
import { CHUNK_FRAME_HEADER_BYTES, chunkFrame, uuidBytes } from "./fileSocket";

describe("uuidBytes", () => {
  it("should give the 16 bytes of a lower-case UUID", () => {
    expect([...uuidBytes("00112233-4455-6677-8899-aabbccddeeff")]).toEqual([
      0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    ]);
  });

  it("should refuse anything else", () => {
    expect(() => uuidBytes("00112233-4455-6677-8899-AABBCCDDEEFF")).toThrow();
    expect(() => uuidBytes("0011223344556677889900aabbccddeeff")).toThrow();
    expect(() => uuidBytes("")).toThrow();
  });
});

describe("chunkFrame", () => {
  it("should be the upload's UUID, the index big-endian, then the chunk (PROTOCOL.md §8.3)", () => {
    const frame = chunkFrame("0190a000-0000-4000-8000-0000000000bb", 0x01020304, new Uint8Array([9, 8, 7]));
    expect(frame.length).toBe(CHUNK_FRAME_HEADER_BYTES + 3);
    expect([...frame.subarray(0, 16)]).toEqual([...uuidBytes("0190a000-0000-4000-8000-0000000000bb")]);
    expect([...frame.subarray(16, 20)]).toEqual([1, 2, 3, 4]);
    expect([...frame.subarray(20)]).toEqual([9, 8, 7]);
  });

  it("should write the largest index and refuse one that does not fit 32 bits", () => {
    const upload = "0190a000-0000-4000-8000-0000000000bb";
    expect([...chunkFrame(upload, 0xffff_ffff, new Uint8Array()).subarray(16)]).toEqual([255, 255, 255, 255]);
    expect(() => chunkFrame(upload, 2 ** 32, new Uint8Array())).toThrow(RangeError);
    expect(() => chunkFrame(upload, -1, new Uint8Array())).toThrow(RangeError);
    expect(() => chunkFrame(upload, 1.5, new Uint8Array())).toThrow(RangeError);
  });
});
