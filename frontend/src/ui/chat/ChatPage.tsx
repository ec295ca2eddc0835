/**
 * `/app/rooms`: the rooms list, the selected room's messages and the
 * composer. Everything shown here was decrypted in this browser; the chat
 * pages only read the rooms store.
 */

import { useEffect, useState } from "preact/hooks";
import type { RoomListItem } from "../../state";
import { RouteLink, useApp } from "../kit";
import { NewRoomForm } from "./NewRoomForm";
import { DirectMessageStarter, JoinableChannels, NotificationsControl, RoomList } from "./RoomList";
import { RoomView } from "./RoomView";
import { ThreadPanel } from "./ThreadPanel";

export function ChatPage() {
  const { rooms, connection } = useApp();
  const list = rooms.rooms.value;
  const selected = rooms.selected.value;
  const current = list.find((room) => room.id === selected) ?? null;
  const [creating, setCreating] = useState(false);
  // On a small screen the rooms list folds away above the room (app.css).
  const [roomsOpen, setRoomsOpen] = useState(false);
  const status = connection.status.value;
  useEffect(() => {
    if (selected === null && list.length > 0 && !creating) {
      void rooms.select((list[0] as RoomListItem).id);
    }
  }, [rooms, selected, list, creating]);
  const threadOpen = rooms.thread.value !== null && current !== null && !creating;
  return (
    <div class={threadOpen ? "chat chat--thread" : "chat"}>
      <button
        type="button"
        class="button button--small chat__rooms-toggle"
        aria-expanded={roomsOpen ? "true" : "false"}
        aria-controls="chat-rooms"
        onClick={() => setRoomsOpen(!roomsOpen)}
      >
        {roomsOpen ? "Hide rooms" : "Show rooms"}
      </button>
      <nav
        id="chat-rooms"
        class={roomsOpen ? "chat__sidebar chat__sidebar--open" : "chat__sidebar"}
        aria-label="Rooms"
      >
        <div class="chat__sidebar-head">
          <h2 class="chat__title">Rooms</h2>
          <button
            type="button"
            class="button button--small"
            onClick={() => {
              setCreating(true);
              setRoomsOpen(false);
            }}
          >
            New room
          </button>
        </div>
        {list.length === 0 ? <p class="chat__empty">You are in no room yet.</p> : null}
        <RoomList
          rooms={list}
          selected={selected}
          onChoose={(room) => {
            setCreating(false);
            setRoomsOpen(false);
            void rooms.select(room);
          }}
        />
        <DirectMessageStarter onStarted={() => setCreating(false)} />
        <JoinableChannels />
        <NotificationsControl />
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
      {threadOpen ? <ThreadPanel /> : null}
    </div>
  );
}
