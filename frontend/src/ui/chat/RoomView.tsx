/** One room: its members, messages, who is typing, and the composer. */

import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { RoomListItem, SeenPresence } from "../../state";
import { Alert, useAction, useApp } from "../kit";
import { Composer } from "./Composer";
import { DropOverlay, useFileDrop } from "./Files";
import { MessageItem } from "./MessageItem";
import { dayOf, GROUP_GAP_MS, KIND_NAMES } from "./names";
import { RoomSettingsPanel, RoomTools } from "./RoomTools";
import "./grouping.css";

export function RoomView({ room }: { readonly room: RoomListItem }) {
  const { rooms, account } = useApp();
  const messages = rooms.messages.value;
  const listRef = useRef<HTMLOListElement>(null);
  const older = useAction();
  const me = account.user.value?.username ?? "";
  // "New messages" goes above the first message that was unread when the room was opened.
  const unreadFrom = rooms.unreadFrom.value;
  const firstNew =
    unreadFrom === null
      ? null
      : (messages.find((message) => message.seq !== null && message.seq >= unreadFrom && !message.mine)?.id ??
        null);
  const [atBottom, setAtBottom] = useState(true);
  /** The person scrolled this room themself: the list no longer moves to the first unread. */
  const moved = useRef<string | null>(null);
  useEffect(() => {
    const list = listRef.current;
    if (list === null) {
      return;
    }
    const line = list.querySelector<HTMLElement>(".messages__new");
    if (line !== null && moved.current !== room.id) {
      list.scrollTop += line.getBoundingClientRect().top - list.getBoundingClientRect().top - 8;
    } else if (atBottom || moved.current !== room.id) {
      list.scrollTop = list.scrollHeight;
    }
    setAtBottom(list.scrollHeight - list.scrollTop - list.clientHeight < 48);
  }, [messages.length, room.id, firstNew]);
  const userMoved = (): void => {
    moved.current = room.id;
  };
  const canManage = room.canManage;
  // Files dropped anywhere on the room are shared in it.
  const drop = useFileDrop();
  return (
    <div class="room" {...drop.handlers}>
      {drop.dragging ? <DropOverlay label={room.label} /> : null}
      <header class="room__head">
        <h2 class="room__title">{room.label}</h2>
        {room.topic !== null ? <p class="room__topic">{room.topic}</p> : null}
        <p class="room__members">
          {KIND_NAMES[room.kind]} · Members:{" "}
          {room.members.map((name, index) => (
            <span key={name}>
              {index > 0 ? ", " : ""}
              {name}
              {name === me ? null : <PresenceMark state={rooms.presence.value.get(name)} />}
            </span>
          ))}
        </p>
        {canManage ? <RoomMembers room={room} me={me} /> : null}
        <RoomTools room={room} />
        <RoomSettingsPanel room={room} />
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
      {/* A log (polite): screen readers announce the messages added, not the
          whole list again; keyed by room so switching rooms starts a new log. */}
      <div class="messages-log" role="log" aria-label="New messages" aria-relevant="additions" key={room.id}>
        <ol
          class="messages"
          ref={listRef}
          aria-label="Messages"
          onWheel={userMoved}
          onTouchStart={userMoved}
          onKeyDown={userMoved}
          onScroll={(event) => {
            const list = event.currentTarget;
            setAtBottom(list.scrollHeight - list.scrollTop - list.clientHeight < 48);
            if (list.scrollTop < 64 && rooms.hasOlder.value && !older.pending && moved.current === room.id) {
              // Infinite scroll back: load the page before, and keep what is in view where it is.
              const before = list.scrollHeight;
              void older.run(async () => {
                await rooms.loadOlder();
                requestAnimationFrame(() => {
                  list.scrollTop += list.scrollHeight - before;
                });
              });
            }
          }}
        >
          {messages.length === 0 ? <li class="messages__empty">No messages yet.</li> : null}
          {messages.map((message, index) => {
            const previous = index > 0 ? messages[index - 1] : undefined;
            const day = dayOf(message.ts);
            const newDay = previous === undefined || dayOf(previous.ts) !== day;
            const continued =
              !newDay &&
              message.id !== firstNew &&
              previous !== undefined &&
              previous.sender === message.sender &&
              message.ts - previous.ts < GROUP_GAP_MS &&
              // Its header line still says something: keep it.
              !message.edited &&
              message.state !== "pending";
            return (
              <Fragment key={message.id}>
                {newDay ? <li class="messages__day">{day}</li> : null}
                {message.id === firstNew ? (
                  <li class="messages__new" data-testid="new-messages">
                    New messages
                  </li>
                ) : null}
                <MessageItem message={message} continued={continued} />
              </Fragment>
            );
          })}
        </ol>
        {atBottom ? null : (
          <button
            type="button"
            class="button button--small room__jump"
            onClick={() => {
              const list = listRef.current;
              moved.current = room.id;
              if (list !== null) {
                list.scrollTop = list.scrollHeight;
              }
              setAtBottom(true);
            }}
          >
            Jump to latest
          </button>
        )}
      </div>
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

/** " (online)" or " (away)" after a member's name; nothing while they are offline. */
function PresenceMark({ state }: { readonly state: SeenPresence | undefined }) {
  if (state === undefined) {
    return null;
  }
  return <span class={`presence presence--${state}`}> ({state})</span>;
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
