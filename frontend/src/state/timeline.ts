/**
 * Folding a room's decrypted entries into what the room shows (PROTOCOL.md
 * §7.4, §8.2): `text` and `file` messages, with the sender's own latest
 * `edit` applied (to a text), their own `delete`s taken out, `reaction`s
 * counted per emoji, and thread replies (`text` or `file` with `parent`)
 * grouped under their parent.
 *
 * Pure and order-independent: the fold is recomputed from every entry held,
 * so an edit, delete, reaction or reply whose target arrives later (an older
 * history page, a gap filled by `sync`) takes effect once the target is held,
 * and until then shows nothing.
 *
 * Rules:
 * - An `edit` or `delete` counts only when its sender is the target's sender
 *   (anything else is ignored: another member cannot change your words), and
 *   only for a target that was read (its sender is known from a verified
 *   envelope). The latest edit (by seq; unacknowledged own sends last) wins.
 * - A deleted message disappears. A deleted thread parent whose replies are
 *   still there stays as a "deleted" placeholder so the thread can be opened.
 * - A reaction is one person's emoji on one message: the latest `on` of that
 *   person for that emoji wins. Emoji are compared after NFC normalisation
 *   without U+FE0F (so "❤️" and "❤" are one reaction); the first form seen is shown.
 * - A reply to a reply belongs to the first one's thread (threads are one level).
 *   A reply whose parent is not held yet is not shown anywhere.
 * - `edit`, `delete` and `reaction` entries never show as messages; one that
 *   the server refused (an own send that failed) is dropped.
 * - A `file` is a message like a text (reactions, threads, its sender's
 *   delete) but is never edited; one whose fields are not what §8.2 says is
 *   "unsupported".
 */

import type { Content } from "../protocol";
import { type FileView, fileViewOf } from "./files";

/** One envelope of a room as this client holds it. */
export interface TimelineEntry {
  readonly id: string;
  /** The room's sequence number; null while an own send waits for the server's ack. */
  readonly seq: number | null;
  readonly sender: string;
  readonly ts: number;
  /** `ok`: opened; `pending`: own send not acknowledged yet; `before_joined` / `failed`: no content. */
  readonly state: "ok" | "pending" | "before_joined" | "failed";
  /** The decrypted content (null when it could not be read). An own refused send keeps its content. */
  readonly content: Content | null;
  /** Why a `failed` entry has no content (or was refused). */
  readonly reason: string | null;
}

/** One emoji's reactions on a message. */
export interface ReactionView {
  readonly emoji: string;
  readonly count: number;
  /** Whether this person is among them. */
  readonly mine: boolean;
  /** Who reacted, in the order they did. */
  readonly users: readonly string[];
}

/** What a room's message list (or a thread) shows for one message. */
export interface MessageView {
  readonly id: string;
  /** The room's sequence number; null while it waits for the server's ack. */
  readonly seq: number | null;
  readonly sender: string;
  readonly ts: number;
  readonly mine: boolean;
  /**
   * `ok`: `text` (or `file`) is the message; `pending`: not acknowledged yet;
   * `before_joined` / `failed` / `unsupported`: no text; `deleted`: a deleted
   * thread parent kept so its replies stay reachable.
   */
  readonly state: "ok" | "pending" | "before_joined" | "failed" | "unsupported" | "deleted";
  /** The text of a `text` message (null for a file, and when there is nothing to read). */
  readonly text: string | null;
  /** The shared file of a `file` message, else null. */
  readonly file: FileView | null;
  /** Why a `failed` message shows no text. */
  readonly reason: string | null;
  /** The text is the sender's edit. */
  readonly edited: boolean;
  /** The thread this message replies in (null: a message of the room). */
  readonly parent: string | null;
  readonly reactions: readonly ReactionView[];
  /** How many replies its thread has (0 for replies). */
  readonly replies: number;
}

export interface ThreadView {
  readonly parent: MessageView;
  /** Oldest first. */
  readonly replies: readonly MessageView[];
}

export interface Timeline {
  /** The room's main list, oldest first: no replies, no actions. */
  readonly messages: readonly MessageView[];
  /** The thread under `parent` (a message of the main list), or null if it is not held. */
  thread(parent: string): ThreadView | null;
  /** Any shown message (main list or thread) by id. */
  get(id: string): MessageView | undefined;
}

/** Sequence order; unacknowledged entries last, by time. */
export function bySeq(a: { seq: number | null; ts: number }, b: { seq: number | null; ts: number }): number {
  if (a.seq === null || b.seq === null) {
    return a.seq === null ? (b.seq === null ? a.ts - b.ts : 1) : -1;
  }
  return a.seq - b.seq;
}

/** The key two reactions are the same emoji by (PROTOCOL.md §7.4). */
export function emojiKey(emoji: string): string {
  return emoji.normalize("NFC").replace(/\uFE0F/g, "");
}

const ACTIONS = new Set(["edit", "delete", "reaction"]);

