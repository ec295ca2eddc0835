import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WebSocketLike } from "../transport/socket";
import { createConnectionModel, displayName, initialiseCrypto, startApp } from "./index";

describe("displayName", () => {
  it("should show the tenant's name, else the product's", () => {
    expect(
      displayName({ tenantName: "Acme Corp", tenantSlug: "acme", wsPath: "/ws/", testHooks: false }),
    ).toBe("Acme Corp");
    expect(displayName({ tenantName: "  ", tenantSlug: "acme", wsPath: "/ws/", testHooks: false })).toBe(
      "PiPo",
    );
  });
});

describe("connection model", () => {
  let clock = 0;

  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("should count pongs and keep the latest round trip", () => {
    const { store, listener } = createConnectionModel(() => clock);
    listener.onStatus?.({ kind: "connected" });
    listener.onPong?.({ id: "p1", rttMs: 3.4 });
    listener.onPong?.({ id: "p2", rttMs: 7.6 });
    expect(store.status.value).toBe("connected");
    expect(store.lastRttMs.value).toBe(8);
    expect(store.pongs.value).toBe(2);
  });

  it("should count down the seconds until the next attempt", () => {
    const { store, listener, dispose } = createConnectionModel(() => clock);
    listener.onStatus?.({ kind: "disconnected", retryInMs: 4000, closeCode: 1006 });
    expect(store.status.value).toBe("disconnected");
    expect(store.retryInSeconds.value).toBe(4);
    clock = 1100;
    vi.advanceTimersByTime(250);
    expect(store.retryInSeconds.value).toBe(3);
    listener.onStatus?.({ kind: "connecting", attempt: 1 });
    expect(store.retryInSeconds.value).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    dispose();
  });

  it("should keep the last server error", () => {
    const { store, listener } = createConnectionModel(() => clock);
    listener.onServerError?.({ code: "bad_frame", message: "no" });
    expect(store.lastServerError.value).toStrictEqual({ code: "bad_frame", message: "no" });
  });
});

describe("crypto readiness", () => {
  it("should say ready with the libsodium version", async () => {
    const { store, done } = initialiseCrypto(() => Promise.resolve("1.0.20"));
    expect(store.status.value).toStrictEqual({ kind: "initialising" });
    await done;
    expect(store.status.value).toStrictEqual({ kind: "ready", libsodiumVersion: "1.0.20" });
  });

  it("should say failed with the reason", async () => {
    const { store, done } = initialiseCrypto(() => Promise.reject(new Error("no WebAssembly")));
    await done;
    expect(store.status.value).toStrictEqual({ kind: "failed", message: "no WebAssembly" });
  });

  it("should load the real libsodium by default", async () => {
    const { store, done } = initialiseCrypto();
    await done;
    expect(store.status.value.kind).toBe("ready");
  });
});

describe("startApp", () => {
  it("should load crypto, stay off the relay until someone is signed in, and stop cleanly", async () => {
    const opened: string[] = [];
    let closed = false;
    const app = startApp(
      { tenantName: "", tenantSlug: "acme", wsPath: "/ws/", testHooks: false },
      {
        bootAccount: false,
        loadCrypto: () => Promise.resolve("1.0.20"),
        socket: {
          location: { protocol: "http:", host: "acme.localhost:8000" },
          connect: (url): WebSocketLike => {
            opened.push(url);
            return {
              readyState: 0,
              onopen: null,
              onclose: null,
              onerror: null,
              onmessage: null,
              send: () => undefined,
              close: () => {
                closed = true;
              },
            };
          },
        },
      },
    );
    // The relay serves signed-in members only: nothing to connect to yet.
    expect(opened).toStrictEqual([]);
    expect(app.state.connection.status.value).toBe("idle");
    expect(app.state.account.status.value).toBe("loading");
    expect(app.state.route.value).toStrictEqual({ view: "loading", redirect: null });
    await app.cryptoReady;
    expect(app.state.crypto.status.value.kind).toBe("ready");
    app.stop();
    expect(closed).toBe(false);
  });
});
