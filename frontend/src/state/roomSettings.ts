/**
 * Room settings (PROTOCOL.md §7.4 `room_settings`): a room's name and topic
 * travel as encrypted content inside the room, never in the clear. The
 * latest settings message (by seq; an own unacknowledged one last) sent by
 * someone allowed wins as a whole; a missing or empty field means none.
 * Settings from anyone without the role, or malformed ones, are ignored.
 */

import type { Content } from "../protocol";
import { bySeq, type TimelineEntry } from "./timeline";

export const ROOM_NAME_MAX = 80;
export const ROOM_TOPIC_MAX = 300;

export interface RoomSettings {
  readonly name: string | null;
  readonly topic: string | null;
}

export const NO_SETTINGS: RoomSettings = { name: null, topic: null };

const chars = (text: string): number => [...text].length;

/** The settings a content carries, or null when it is not a well-formed `room_settings`. */
export function settingsOf(content: Content | null): RoomSettings | null {
  if (content?.kind !== "room_settings") {
    return null;
  }
  const { name, topic } = content;
  if (
    (name !== undefined && (typeof name !== "string" || chars(name) > ROOM_NAME_MAX)) ||
    (topic !== undefined && (typeof topic !== "string" || chars(topic) > ROOM_TOPIC_MAX))
  ) {
    return null;
  }
  const clean = (value: string | undefined): string | null =>
    value === undefined || value.trim() === "" ? null : value.trim();
  return { name: clean(name), topic: clean(topic) };
}

/** The content that sets a room's name and topic (empty ones are left out). */
export function settingsContent(name: string, topic: string): Content {
  const content: Content = { kind: "room_settings" };
  if (name.trim() !== "") {
    content.name = name.trim();
  }
  if (topic.trim() !== "") {
    content.topic = topic.trim();
  }
  return content;
}

/** A problem with a name or topic the form would send, or null. */
export function settingsProblem(name: string, topic: string): string | null {
  if (chars(name.trim()) > ROOM_NAME_MAX) {
    return `A room name has at most ${ROOM_NAME_MAX} characters.`;
  }
  if (chars(topic.trim()) > ROOM_TOPIC_MAX) {
    return `A topic has at most ${ROOM_TOPIC_MAX} characters.`;
  }
  return null;
}

/** The room's settings: the latest well-formed one by a sender `allowed` accepts. */
export function latestSettings(
  entries: Iterable<TimelineEntry>,
  allowed: (sender: string) => boolean,
): RoomSettings {
  let found: RoomSettings = NO_SETTINGS;
  for (const entry of [...entries].sort(bySeq)) {
    if (entry.state !== "ok" && entry.state !== "pending") {
      continue;
    }
    const settings = settingsOf(entry.content);
    if (settings !== null && allowed(entry.sender)) {
      found = settings;
    }
  }
  return found;
}
