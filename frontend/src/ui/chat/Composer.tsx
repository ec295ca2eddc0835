/** The message box: Enter sends, Shift+Enter starts a new line. */

import { useState } from "preact/hooks";
import { Busy, useApp } from "../kit";

export function Composer() {
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
