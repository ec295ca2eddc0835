import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  backoffDelay,
  type Pong,
  RelaySocket,
  type SocketStatus,
  socketUrl,
  type WebSocketLike,
} from "./socket";

class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  readonly sent: unknown[] = [];
  closedWith: number | undefined;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  receive(frame: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(frame) }));
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }
}

describe("socketUrl", () => {
  it("should use wss on https pages and ws otherwise", () => {
    expect(socketUrl("/ws/", { protocol: "https:", host: "acme.example.org" })).toBe(
      "wss://acme.example.org/ws/",
    );
    expect(socketUrl("/ws/", { protocol: "http:", host: "acme.localhost:8000" })).toBe(
      "ws://acme.localhost:8000/ws/",
    );
  });

  it("should refuse a path that leaves the page's host", () => {
    expect(() => socketUrl("//evil.example/ws/", { protocol: "https:", host: "a" })).toThrow();
    expect(() => socketUrl("wss://evil.example/ws/", { protocol: "https:", host: "a" })).toThrow();
  });
});

describe("backoffDelay", () => {
  it("should grow exponentially with jitter and stop at the cap", () => {
    expect(backoffDelay(0, 1000, 30_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 30_000, () => 0.999_999)).toBe(1000);
    expect(backoffDelay(3, 1000, 30_000, () => 0.5)).toBe(6000);
    expect(backoffDelay(50, 1000, 30_000, () => 0.999_999)).toBe(30_000);
  });
});

describe("RelaySocket", () => {
  let sockets: FakeSocket[];
  let statuses: SocketStatus[];
  let pongs: Pong[];
  let errors: unknown[];
  let frames: unknown[];
  let clock: number;

  const make = (): RelaySocket =>
    new RelaySocket({
      path: "/ws/",
      location: { protocol: "https:", host: "acme.example.org" },
      listener: {
        onStatus: (status) => statuses.push(status),
        onPong: (pong) => pongs.push(pong),
        onServerError: (error) => errors.push(error),
        onFrame: (frame) => frames.push(frame),
      },
      connect: (url) => {
        const socket = new FakeSocket(url);
        sockets.push(socket);
        return socket;
      },
      now: () => clock,
      random: () => 0.5,
    });

  const last = (): FakeSocket => {
    const socket = sockets.at(-1);
    if (socket === undefined) {
      throw new Error("no socket opened");
    }
    return socket;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    statuses = [];
    pongs = [];
    errors = [];
    frames = [];
    clock = 0;
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("should ping on open and report the round-trip time of the pong", () => {
    const relay = make();
    relay.start();
    expect(last().url).toBe("wss://acme.example.org/ws/");
    expect(statuses).toStrictEqual([{ kind: "connecting", attempt: 0 }]);
    last().open();
    expect(statuses.at(-1)).toStrictEqual({ kind: "connected" });
    expect(last().sent).toStrictEqual([{ type: "ping", id: "p1" }]);
    clock = 12;
    last().receive({ type: "pong", id: "p1" });
    expect(pongs).toStrictEqual([{ id: "p1", rttMs: 12 }]);
    last().receive({ type: "pong", id: "p1" }); // a duplicate is ignored
    last().receive({ type: "pong", id: "unknown" });
    expect(pongs).toHaveLength(1);
    relay.close();
  });

  it("should ping every 25 seconds while connected", () => {
    const relay = make();
    relay.start();
    last().open();
    last().receive({ type: "pong", id: "p1" });
    clock = 25_000;
    vi.advanceTimersByTime(25_000);
    expect(last().sent).toStrictEqual([
      { type: "ping", id: "p1" },
      { type: "ping", id: "p2" },
    ]);
    relay.close();
  });

  it("should report server error frames and ignore malformed frames", () => {
    const relay = make();
    relay.start();
    last().open();
    last().receive({ type: "error", code: "bad_frame", message: "Unknown type", id: "p1" });
    last().receive({ type: "error", code: "too_big", message: "Frame too large" });
    last().receive({ type: "error", code: 5 });
    last().onmessage?.(new MessageEvent("message", { data: "{not json" }));
    last().receive([1, 2]);
    expect(errors).toStrictEqual([
      { code: "bad_frame", message: "Unknown type", id: "p1" },
      { code: "too_big", message: "Frame too large" },
    ]);
    relay.close();
  });

  it("should reconnect with growing delays and reset them after a pong", () => {
    const relay = make();
    relay.start();
    last().drop(1006);
    expect(statuses.at(-1)).toStrictEqual({ kind: "disconnected", retryInMs: 750, closeCode: 1006 });
    vi.advanceTimersByTime(749);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    expect(statuses.at(-1)).toStrictEqual({ kind: "connecting", attempt: 1 });
    last().drop(1006);
    expect(statuses.at(-1)).toStrictEqual({ kind: "disconnected", retryInMs: 1500, closeCode: 1006 });
    vi.advanceTimersByTime(1500);
    last().open();
    last().receive({ type: "pong", id: "p1" });
    last().drop(1012);
    expect(statuses.at(-1)).toStrictEqual({ kind: "disconnected", retryInMs: 750, closeCode: 1012 });
    relay.close();
  });

  it("should give up on a connection whose ping goes unanswered", () => {
    const relay = make();
    relay.start();
    const first = last();
    first.open();
    clock = 25_000;
    vi.advanceTimersByTime(25_000);
    expect(first.closedWith).toBe(4000);
    expect(statuses.at(-1)).toMatchObject({ kind: "disconnected", closeCode: 4000 });
    relay.close();
  });

  it("should stop reconnecting after close", () => {
    const relay = make();
    relay.start();
    const first = last();
    first.open();
    relay.close();
    expect(first.closedWith).toBe(1000);
    first.drop(1000);
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
    expect(statuses.at(-1)).toStrictEqual({ kind: "connected" });
  });

  it("should send room frames only while open and hand every other typed frame to onFrame", () => {
    const relay = make();
    expect(relay.send({ type: "sync", rooms: {} })).toBe(false);
    relay.start();
    expect(relay.send({ type: "sync", rooms: {} })).toBe(false);
    last().open();
    expect(relay.send({ type: "sync", rooms: {} })).toBe(true);
    expect(last().sent).toContainEqual({ type: "sync", rooms: {} });
    last().receive({ type: "message", room: "r", seq: 1, envelope: {} });
    last().receive({ type: "pong", id: "nobody" });
    last().receive({ no: "type" });
    expect(frames).toStrictEqual([{ type: "message", room: "r", seq: 1, envelope: {} }]);
  });

  it("should go idle without retrying when the server says signed out, not a member or no tenant", () => {
    for (const code of [4401, 4403, 4404]) {
      const relay = make();
      relay.start();
      const socket = last();
      socket.open();
      socket.drop(code);
      const opened = sockets.length;
      vi.advanceTimersByTime(120_000);
      expect(sockets).toHaveLength(opened);
      expect(statuses.at(-1)).toStrictEqual({ kind: "idle", closeCode: code });
      relay.start(); // signed in again: it connects at once
      expect(sockets).toHaveLength(opened + 1);
      relay.close();
    }
  });

  it("should pause and start again", () => {
    const relay = make();
    relay.start();
    last().open();
    relay.pause();
    expect(last().closedWith).toBe(1000);
    expect(statuses.at(-1)).toStrictEqual({ kind: "idle", closeCode: null });
    vi.advanceTimersByTime(120_000);
    expect(sockets).toHaveLength(1);
    relay.start();
    expect(sockets).toHaveLength(2);
  });
});
