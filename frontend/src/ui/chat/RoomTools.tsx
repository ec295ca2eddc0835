/**
 * A room's header tools: mute (this browser only), leave, and the room's
 * settings: name and topic (encrypted `room_settings` content, for room
 * owners/admins and tenant admins), its members with adding, and its
 * history policy (fixed in the chain when the room was made).
 */

import { useEffect, useState } from "preact/hooks";
import { ROOM_NAME_MAX, ROOM_TOPIC_MAX, type RoomListItem, settingsProblem } from "../../state";
import { Alert, useAction, useApp } from "../kit";
import { notificationsFor } from "./notify";

const HISTORY_TEXT = {
  all: "New members can read the room's earlier messages.",
  joined: "New members read only what is sent after they join.",
} as const;

export function RoomTools({ room }: { readonly room: RoomListItem }) {
  const app = useApp();
  const { rooms } = app;
  const notes = notificationsFor(app);
  const muted = notes.muted.value.has(room.id);
  const [leaving, setLeaving] = useState(false);
  const action = useAction();
  useEffect(() => setLeaving(false), [room.id]);
  return (
    <div class="room__tools">
      <button
        type="button"
        class="button button--small"
        aria-pressed={muted ? "true" : "false"}
        title="Only in this browser; mentions of you still notify"
        onClick={() => notes.setMuted(room.id, !muted)}
      >
        {muted ? "Unmute room" : "Mute room"}
      </button>
      {leaving ? (
        <>
          <span>Leave “{room.label}”?</span>
          <button
            type="button"
            class="button button--small button--danger"
            disabled={action.pending}
            onClick={() => void action.run(() => rooms.leaveRoom(room.id))}
          >
            Yes, leave the room
          </button>
          <button type="button" class="button button--small" onClick={() => setLeaving(false)}>
            Stay
          </button>
        </>
      ) : (
        <button type="button" class="button button--small" onClick={() => setLeaving(true)}>
          Leave room
        </button>
      )}
      <Alert message={action.error} />
    </div>
  );
}

export function RoomSettingsPanel({ room }: { readonly room: RoomListItem }) {
  const { rooms, chain } = useApp();
  const [name, setName] = useState(room.name ?? "");
  const [topic, setTopic] = useState(room.topic ?? "");
  const [adding, setAdding] = useState("");
  const save = useAction();
  const add = useAction();
  useEffect(() => {
    setName(room.name ?? "");
    setTopic(room.topic ?? "");
  }, [room.id, room.name, room.topic]);
  const addable = chain.members.value
    .map((member) => member.username)
    .filter((name) => !room.members.includes(name));
  const problem = settingsProblem(name, topic);
  return (
    <details class="room__settings">
      <summary>Room settings</summary>
      {room.canManage ? (
        <form
          class="room__settings-form"
          aria-label="Room settings"
          onSubmit={(event) => {
            event.preventDefault();
            if (problem === null) {
              void save.run(() => rooms.saveSettings(room.id, name, topic));
            }
          }}
        >
          <label class="field">
            <span class="field__label">Room name</span>
            <input
              class="field__input"
              value={name}
              maxLength={ROOM_NAME_MAX}
              placeholder="Shown instead of the member list"
              onInput={(event) => setName((event.target as HTMLInputElement).value)}
            />
          </label>
          <label class="field">
            <span class="field__label">Topic</span>
            <input
              class="field__input"
              value={topic}
              maxLength={ROOM_TOPIC_MAX}
              onInput={(event) => setTopic((event.target as HTMLInputElement).value)}
            />
          </label>
          <p class="chat__hint">
            Name and topic are encrypted like messages: only the room's members can read them.
          </p>
          <div class="actions">
            <button type="submit" class="button button--small button--primary" disabled={save.pending}>
              Save settings
            </button>
          </div>
          <Alert message={problem ?? save.error} />
        </form>
      ) : (
        <p class="chat__hint">
          Only the room's owners and admins (and workspace admins) can change its name.
        </p>
      )}
      <h3 class="chat__subtitle">Members</h3>
      <ul class="room__manage-list">
        {room.members.map((member) => (
          <li key={member}>{member}</li>
        ))}
      </ul>
      {room.canManage && addable.length > 0 ? (
        <form
          class="room__settings-form"
          aria-label="Add a member"
          onSubmit={(event) => {
            event.preventDefault();
            if (adding !== "") {
              void add.run(async () => {
                await rooms.addToRoom(room.id, adding);
                setAdding("");
              });
            }
          }}
        >
          <label class="field">
            <span class="field__label">Add someone</span>
            <select
              class="field__input"
              value={adding}
              onChange={(event) => setAdding((event.target as HTMLSelectElement).value)}
            >
              <option value="">Choose someone…</option>
              {addable.map((member) => (
                <option key={member} value={member}>
                  {member}
                </option>
              ))}
            </select>
          </label>
          <div class="actions">
            <button type="submit" class="button button--small" disabled={add.pending || adding === ""}>
              Add to the room
            </button>
          </div>
          <Alert message={add.error} />
        </form>
      ) : null}
      <h3 class="chat__subtitle">History</h3>
      <p class="room__history">
        {HISTORY_TEXT[room.history]} This was fixed in the trust chain when the room was made and cannot be
        changed.
      </p>
    </details>
  );
}
