import { describe, expect, it } from "vitest";
import { latestSettings, settingsContent, settingsOf, settingsProblem } from "./roomSettings";
import type { TimelineEntry } from "./timeline";

const entry = (
  id: string,
  seq: number | null,
  sender: string,
  content: TimelineEntry["content"],
  state: TimelineEntry["state"] = "ok",
): TimelineEntry => ({ id, seq, sender, ts: seq ?? 99, state, content, reason: null });

describe("room settings", () => {
  it("reads well-formed settings only", () => {
    expect(settingsOf({ kind: "room_settings", name: " Team ", topic: "" })).toEqual({
      name: "Team",
      topic: null,
    });
    expect(settingsOf({ kind: "room_settings" })).toEqual({ name: null, topic: null });
    expect(settingsOf({ kind: "room_settings", name: 3 })).toBeNull();
    expect(settingsOf({ kind: "room_settings", name: "x".repeat(81) })).toBeNull();
    expect(settingsOf({ kind: "text", text: "hi" })).toBeNull();
  });

  it("makes contents without empty fields", () => {
    expect(settingsContent(" Team ", "")).toEqual({ kind: "room_settings", name: "Team" });
    expect(settingsContent("", " Plans ")).toEqual({ kind: "room_settings", topic: "Plans" });
    expect(settingsProblem("x".repeat(81), "")).not.toBeNull();
    expect(settingsProblem("ok", "fine")).toBeNull();
  });

  it("takes the latest by an allowed sender, whatever the order held", () => {
    const allowed = (sender: string) => sender !== "eve";
    const entries = [
      entry("c", 3, "eve", { kind: "room_settings", name: "Hijacked" }),
      entry("b", 2, "ann", { kind: "room_settings", name: "Second", topic: "T" }),
      entry("a", 1, "ann", { kind: "room_settings", name: "First" }),
      entry("d", 4, "bea", { kind: "text", text: "hi" }),
      entry("e", 5, "ann", null, "failed"),
    ];
    expect(latestSettings(entries, allowed)).toEqual({ name: "Second", topic: "T" });
    expect(latestSettings([], allowed)).toEqual({ name: null, topic: null });
    const pending = entry("p", null, "ann", { kind: "room_settings", name: "Mine" }, "pending");
    expect(latestSettings([...entries, pending], allowed).name).toBe("Mine");
  });
});
