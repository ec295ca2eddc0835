import { describe, expect, it } from "vitest";
import {
  AWAY_AFTER_MS,
  applyPresence,
  createAwayTracker,
  type OwnPresence,
  type PresenceEnv,
} from "./presence";

/** A tab whose visibility and clock the test drives. */
function fakeTab(hidden = false) {
  const listeners = new Set<() => void>();
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  const visibility = { hidden };
  const tab = {
    env: {
      hidden: () => visibility.hidden,
      onVisibilityChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      setTimeout(callback, ms) {
        const id = nextId++;
        timers.set(id, { at: now + ms, callback });
        return id;
      },
      clearTimeout(handle) {
        timers.delete(handle as number);
      },
    } satisfies PresenceEnv,
    setHidden(value: boolean): void {
      visibility.hidden = value;
      for (const listener of listeners) {
        listener();
      }
    },
    advance(ms: number): void {
      now += ms;
      for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at <= now && timers.has(id)) {
          timers.delete(id);
          timer.callback();
        }
      }
    },
    listeners,
    timers,
  };
  return tab;
}

function tracked(hidden = false, delay?: number) {
  const tab = fakeTab(hidden);
  const sent: OwnPresence[] = [];
  let open = true;
  const tracker = createAwayTracker(
    (state) => {
      if (open) {
        sent.push(state);
      }
      return open;
    },
    tab.env,
    delay,
  );
  return {
    tab,
    sent,
    tracker,
    setOpen(value: boolean) {
      open = value;
    },
  };
}

describe("createAwayTracker", () => {
  it("says away only after the tab stayed hidden for the whole delay", () => {
    const { tab, sent, tracker } = tracked();
    tab.setHidden(true);
    tab.advance(AWAY_AFTER_MS - 1);
    expect(sent).toEqual([]);
    expect(tracker.state).toBe("online");
    tab.advance(1);
    expect(sent).toEqual(["away"]);
    expect(tracker.state).toBe("away");
    tab.advance(AWAY_AFTER_MS * 3);
    expect(sent).toEqual(["away"]);
  });

  it("a tab shown again before the delay says nothing; shown after, says online", () => {
    const { tab, sent } = tracked();
    tab.setHidden(true);
    tab.advance(30_000);
    tab.setHidden(false);
    tab.advance(AWAY_AFTER_MS);
    expect(sent).toEqual([]);
    tab.setHidden(true);
    tab.advance(AWAY_AFTER_MS);
    tab.setHidden(false);
    tab.setHidden(false);
    expect(sent).toEqual(["away", "online"]);
  });

  it("starts counting when the page opens hidden, and repeated hidden events do not restart it", () => {
    const { tab, sent } = tracked(true, 1000);
    tab.advance(600);
    tab.setHidden(true);
    tab.advance(400);
    expect(sent).toEqual(["away"]);
  });

  it("says away again after a reconnect, and nothing when online", () => {
    const { tab, sent, tracker, setOpen } = tracked(false, 10);
    tracker.onConnected();
    expect(sent).toEqual([]);
    setOpen(false);
    tab.setHidden(true);
    tab.advance(10);
    expect(tracker.state).toBe("away");
    expect(sent).toEqual([]);
    setOpen(true);
    tracker.onConnected();
    expect(sent).toEqual(["away"]);
  });

  it("setDelay restarts a running countdown; dispose stops everything", () => {
    const { tab, sent, tracker } = tracked();
    tab.setHidden(true);
    tab.advance(1000);
    tracker.setDelay(50);
    tab.advance(49);
    expect(sent).toEqual([]);
    tab.advance(1);
    expect(sent).toEqual(["away"]);
    tracker.dispose();
    expect(tab.listeners.size).toBe(0);
    tab.setHidden(false);
    expect(sent).toEqual(["away"]);
    const other = tracked();
    other.tab.setHidden(true);
    other.tracker.dispose();
    expect(other.tab.timers.size).toBe(0);
  });
});

describe("applyPresence", () => {
  it("tracks online and away, forgets offline and ignores nonsense", () => {
    let seen = applyPresence(new Map(), "bea", "online");
    expect([...seen]).toEqual([["bea", "online"]]);
    seen = applyPresence(seen, "bea", "away");
    expect(seen.get("bea")).toBe("away");
    expect(applyPresence(seen, "", "online")).toBe(seen);
    expect(applyPresence(seen, 7, "online")).toBe(seen);
    seen = applyPresence(seen, "bea", "offline");
    expect(seen.size).toBe(0);
  });
});
