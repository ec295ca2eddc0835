import { describe, expect, it } from "vitest";
import type { Content } from "../protocol";
import {
  base64FromB64u,
  contentFileName,
  downloadErrorText,
  fileKeyOf,
  fileViewOf,
  formatBytes,
  formatRate,
  formatTimeLeft,
  progressText,
  RateMeter,
  sanitiseFileName,
  secondsLeft,
  thumbnailSize,
  uploadErrorText,
} from "./files";

const MB = 1024 * 1024;
const KEY = "A".repeat(43);
const FILE_ID = "0190a000-0000-4000-8000-000000000001";

describe("formatBytes", () => {
  it("should write bytes, then one decimal of the binary multiples", () => {
    expect(formatBytes(0)).toBe("0 bytes");
    expect(formatBytes(1)).toBe("1 byte");
    expect(formatBytes(1023)).toBe("1023 bytes");
    expect(formatBytes(1024)).toBe("1.0 KB");
    expect(formatBytes(48 * 1024 + 200)).toBe("48.2 KB");
    expect(formatBytes(12.3 * MB)).toBe("12.3 MB");
    expect(formatBytes(50 * MB)).toBe("50.0 MB");
    expect(formatBytes(4 * 1024 * MB)).toBe("4.0 GB");
  });

  it("should move to the next unit rather than write 1024.0", () => {
    expect(formatBytes(MB - 1)).toBe("1.0 MB");
    expect(formatBytes(1023.9 * 1024)).toBe("1023.9 KB");
  });

  it("should drop a trailing .0 when compact (limits)", () => {
    expect(formatBytes(4 * 1024 * MB, true)).toBe("4 GB");
    expect(formatBytes(120 * MB, true)).toBe("120 MB");
    expect(formatBytes(5.5 * MB, true)).toBe("5.5 MB");
  });

  it("should write nothing for a size that is not one", () => {
    expect(formatBytes(-1)).toBe("");
    expect(formatBytes(Number.NaN)).toBe("");
  });
});

describe("progress, speed and time left", () => {
  it("should write time left in seconds, minutes, then hours and minutes", () => {
    expect(formatTimeLeft(0.2)).toBe("1 s left");
    expect(formatTimeLeft(0)).toBe("0 s left");
    expect(formatTimeLeft(59)).toBe("59 s left");
    expect(formatTimeLeft(61)).toBe("2 min left");
    expect(formatTimeLeft(3600)).toBe("1 h left");
    expect(formatTimeLeft(3600 + 5 * 60)).toBe("1 h 5 min left");
  });

  it("should compute the time left from the speed, and none without a speed", () => {
    expect(secondsLeft(10, 110, 50)).toBe(2);
    expect(secondsLeft(110, 110, 50)).toBe(0);
    expect(secondsLeft(10, 110, null)).toBeNull();
    expect(secondsLeft(10, 110, 0)).toBeNull();
  });

  it("should say done, total, speed and time left in one line", () => {
    expect(progressText(12.3 * MB, 50 * MB, 45.1 * MB)).toBe("12.3 MB of 50.0 MB · 45.1 MB/s · 1 s left");
    expect(progressText(12.3 * MB, 50 * MB, null)).toBe("12.3 MB of 50.0 MB");
    expect(formatRate(512)).toBe("512 bytes/s");
  });
});

describe("RateMeter", () => {
  it("should know no speed before the warm-up, then the average so far", () => {
    const meter = new RateMeter(3000, 400);
    meter.sample(0, 1000);
    meter.sample(MB, 1100);
    expect(meter.bytesPerSecond).toBeNull();
    meter.sample(4 * MB, 1500);
    expect(meter.bytesPerSecond).toBeCloseTo(8 * MB, -3);
  });

  it("should follow a steady speed and smooth a burst", () => {
    const meter = new RateMeter(3000, 400);
    let bytes = 0;
    for (let at = 0; at <= 10_000; at += 100) {
      meter.sample(bytes, at);
      bytes += MB / 10; // 1 MiB/s
    }
    expect(meter.bytesPerSecond).toBeCloseTo(MB, -3);
    // Ten acknowledgements in the same millisecond do not make it jump.
    for (let index = 0; index < 10; index++) {
      bytes += MB;
      meter.sample(bytes, 10_001);
    }
    meter.sample(bytes, 10_002);
    expect(meter.bytesPerSecond ?? 0).toBeLessThan(5 * MB);
  });

  it("should start over after reset", () => {
    const meter = new RateMeter(3000, 400);
    meter.sample(0, 0);
    meter.sample(MB, 1000);
    expect(meter.bytesPerSecond).not.toBeNull();
    meter.reset();
    expect(meter.bytesPerSecond).toBeNull();
  });
});

