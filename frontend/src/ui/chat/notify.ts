/**
 * The DOM side of notifications (state/notifications.ts decides): the
 * browser's Notification API, `document.title`, the tab's visibility and
 * localStorage for muted rooms. One notifier per running app, started the
 * first time the chat page is shown; permission is asked only from a click.
 */

import { computed } from "@preact/signals";
import {
  type AppState,
  createNotifications,
  displayName,
  type NotificationPermissionState,
  type NotificationsStore,
  type NotifierEnv,
} from "../../state";

function permissionNow(): NotificationPermissionState {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

function storage(): Pick<Storage, "getItem" | "setItem"> | null {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: mute lasts until the page is reloaded
  }
}

export const domNotifierEnv = (): NotifierEnv => ({
  hidden: () => document.visibilityState === "hidden",
  onVisibilityChange(listener) {
    document.addEventListener("visibilitychange", listener);
    window.addEventListener("focus", listener);
    return () => {
      document.removeEventListener("visibilitychange", listener);
      window.removeEventListener("focus", listener);
    };
  },
  setTitle(text) {
    if (document.title !== text) {
      document.title = text;
    }
  },
  permission: permissionNow,
  async requestPermission() {
    if (typeof Notification === "undefined") {
      return "unsupported";
    }
    return await Notification.requestPermission();
  },
  show(note, onClick) {
    if (typeof Notification === "undefined" || Notification.permission !== "granted") {
      return;
    }
    try {
      const shown = new Notification(note.title, { body: note.body, tag: note.tag });
      shown.onclick = () => {
        window.focus();
        onClick();
        shown.close();
      };
    } catch (caught) {
      console.warn("PiPo: could not show a notification", caught);
    }
  },
  storage: storage(),
});

const started = new WeakMap<AppState, NotificationsStore>();

/** The app's notifier (started on first use). */
export function notificationsFor(app: AppState): NotificationsStore {
  let found = started.get(app);
  if (found === undefined) {
    const { rooms, account } = app;
    found = createNotifications(
      {
        me: computed(() => account.user.value?.username ?? ""),
        tenant: computed(() => account.tenant.value?.slug ?? app.config.tenantSlug),
        selected: rooms.selected,
        labelOf: (room) => rooms.rooms.value.find((each) => each.id === room)?.label ?? "a room",
        select: (room) => {
          void rooms.select(room);
          app.router.navigate("/app/rooms");
        },
        onIncoming: (listener) => rooms.onIncoming(listener),
      },
      domNotifierEnv(),
      document.title || displayName(app.config),
    );
    started.set(app, found);
  }
  return found;
}
