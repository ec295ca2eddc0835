/** Make a room: its kind and who is in it (signed links, appended to the chain). */

import { useState } from "preact/hooks";
import { Alert, Busy, useAction, useApp } from "../kit";
import { KIND_NAMES } from "./names";

export function NewRoomForm({ onDone }: { readonly onDone: () => void }) {
  const { rooms, chain, account } = useApp();
  const [kind, setKind] = useState<"private" | "channel" | "dm">("private");
  const [people, setPeople] = useState<readonly string[]>([]);
  /** null: the kind's default (channels keep history for newcomers, others do not). */
  const [history, setHistory] = useState<"all" | "joined" | null>(null);
  const shownHistory = history ?? (kind === "channel" ? "all" : "joined");
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
          await rooms.createRoom(kind, people, shownHistory);
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
      <fieldset class="new-room__kinds">
        <legend>People added later can read</legend>
        <label class="new-room__kind">
          <input
            type="radio"
            name="room-history"
            value="all"
            checked={shownHistory === "all"}
            onChange={() => setHistory("all")}
          />{" "}
          Everything from the start
        </label>
        <label class="new-room__kind">
          <input
            type="radio"
            name="room-history"
            value="joined"
            checked={shownHistory === "joined"}
            onChange={() => setHistory("joined")}
          />{" "}
          Only what comes after they join
        </label>
        <p class="field__hint">Signed into the workspace's membership chain: it cannot be changed later.</p>
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