interface Base {
  readonly entry: TimelineEntry;
  text: string | null;
  readonly file: FileView | null;
  edited: boolean;
  deleted: boolean;
  readonly parent: string | null;
  readonly readable: boolean;
}

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** Fold a room's entries (any order; sorted here by seq) into its views for `me`. */
export function foldTimeline(entries: readonly TimelineEntry[], me: string): Timeline {
  const sorted = [...entries].sort(bySeq);
  const base = new Map<string, Base>();
  const actions: { entry: TimelineEntry; content: Content }[] = [];
  for (const entry of sorted) {
    const content = entry.content;
    if (content !== null && ACTIONS.has(content.kind)) {
      if (entry.state === "ok" || entry.state === "pending") {
        actions.push({ entry, content });
      }
      continue;
    }
    const text = content?.kind === "text" ? str(content.text) : null;
    const file = fileViewOf(content);
    base.set(entry.id, {
      entry,
      text,
      file,
      edited: false,
      deleted: false,
      parent: content?.kind === "text" || file !== null ? str(content?.parent) : null,
      readable: content !== null && (entry.state === "ok" || entry.state === "pending"),
    });
  }

  // Edits and deletes: only the target's own sender's count; the latest edit wins.
  // Reactions: the latest `on` per person and emoji.
  const reactions = new Map<string, Map<string, { emoji: string; users: Map<string, true> }>>();
  for (const { entry, content } of actions) {
    const targetId = str(content.target);
    const target = targetId === null ? undefined : base.get(targetId);
    if (target === undefined) {
      continue;
    }
    if (content.kind === "reaction") {
      const emoji = str(content.emoji);
      if (emoji === null) {
        continue;
      }
      const key = emojiKey(emoji);
      let groups = reactions.get(target.entry.id);
      if (groups === undefined) {
        groups = new Map();
        reactions.set(target.entry.id, groups);
      }
      const group = groups.get(key);
      if (content.on === true) {
        if (group === undefined) {
          groups.set(key, { emoji, users: new Map([[entry.sender, true]]) });
        } else {
          group.users.set(entry.sender, true);
        }
      } else if (group !== undefined) {
        group.users.delete(entry.sender);
        if (group.users.size === 0) {
          groups.delete(key);
        }
      }
      continue;
    }
    if (!target.readable || target.entry.sender !== entry.sender) {
      continue; // a forged edit or delete: not the target's sender
    }
    if (content.kind === "delete") {
      target.deleted = true;
    } else if (content.kind === "edit" && target.text !== null && !target.deleted) {
      const text = str(content.text);
      if (text !== null) {
        target.text = text;
        target.edited = true;
      }
    }
  }

  // Threads: a reply belongs to its parent's thread (a reply's parent: its thread).
  const rootOf = (item: Base): string | null => {
    let parent = item.parent;
    for (let depth = 0; parent !== null && depth < 8; depth++) {
      const found = base.get(parent);
      if (found === undefined) {
        return null;
      }
      if (found.parent === null) {
        return parent;
      }
      parent = found.parent;
    }
    return null;
  };
  const threads = new Map<string, Base[]>();
  const hidden = new Set<string>();
  for (const item of base.values()) {
    if (item.parent === null) {
      continue;
    }
    hidden.add(item.entry.id);
    const root = rootOf(item);
    if (root !== null && !item.deleted) {
      const list = threads.get(root) ?? [];
      list.push(item);
      threads.set(root, list);
    }
  }

  const views = new Map<string, MessageView>();
  const show = (item: Base, root: string | null): MessageView => {
    const { entry } = item;
    const replies = root === null ? (threads.get(entry.id)?.length ?? 0) : 0;
    const groups = reactions.get(entry.id);
    const state: MessageView["state"] = item.deleted
      ? "deleted"
      : entry.state === "ok" || entry.state === "pending"
        ? item.text === null && item.file === null
          ? "unsupported"
          : entry.state
        : entry.state;
    const view: MessageView = {
      id: entry.id,
      seq: entry.seq,
      sender: entry.sender,
      ts: entry.ts,
      mine: entry.sender === me,
      state,
      text: item.deleted ? null : item.text,
      file: item.deleted ? null : item.file,
      reason: entry.reason,
      edited: item.edited && !item.deleted,
      parent: root,
      reactions:
        groups === undefined || item.deleted
          ? []
          : [...groups.values()].map((group) => {
              const users = [...group.users.keys()];
              return { emoji: group.emoji, count: users.length, mine: group.users.has(me), users };
            }),
      replies,
    };
    views.set(entry.id, view);
    return view;
  };

  const messages: MessageView[] = [];
  for (const item of base.values()) {
    if (hidden.has(item.entry.id)) {
      continue;
    }
    if (item.deleted && (threads.get(item.entry.id)?.length ?? 0) === 0) {
      continue;
    }
    messages.push(show(item, null));
  }
  for (const [root, list] of threads) {
    if (views.has(root)) {
      for (const item of list) {
        show(item, root);
      }
    }
  }

  return {
    messages,
    get: (id) => views.get(id),
    thread(parent: string): ThreadView | null {
      const view = views.get(parent);
      if (view === undefined || view.parent !== null) {
        return null;
      }
      const replies = (threads.get(parent) ?? []).map((item) => views.get(item.entry.id) as MessageView);
      return { parent: view, replies };
    },
  };
}
