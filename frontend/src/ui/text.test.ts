import { describe, expect, it } from "vitest";
import { connectionText, cryptoText } from "./text";

describe("connectionText", () => {
  it("should describe each connection state", () => {
    expect(connectionText("connected", 3, null)).toBe("Connected · 3 ms");
    expect(connectionText("connected", null, null)).toBe("Connected");
    expect(connectionText("connecting", null, null)).toBe("Connecting…");
    expect(connectionText("disconnected", null, 4)).toBe("Offline — retrying in 4 s");
    expect(connectionText("disconnected", 3, 0)).toBe("Offline — retrying now");
  });
});

describe("cryptoText", () => {
  it("should describe each crypto state", () => {
    expect(cryptoText({ kind: "initialising" })).toBe("Preparing end-to-end encryption…");
    expect(cryptoText({ kind: "ready", libsodiumVersion: "1.0.20" })).toBe(
      "End-to-end encryption ready (libsodium 1.0.20)",
    );
    expect(cryptoText({ kind: "failed", message: "no WebAssembly" })).toBe(
      "End-to-end encryption unavailable: no WebAssembly",
    );
  });
});
