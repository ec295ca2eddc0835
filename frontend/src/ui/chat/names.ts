/** Words the chat pages share. */

export const KIND_NAMES = { channel: "Channel", private: "Private room", dm: "Direct message" } as const;

/** A message's time of day, as this browser writes it. */
export function timeOf(ts: number): string {
  const date = new Date(ts);
  return Number.isFinite(date.getTime())
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : "";
}

/** The day a message was sent, as a separator in the list says it ("Today", "Yesterday", or the date). */
export function dayOf(ts: number, now: number = Date.now()): string {
  const date = new Date(ts);
  if (!Number.isFinite(date.getTime())) {
    return "";
  }
  const key = (value: Date): string => value.toDateString();
  const today = new Date(now);
  const yesterday = new Date(now - 24 * 60 * 60 * 1000);
  if (key(date) === key(today)) {
    return "Today";
  }
  if (key(date) === key(yesterday)) {
    return "Yesterday";
  }
  return date.toLocaleDateString([], { weekday: "long", year: "numeric", month: "long", day: "numeric" });
}

/** Messages of one person closer than this are shown as one group. */
export const GROUP_GAP_MS = 5 * 60 * 1000;
