/**
 * The sidebar: the rooms one is in, grouped by kind with unread and mention
 * counts, starting a direct message, the channels one may join, and asking
 * for desktop notifications.
 */

import { useState } from "preact/hooks";
import type { RoomListItem } from "../../state";
import { Alert, useAction, useApp } from "../kit";
import { notificationsFor } from "./notify";
import "./sidebar.css";

const GROUPS = [
  ["channel", "Channels"],
  ["private", "Private rooms"],
  ["dm", "Direct messages"],
] as const;

/** The rooms one is in, under a heading per kind; the current one marked. */
export function RoomList({
  rooms,
  selected,
  onChoose,
}: {
  readonly rooms: readonly RoomListItem[];
  readonly selected: string | null;
  readonly onChoose: (room: string) => void;
}) {
  const app = useApp();
  const muted = notificationsFor(app).muted.value;
  return (
    <>
      {GROUPS.map(([kind, heading]) => {
        const list = rooms.filter((room) => room.kind === kind);
        if (list.length === 0) {
          return null;
        }
        const unread = list.reduce((sum, room) => sum + room.unread, 0);
        return (
          <section key={kind} class="room-group" aria-label={heading}>
            <h3 class="chat__subtitle room-group__title">
              {heading}
              {unread > 0 ? <span class="room-group__count"> · {unread} unread</span> : null}
            </h3>
            <ul class="room-list">
              {list.map((room) => (
                <li key={room.id}>
                  <button
                    type="button"
                    class={`room-list__item${room.id === selected ? " room-list__item--current" : ""}${room.unread > 0 ? " room-list__item--unread" : ""}`}
                    aria-current={room.id === selected ? "true" : undefined}
                    data-room={room.id}
                    onClick={() => onChoose(room.id)}
                  >
                    <span class="room-list__label">{room.label}</span>
                    <span class="room-list__badges">
                      {muted.has(room.id) ? (
                        <span class="room-list__muted" title="Muted">
                          <span aria-hidden="true">🔕</span>
                          <span class="visually-hidden"> muted</span>
                        </span>
                      ) : null}
                      {room.mentions > 0 ? (
                        <span class="badge badge--mention" data-mentions={room.mentions}>
                          @{room.mentions}
                          <span class="visually-hidden">
                            {room.mentions === 1 ? " mention" : " mentions"} of you
                          </span>
                        </span>
                      ) : null}
                      {room.unread > 0 ? (
                        <span class="badge" data-unread={room.unread}>
                          {room.unread}
                          <span class="visually-hidden"> unread</span>
                        </span>
                      ) : null}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </>
  );
}

/** "Start a direct message": pick a person; an existing DM with them is reused. */
export function DirectMessageStarter({ onStarted }: { readonly onStarted: () => void }) {
  const { rooms, chain, account } = useApp();
  const [open, setOpen] = useState(false);
  const [person, setPerson] = useState("");
  const action = useAction();
  const me = account.user.value?.username ?? "";
  const people = chain.members.value.map((member) => member.username).filter((name) => name !== me);
  if (!open) {
    return (
      <button type="button" class="button button--small chat__dm" onClick={() => setOpen(true)}>
        Start a direct message
      </button>
    );
  }
  return (
    <form
      class="chat__dm-form"
      aria-label="Start a direct message"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          const existing = rooms.rooms.value.find(
            (room) =>
              room.kind === "dm" &&
              room.members.length === 2 &&
              room.members.includes(me) &&
              room.members.includes(person),
          );
          if (existing !== undefined) {
            await rooms.select(existing.id);
          } else {
            await rooms.createRoom("dm", [person]);
          }
          setOpen(false);
          setPerson("");
          onStarted();
        });
      }}
    >
      <label class="field">
        <span class="field__label">Person</span>
        <select
          class="field__input"
          value={person}
          required
          onChange={(event) => setPerson((event.target as HTMLSelectElement).value)}
        >
          <option value="">Choose someone…</option>
          {people.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <div class="actions">
        <button type="submit" class="button button--small button--primary" disabled={action.pending}>
          Start
        </button>
        <button type="button" class="button button--small" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <Alert message={action.error} />
    </form>
  );
}

/** Desktop notifications: asked for only from this button, never on load. */
export function NotificationsControl() {
  const app = useApp();
  const notes = notificationsFor(app);
  const permission = notes.permission.value;
  if (permission === "unsupported") {
    return null;
  }
  return (
    <div class="chat__notifications">
      {permission === "granted" ? (
        <p class="chat__hint">Desktop notifications are on (mute a room in its header).</p>
      ) : permission === "denied" ? (
        <p class="chat__hint">Desktop notifications are blocked in this browser's site settings.</p>
      ) : (
        <button type="button" class="button button--small" onClick={() => void notes.requestPermission()}>
          Enable desktop notifications
        </button>
      )}
    </div>
  );
}

export function JoinableChannels() {
  const { rooms } = useApp();
  const action = useAction();
  const channels = rooms.joinable.value;
  if (channels.length === 0) {
    return null;
  }
  return (
    <div class="chat__joinable">
      <h3 class="chat__subtitle">Channels you can join</h3>
      <ul class="room-list">
        {channels.map((room) => (
          <li key={room.id} class="room-list__join">
            <span class="room-list__label">{room.label}</span>
            <button
              type="button"
              class="button button--small"
              disabled={action.pending}
              onClick={() => void action.run(() => rooms.joinChannel(room.id))}
            >
              Join
            </button>
          </li>
        ))}
      </ul>
      <Alert message={action.error} />
    </div>
  );
}
