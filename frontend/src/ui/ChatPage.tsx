/**
 * `/app/rooms`: the rooms list, the selected room's messages and the
 * composer. Everything shown here was decrypted in this browser; the page
 * only reads the rooms store.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { MessageView, RoomListItem } from "../state";
import { Alert, Busy, RouteLink, useAction, useApp } from "./kit";

const KIND_NAMES = { channel: "Channel", private: "Private room", dm: "Direct message" } as const;

function timeOf(ts: number): string {
  const date = new Date(ts);
  return Number.isFinite(date.getTime())
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : "";
}

export function ChatPage() {
  const { rooms, connection } = useApp();
  const list = rooms.rooms.value;
  const selected = rooms.selected.value;
  const current = list.find((room) => room.id === selected) ?? null;
  const [creating, setCreating] = useState(false);
  const status = connection.status.value;
  useEffect(() => {
    if (selected === null && list.length > 0 && !creating) {
      void rooms.select((list[0] as RoomListItem).id);
    }
  }, [rooms, selected, list, creating]);
  return (
    <div class="chat">
      <nav class="chat__sidebar" aria-label="Rooms">
        <div class="chat__sidebar-head">
          <h2 class="chat__title">Rooms</h2>
          <button type="button" class="button button--small" onClick={() => setCreating(true)}>
            New room
          </button>
        </div>
        {list.length === 0 ? <p class="chat__empty">You are in no room yet.</p> : null}
        <ul class="room-list">
          {list.map((room) => (
            <li key={room.id}>
              <button
                type="button"
                class={`room-list__item${room.id === selected ? " room-list__item--current" : ""}`}
                aria-current={room.id === selected ? "true" : undefined}
                onClick={() => {
                  setCreating(false);
                  void rooms.select(room.id);
                }}
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
        <JoinableChannels />
        <p class="chat__back">
          <RouteLink href="/app">Your account</RouteLink>
        </p>
      </nav>
      <section class="chat__main" aria-label={current === null ? "Room" : current.label}>
        {status === "idle" ? (
          <p class="notice notice--bad chat__connection" role="status">
            {connection.refusedWith.value === 4403
              ? "You are not a member of this workspace any more: nothing can be sent or received."
              : "Not connected: sign in again to send and receive messages."}
          </p>
        ) : status !== "connected" ? (
          <p class="notice notice--warn chat__connection" role="status">
            {status === "connecting"
              ? "Connecting to the server…"
              : "Not connected. Messages you send now wait here and go out when the connection is back."}
            {rooms.outboxSize.value > 0 ? ` ${rooms.outboxSize.value} waiting.` : ""}
          </p>
        ) : null}
        {creating ? (
          <NewRoomForm onDone={() => setCreating(false)} />
        ) : current === null ? (
          <p class="chat__empty">Choose a room, or make a new one.</p>
        ) : (
          <RoomView room={current} />
        )}
      </section>
    </div>
  );
}

function JoinableChannels() {
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

function RoomView({ room }: { readonly room: RoomListItem }) {
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

function MessageItem({ message }: { readonly message: MessageView }) {
  const body =
    message.state === "ok" || message.state === "pending" ? (
      <p class="message__text">{message.text}</p>
    ) : message.state === "before_joined" ? (
      <p class="message__note">Sent before you joined this room.</p>
    ) : message.state === "unsupported" ? (
      <p class="message__note">A kind of message this version of PiPo cannot show.</p>
    ) : (
      <p class="message__note message__note--bad">{message.reason ?? "This message could not be read."}</p>
    );
  return (
    <li
      class={`message${message.mine ? " message--mine" : ""}${message.state === "pending" ? " message--pending" : ""}`}
      data-message-id={message.id}
      data-seq={message.seq ?? ""}
      data-state={message.state}
    >
      <p class="message__meta">
        <span class="message__sender">{message.sender}</span> <time>{timeOf(message.ts)}</time>
        {message.state === "pending" ? <span class="message__pending"> · sending…</span> : null}
      </p>
      {body}
    </li>
  );
}

function Composer() {
  const { rooms } = useApp();
  const [text, setText] = useState("");
  const [pending, setPending] = useState(0);
  const send = (): void => {
    const body = text;
    if (body.trim() === "") {
      return;
    }
    setText("");
    // Not gated on the previous send: the store queues them in order, and its
    // error signal says when one is refused.
    setPending((count) => count + 1);
    void rooms
      .send(body)
      .catch(() => undefined)
      .finally(() => setPending((count) => count - 1));
  };
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label class="composer__label" for="composer-text">
        Message
      </label>
      <div class="composer__row">
        <textarea
          id="composer-text"
          class="composer__input"
          rows={2}
          value={text}
          maxLength={16000}
          onInput={(event) => {
            setText((event.target as HTMLTextAreaElement).value);
            rooms.noteTyping();
          }}
          onKeyDown={(event) => {
            if (event.key === "Enter" && !event.shiftKey) {
              event.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="button button--primary">
          Send
        </button>
      </div>
      <Busy pending={pending > 0} text="Encrypting…" />
    </form>
  );
}

function NewRoomForm({ onDone }: { readonly onDone: () => void }) {
  const { rooms, chain, account } = useApp();
  const [kind, setKind] = useState<"private" | "channel" | "dm">("private");
  const [people, setPeople] = useState<readonly string[]>([]);
  const action = useAction();
  const me = account.user.value?.username ?? "";
  const members = chain.members.value.filter((member) => member.username !== me);
  return (
    <form
      class="form new-room"
      aria-label="New room"
      onSubmit={(event) => {
        event.preventDefault();
        void action.run(async () => {
          await rooms.createRoom(kind, people);
          onDone();
        });
      }}
    >
      <h2 class="room__title">New room</h2>
      <fieldset class="new-room__kinds">
        <legend>Kind</legend>
        {(["private", "channel", "dm"] as const).map((value) => (
          <label key={value} class="new-room__kind">
            <input
              type="radio"
              name="room-kind"
              value={value}
              checked={kind === value}
              onChange={() => setKind(value)}
            />{" "}
            {KIND_NAMES[value]}
          </label>
        ))}
      </fieldset>
      <fieldset class="new-room__people">
        <legend>People</legend>
        {members.length === 0 ? <p class="chat__empty">Nobody else is in this workspace yet.</p> : null}
        {members.map((member) => (
          <label key={member.username} class="new-room__person">
            <input
              type="checkbox"
              checked={people.includes(member.username)}
              onChange={(event) => {
                const on = (event.target as HTMLInputElement).checked;
                setPeople(
                  on ? [...people, member.username] : people.filter((name) => name !== member.username),
                );
              }}
            />{" "}
            {member.username}
          </label>
        ))}
      </fieldset>
      <div class="actions">
        <button type="submit" class="button button--primary" disabled={action.pending}>
          Create room
        </button>
        <button type="button" class="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      <Busy pending={action.pending} text="Signing…" />
      <Alert message={action.error} />
    </form>
  );
}
