import { signal } from "@preact/signals-core";
import { describe, expect, it } from "vitest";
import {
  countsInTitle,
  createNotifications,
  type IncomingMessage,
  mutedStorageKey,
  type NotifierEnv,
  notificationFor,
  parseMuted,
  serializeMuted,
  shouldNotify,
  titleText,
} from "./notifications";

const message = (over: Partial<IncomingMessage> = {}): IncomingMessage => ({
  room: "r1",
  id: "m1",
  sender: "bea",
  text: "hello",
  mentionsMe: false,
  ...over,
});
const context = { me: "ann", muted: false, selected: false, hidden: false };

describe("shouldNotify", () => {
  it("notifies for another room, or any room while the tab is hidden", () => {
    expect(shouldNotify(message(), context)).toBe(true);
    expect(shouldNotify(message(), { ...context, selected: true })).toBe(false);
    expect(shouldNotify(message(), { ...context, selected: true, hidden: true })).toBe(true);
  });

  it("never for one's own messages", () => {
    expect(shouldNotify(message({ sender: "ann" }), { ...context, hidden: true })).toBe(false);
    expect(countsInTitle(message({ sender: "ann" }), { ...context, hidden: true })).toBe(false);
  });

  it("keeps a muted room quiet except for a mention", () => {
    const muted = { ...context, muted: true, hidden: true };
    expect(shouldNotify(message(), muted)).toBe(false);
    expect(countsInTitle(message(), muted)).toBe(false);
    expect(shouldNotify(message({ mentionsMe: true }), muted)).toBe(true);
    expect(countsInTitle(message({ mentionsMe: true }), muted)).toBe(true);
  });

  it("counts in the title only while hidden", () => {
    expect(countsInTitle(message(), context)).toBe(false);
    expect(countsInTitle(message(), { ...context, hidden: true, selected: true })).toBe(true);
  });
});

describe("title and storage", () => {
  it("writes the count before the name", () => {
    expect(titleText("PiPo", 0)).toBe("PiPo");
    expect(titleText("PiPo", 3)).toBe("(3) PiPo");
    expect(titleText("PiPo", 120)).toBe("(99+) PiPo");
  });

  it("keys muted rooms per tenant and user and survives junk", () => {
    expect(mutedStorageKey("acme", "ann")).toBe("pipo:muted:acme:ann");
    expect([...parseMuted(serializeMuted(new Set(["b", "a"])))]).toEqual(["a", "b"]);
    expect(parseMuted(null).size).toBe(0);
    expect(parseMuted("{not json").size).toBe(0);
    expect([...parseMuted('["a", 3, null]')]).toEqual(["a"]);
  });

  it("says who wrote where, shortened", () => {
    const note = notificationFor(message({ text: `a\n\n${"x".repeat(200)}`, mentionsMe: true }), "Team");
    expect(note.title).toBe("bea mentioned you in Team");
    expect(note.body.length).toBe(140);
    expect(note.body.startsWith("a x")).toBe(true);
    expect(notificationFor(message(), "Team").title).toBe("bea in Team");
  });
});

describe("createNotifications", () => {
  const setup = (hidden: boolean) => {
    const store = new Map<string, string>();
    const shown: string[] = [];
    const titles: string[] = [];
    let visibility: () => void = () => undefined;
    const state = { hidden };
    const listeners = new Set<(message: IncomingMessage) => void>();
    const env: NotifierEnv = {
      hidden: () => state.hidden,
      onVisibilityChange: (listener) => {
        visibility = listener;
        return () => undefined;
      },
      setTitle: (text) => titles.push(text),
      permission: () => "granted",
      requestPermission: async () => "granted",
      show: (note) => shown.push(note.title),
      storage: { getItem: (key) => store.get(key) ?? null, setItem: (key, value) => store.set(key, value) },
    };
    const selected = signal<string | null>("r1");
    const notes = createNotifications(
      {
        me: signal("ann"),
        tenant: signal("acme"),
        selected,
        labelOf: (room) => `Room ${room}`,
        select: (room) => {
          selected.value = room;
        },
        onIncoming: (listener) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
      },
      env,
      "PiPo",
    );
    const deliver = (over: Partial<IncomingMessage>) => {
      for (const listener of listeners) {
        listener(message(over));
      }
    };
    return { notes, shown, titles, store, state, deliver, show: () => visibility() };
  };

  it("notifies, counts in the title while hidden and clears when shown", () => {
    const { notes, shown, titles, state, deliver, show } = setup(true);
    deliver({ room: "r1" });
    deliver({ room: "r2" });
    expect(shown).toEqual(["bea in Room r1", "bea in Room r2"]);
    expect(titles.at(-1)).toBe("(2) PiPo");
    state.hidden = false;
    show();
    expect(titles.at(-1)).toBe("PiPo");
    notes.dispose();
  });

  it("mutes per room in storage, and a mention still gets through", () => {
    const { notes, shown, titles, store, deliver } = setup(true);
    notes.setMuted("r2", true);
    expect(store.get("pipo:muted:acme:ann")).toBe('["r2"]');
    expect(notes.muted.value.has("r2")).toBe(true);
    deliver({ room: "r2" });
    expect(shown).toEqual([]);
    expect(titles.at(-1)).toBe("PiPo");
    deliver({ room: "r2", mentionsMe: true });
    expect(shown).toEqual(["bea mentioned you in Room r2"]);
    notes.setMuted("r2", false);
    expect(notes.muted.value.size).toBe(0);
    notes.dispose();
  });

  it("stays quiet for the room one is looking at", () => {
    const { notes, shown, titles, deliver } = setup(false);
    deliver({ room: "r1" });
    expect(shown).toEqual([]);
    expect(titles.at(-1)).toBe("PiPo");
    notes.dispose();
  });
});