describe("sanitiseFileName", () => {
  it("should never make a path", () => {
    expect(sanitiseFileName("../../etc/passwd")).toBe("___.._etc_passwd");
    expect(sanitiseFileName("a/b\\c.txt")).toBe("a_b_c.txt");
    expect(sanitiseFileName("C:\\Windows\\win.ini")).toBe("C:_Windows_win.ini");
  });

  it("should replace leading dots, control characters, and an empty name", () => {
    expect(sanitiseFileName(".bashrc")).toBe("_bashrc");
    expect(sanitiseFileName("...")).toBe("___");
    expect(sanitiseFileName("a\u0000b\u001fc\u007f.txt")).toBe("a_b_c_.txt");
    expect(sanitiseFileName("   ")).toBe("file");
    expect(sanitiseFileName("")).toBe("file");
  });

  it("should keep ordinary names as they are", () => {
    expect(sanitiseFileName("report.pdf")).toBe("report.pdf");
    expect(sanitiseFileName("Überblick 2024 (final) 🎉.docx")).toBe("Überblick 2024 (final) 🎉.docx");
    expect(sanitiseFileName("version.1.2.tar.gz")).toBe("version.1.2.tar.gz");
  });
});

describe("contentFileName", () => {
  it("should keep a name within 255 code points, with its extension", () => {
    expect(contentFileName("report.pdf")).toBe("report.pdf");
    const long = `${"ä".repeat(300)}.pdf`;
    const kept = contentFileName(long);
    expect([...kept].length).toBe(255);
    expect(kept.endsWith(".pdf")).toBe(true);
    expect(contentFileName("tab\there")).toBe("tab_here");
    expect(contentFileName("")).toBe("file");
  });
});

describe("uploadErrorText", () => {
  const name = "report.pdf";

  it("should name the limit and what is left", () => {
    expect(uploadErrorText(name, { code: "file_too_large", limit: 4 * 1024 * MB })).toBe(
      "report.pdf is larger than the 4 GB limit.",
    );
    expect(
      uploadErrorText(name, { code: "file_too_large", message: "files are at most 5242880 bytes" }),
    ).toBe("report.pdf is larger than the 5 MB limit.");
    expect(uploadErrorText(name, { code: "quota_exceeded", left: 120 * MB })).toBe(
      "Your workspace's storage is full: 120 MB left. report.pdf was not uploaded.",
    );
    expect(
      uploadErrorText(name, {
        code: "quota_exceeded",
        message: "the workspace has 125829120 bytes of storage left",
      }),
    ).toBe("Your workspace's storage is full: 120 MB left. report.pdf was not uploaded.");
  });

  it("should say something without the numbers too", () => {
    expect(uploadErrorText(name, { code: "file_too_large" })).toBe(
      "report.pdf is larger than the server's limit for files.",
    );
    expect(uploadErrorText(name, { code: "quota_exceeded" })).toBe(
      "Your workspace's storage is full. report.pdf was not uploaded.",
    );
  });

  it("should have a sentence naming the file for every code of §8.3", () => {
    expect(uploadErrorText(name, { code: "disk_full" })).toBe(
      "The server ran out of disk space; report.pdf was not uploaded.",
    );
    for (const code of [
      "not_in_room",
      "invalid_size",
      "unknown_upload",
      "bad_chunk_frame",
      "out_of_order",
      "bad_chunk_size",
      "incomplete_upload",
      "internal_error",
      "rate_limited",
      "invalid_field",
      "read_failed",
      "signed_out",
      "not_member",
      "send_failed",
    ]) {
      const text = uploadErrorText(name, { code });
      expect(text, code).toContain(name);
      expect(text, code).toMatch(/[.]$/);
    }
  });
});

