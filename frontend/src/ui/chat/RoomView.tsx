/** One room: its members, messages, who is typing, and the composer. */

import { useEffect, useRef } from "preact/hooks";
import type { RoomListItem } from "../../state";
import { Alert, useAction, useApp } from "../kit";
import { Composer } from "./Composer";
import { MessageItem } from "./MessageItem";
import { KIND_NAMES } from "./names";

export function RoomView({ room }: { readonly room: RoomListItem }) {
  const { rooms, account } = useApp();
  const messages = rooms.messages.value;
  const listRef = useRef<HTMLOListElement>(null);
  const older = useAction();
  const me = account.user.value?.username ?? "";
  useEffect(() => {
    const list = listRef.current;
    if (list !== null) {
      list.scrollTop = list.scrollHeight;
    }
  }, [messages.length]);
  const canManage = room.myRole === "owner" || room.myRole === "admin";
  return (
    <div class="room">
      <header class="room__head">
        <h2 class="room__title">{room.label}</h2>
        <p class="room__members">
          {KIND_NAMES[room.kind]} · Members:{" "}
          {room.members.map((name, index) => (
            <span key={name}>
              {index > 0 ? ", " : ""}
              {name}
              {name !== me && rooms.online.value.has(name) ? <span class="presence"> (online)</span> : null}
            </span>
          ))}
        </p>
        {canManage ? <RoomMembers room={room} me={me} /> : null}
      </header>
      {rooms.hasOlder.value ? (
        <button
          type="button"
          class="button button--small"
          onClick={() => void older.run(() => rooms.loadOlder())}
        >
          Load older messages
        </button>
      ) : null}
      <ol class="messages" ref={listRef} aria-label="Messages" aria-live="polite">
        {messages.length === 0 ? <li class="messages__empty">No messages yet.</li> : null}
        {messages.map((message) => (
          <MessageItem message={message} key={message.id} />
        ))}
      </ol>
      <p class="typing" aria-live="polite">
        {rooms.typing.value.length === 0
          ? ""
          : `${rooms.typing.value.join(", ")} ${rooms.typing.value.length === 1 ? "is" : "are"} typing…`}
      </p>
      <Alert message={rooms.error.value ?? older.error} />
      <Composer />
    </div>
  );
}

function RoomMembers({ room, me }: { readonly room: RoomListItem; readonly me: string }) {
  const { rooms } = useApp();
  const action = useAction();
  const others = room.members.filter((name) => name !== me);
  if (others.length === 0) {
    return null;
  }
  return (
    <details class="room__manage">
      <summary>Manage members</summary>
      <ul class="room__manage-list">
        {others.map((name) => (
          <li key={name}>
            {name}{" "}
            <button
              type="button"
              class="button button--small"
              disabled={action.pending}
              onClick={() => void action.run(() => rooms.removeFromRoom(room.id, name))}
            >
              Remove {name} from the room
            </button>
          </li>
        ))}
      </ul>
      <Alert message={action.error} />
    </details>
  );
}
