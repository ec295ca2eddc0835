/** Words the chat pages share. */

export const KIND_NAMES = { channel: "Channel", private: "Private room", dm: "Direct message" } as const;

/** A message's time of day, as this browser writes it. */
export function timeOf(ts: number): string {
  const date = new Date(ts);
  return Number.isFinite(date.getTime())
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : "";
}