describe("downloadErrorText", () => {
  const name = "report.pdf";

  it("should say which way a stream is wrong, counting chunks from 1", () => {
    expect(downloadErrorText(name, "file_corrupt", 1)).toBe(
      "report.pdf was altered or reordered on the server (chunk 2 failed verification); it was not saved.",
    );
    expect(downloadErrorText(name, "file_truncated", 2)).toBe(
      "report.pdf is incomplete on the server (it ends early); it was not saved.",
    );
    expect(downloadErrorText(name, "file_trailing_data")).toBe(
      "report.pdf has extra data appended on the server; it was not saved.",
    );
    expect(downloadErrorText(name, "file_size_mismatch", 0)).toBe(
      "report.pdf does not have the size its sender announced; it was not saved.",
    );
    expect(downloadErrorText(name, "not_found", null, 404)).toBe("report.pdf is no longer available to you.");
  });

  it("should name the server's answer otherwise", () => {
    expect(downloadErrorText(name, "http_500", null, 500)).toBe(
      "report.pdf could not be downloaded (the server answered 500).",
    );
    expect(downloadErrorText(name, "network")).toContain("the connection was lost");
    expect(downloadErrorText(name, "stalled")).toBe(
      "report.pdf could not be downloaded: the server stopped sending it; it was not saved. Try again.",
    );
  });
});

describe("fileViewOf", () => {
  const content = (extra: Record<string, unknown> = {}): Content =>
    ({
      kind: "file",
      file: FILE_ID,
      key: KEY,
      name: "photo.png",
      type: "image/png",
      size: 48_213,
      ...extra,
    }) as Content;

  it("should show a file's name, type and size and keep its key in the state layer", () => {
    const view = fileViewOf(content());
    expect(view).toMatchObject({ id: FILE_ID, name: "photo.png", type: "image/png", size: 48_213 });
    expect(view?.viewable).toBe(true);
    expect(view?.thumbnail).toBeNull();
    expect(Object.values(view ?? {})).not.toContain(KEY);
    expect(view === null ? null : fileKeyOf(view)).toBe(KEY);
  });

  it("should give the same view for the same content", () => {
    const same = content();
    expect(fileViewOf(same)).toBe(fileViewOf(same));
  });

  it("should turn a thumbnail into a data URL of its type", () => {
    const view = fileViewOf(
      content({ thumbnail: { type: "image/jpeg", width: 320, height: 180, data: "_-8" } }),
    );
    expect(view?.thumbnail).toEqual({ url: "data:image/jpeg;base64,/+8=", width: 320, height: 180 });
  });

  it("should ignore a thumbnail that is not an image of §8.2", () => {
    for (const thumbnail of [
      { type: "text/html", width: 1, height: 1, data: "AA" },
      { type: "image/svg+xml", width: 1, height: 1, data: "AA" },
      { type: "image/png", width: 0, height: 1, data: "AA" },
      { type: "image/png", width: 2000, height: 1, data: "AA" },
      { type: "image/png", width: 1, height: 1, data: "" },
      { type: "image/png", width: 1, height: 1, data: "not base64!" },
      "AAAA",
    ]) {
      expect(fileViewOf(content({ thumbnail }))?.thumbnail, JSON.stringify(thumbnail)).toBeNull();
    }
  });

  it("should refuse a file content whose fields are not what §8.2 says", () => {
    expect(fileViewOf(content({ file: "not-a-uuid" }))).toBeNull();
    expect(fileViewOf(content({ key: "short" }))).toBeNull();
    expect(fileViewOf(content({ name: "" }))).toBeNull();
    expect(fileViewOf(content({ size: -1 }))).toBeNull();
    expect(fileViewOf(content({ size: "12" }))).toBeNull();
    expect(fileViewOf({ kind: "text", text: "hi" })).toBeNull();
    expect(fileViewOf(null)).toBeNull();
  });

  it("should only open images full size", () => {
    expect(fileViewOf(content({ type: "application/pdf", name: "a.pdf" }))?.viewable).toBe(false);
    expect(fileViewOf(content({ type: "image/svg+xml", name: "a.svg" }))?.viewable).toBe(false);
    expect(fileViewOf(content({ type: "IMAGE/JPEG" }))?.viewable).toBe(true);
  });
});

describe("thumbnails", () => {
  it("should fit the longer side into 320 px without enlarging", () => {
    expect(thumbnailSize(1920, 1080)).toEqual({ width: 320, height: 180 });
    expect(thumbnailSize(1080, 1920)).toEqual({ width: 180, height: 320 });
    expect(thumbnailSize(100, 50)).toEqual({ width: 100, height: 50 });
    expect(thumbnailSize(10_000, 1)).toEqual({ width: 320, height: 1 });
    expect(thumbnailSize(0, 0)).toEqual({ width: 1, height: 1 });
  });

  it("should turn base64url into padded base64", () => {
    expect(base64FromB64u("")).toBe("");
    expect(base64FromB64u("AQ")).toBe("AQ==");
    expect(base64FromB64u("AQI")).toBe("AQI=");
    expect(base64FromB64u("-_-_")).toBe("+/+/");
  });
});
