/** The sidebar: the rooms one is in, and the channels one may join. */

import type { RoomListItem } from "../../state";
import { Alert, useAction, useApp } from "../kit";
import { KIND_NAMES } from "./names";

/** The rooms one is in; the current one marked. */
export function RoomList({
  rooms,
  selected,
  onChoose,
}: {
  readonly rooms: readonly RoomListItem[];
  readonly selected: string | null;
  readonly onChoose: (room: string) => void;
}) {
  const list = rooms;
  return (
    <ul class="room-list">
      {list.map((room) => (
        <li key={room.id}>
          <button
            type="button"
            class={`room-list__item${room.id === selected ? " room-list__item--current" : ""}`}
            aria-current={room.id === selected ? "true" : undefined}
            onClick={() => onChoose(room.id)}
          >
            <span class="room-list__kind">{KIND_NAMES[room.kind]}</span>
            <span class="room-list__label">{room.label}</span>
            {room.unread > 0 ? (
              <span class="badge">
                {room.unread}
                <span class="visually-hidden"> unread</span>
              </span>
            ) : null}
          </button>
        </li>
      ))}
    </ul>
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
