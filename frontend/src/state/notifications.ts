/**
 * Notifications (issue #6), decided in the browser: which new messages make
 * a desktop notification, the unread count in the tab's title while it is
 * hidden, and per-room mute kept in this browser's storage (never sent to
 * the server). The rules are pure functions; the DOM (the Notification API,
 * `document.title`, visibility, localStorage) comes in through
 * {@link NotifierEnv}, which the UI layer provides.
 *
 * Rules:
 * - Never for one's own messages, nor for edits, deletes, reactions or room
 *   settings (only new `text` and `file` messages, thread replies included;
 *   a file reads "📎 name").
 * - A muted room is quiet (no notification, no title count) except for a
 *   message that mentions the reader: a mention is addressed to them.
 * - Otherwise a message notifies when the tab is hidden or its room is not
 *   the selected one, and counts in the title while the tab is hidden.
 */

import { computed, effect, type ReadonlySignal, signal } from "@preact/signals-core";

/** A new message from someone else, as the rooms store hands it over. */
export interface IncomingMessage {
  readonly room: string;
  readonly id: string;
  readonly sender: string;
  readonly text: string;
  /** The text mentions the reader (`mentionsMe`). */
  readonly mentionsMe: boolean;
}

export interface NotifyContext {
  readonly me: string;
  readonly muted: boolean;
  /** The message's room is the one shown. */
  readonly selected: boolean;
  /** The tab is hidden (another tab, minimised). */
  readonly hidden: boolean;
}

/** Whether a muted room lets this message through (a mention always does). */
function audible(message: IncomingMessage, context: NotifyContext): boolean {
  return message.sender !== context.me && (!context.muted || message.mentionsMe);
}

/** Whether `message` makes a desktop notification. */
export function shouldNotify(message: IncomingMessage, context: NotifyContext): boolean {
  return audible(message, context) && (context.hidden || !context.selected);
}

/** Whether `message` adds one to the title's count (only while the tab is hidden). */
export function countsInTitle(message: IncomingMessage, context: NotifyContext): boolean {
  return audible(message, context) && context.hidden;
}

/** The tab's title: "(3) PiPo" with `count` unseen messages, else `base`. */
export function titleText(base: string, count: number): string {
  if (count <= 0) {
    return base;
  }
  return `(${count > 99 ? "99+" : count}) ${base}`;
}

/** Where this browser keeps the muted rooms of `user` in `tenant`. */
export function mutedStorageKey(tenant: string, user: string): string {
  return `pipo:muted:${tenant}:${user}`;
}

/** The muted room ids stored under a key (anything unreadable: none). */
export function parseMuted(raw: string | null): ReadonlySet<string> {
  if (raw === null) {
    return new Set();
  }
  try {
    const value: unknown = JSON.parse(raw);
    return new Set(Array.isArray(value) ? value.filter((room) => typeof room === "string") : []);
  } catch {
    return new Set();
  }
}

export function serializeMuted(rooms: ReadonlySet<string>): string {
  return JSON.stringify([...rooms].sort());
}

/** What a notification says: who wrote where, and the start of the text. */
export function notificationFor(
  message: IncomingMessage,
  roomLabel: string,
): { readonly title: string; readonly body: string; readonly tag: string } {
  const text = message.text.replace(/\s+/g, " ").trim();
  return {
    title: message.mentionsMe
      ? `${message.sender} mentioned you in ${roomLabel}`
      : `${message.sender} in ${roomLabel}`,
    body: text.length > 140 ? `${text.slice(0, 139)}…` : text,
    tag: message.id,
  };
}

export type NotificationPermissionState = "granted" | "denied" | "default" | "unsupported";

/** The DOM the notifier needs (the UI layer's `window`, or a test's fake). */
export interface NotifierEnv {
  hidden(): boolean;
  /** Call `listener` when the tab is shown or hidden; returns how to stop. */
  onVisibilityChange(listener: () => void): () => void;
  setTitle(text: string): void;
  permission(): NotificationPermissionState;
  requestPermission(): Promise<NotificationPermissionState>;
  show(note: { title: string; body: string; tag: string }, onClick: () => void): void;
  readonly storage: Pick<Storage, "getItem" | "setItem"> | null;
}

/** What the notifier needs of the rooms store and the account. */
export interface NotifierSources {
  readonly me: ReadonlySignal<string>;
  readonly tenant: ReadonlySignal<string>;
  readonly selected: ReadonlySignal<string | null>;
  labelOf(room: string): string;
  select(room: string): void;
  /** Subscribe to new messages from others; returns how to stop. */
  onIncoming(listener: (message: IncomingMessage) => void): () => void;
}

export interface NotificationsStore {
  readonly muted: ReadonlySignal<ReadonlySet<string>>;
  readonly permission: ReadonlySignal<NotificationPermissionState>;
  /** Messages counted in the title since the tab was hidden. */
  readonly titleCount: ReadonlySignal<number>;
  setMuted(room: string, on: boolean): void;
  /** Ask the browser for permission (only from a click). */
  requestPermission(): Promise<void>;
  dispose(): void;
}

export function createNotifications(
  sources: NotifierSources,
  env: NotifierEnv,
  baseTitle: string,
): NotificationsStore {
  const stored = signal(0);
  const key = computed(() => mutedStorageKey(sources.tenant.value, sources.me.value));
  const muted = computed<ReadonlySet<string>>(() => {
    stored.value;
    try {
      return parseMuted(env.storage?.getItem(key.value) ?? null);
    } catch {
      return new Set();
    }
  });
  const permission = signal<NotificationPermissionState>(env.permission());
  const titleCount = signal(0);

  const stopTitle = effect(() => {
    env.setTitle(titleText(baseTitle, titleCount.value));
  });
  const stopVisibility = env.onVisibilityChange(() => {
    if (!env.hidden()) {
      titleCount.value = 0;
    }
  });
  const stopIncoming = sources.onIncoming((message) => {
    const context: NotifyContext = {
      me: sources.me.value,
      muted: muted.value.has(message.room),
      selected: sources.selected.value === message.room,
      hidden: env.hidden(),
    };
    if (countsInTitle(message, context)) {
      titleCount.value++;
    }
    if (shouldNotify(message, context) && permission.value === "granted") {
      env.show(notificationFor(message, sources.labelOf(message.room)), () => sources.select(message.room));
    }
  });

  return {
    muted,
    permission,
    titleCount,
    setMuted(room: string, on: boolean): void {
      const next = new Set(muted.value);
      if (on) {
        next.add(room);
      } else {
        next.delete(room);
      }
      try {
        env.storage?.setItem(key.value, serializeMuted(next));
      } catch (caught) {
        console.warn("PiPo: could not store the muted rooms", caught);
      }
      stored.value++;
    },
    async requestPermission(): Promise<void> {
      permission.value = await env.requestPermission();
    },
    dispose(): void {
      stopIncoming();
      stopVisibility();
      stopTitle();
      env.setTitle(baseTitle);
    },
  };
}
