/**
 * The message box, for the room or (with `parent`) for replies in a thread:
 * Enter sends, Shift+Enter starts a new line, Up (when empty) edits one's
 * last message there, Esc cancels editing; @mentions and "Insert emoji";
 * "Attach files" (or pasting files) shares files, whose uploads show above it.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { Busy, useApp } from "../kit";
import { useInsertAtCaret, useMentionAssist } from "./composerAssist";
import { EmojiPicker } from "./EmojiPicker";
import { AttachButton, UploadList } from "./Files";

export function Composer({ parent = null }: { readonly parent?: string | null } = {}) {
  const { rooms, account, uploads } = useApp();
  const id = parent === null ? "composer-text" : "thread-reply-text";
  const [text, setText] = useState("");
  const [pending, setPending] = useState(0);
  // @mention suggestions (the room's members but oneself) and "Insert emoji".
  const textarea = useRef<HTMLTextAreaElement>(null);
  const me = account.user.value?.username ?? "";
  const people =
    rooms.rooms.value
      .find((room) => room.id === rooms.selected.value)
      ?.members.filter((name) => name !== me) ?? [];
  const mentions = useMentionAssist(textarea, text, setText, people);
  const insert = useInsertAtCaret(textarea, text, setText);
  useEffect(() => {
    if (parent !== null) {
      textarea.current?.focus(); // a thread just opened: reply at once
    }
  }, [parent]);
  const send = (): void => {
    const body = text;
    if (body.trim() === "") {
      return;
    }
    setText("");
    // Not gated on the previous send: the store queues them in order, and its
    // error signal says when one is refused.
    setPending((count) => count + 1);
    void (parent === null ? rooms.send(body) : rooms.reply(parent, body))
      .catch(() => undefined)
      .finally(() => setPending((count) => count - 1));
  };
  return (
    <>
      <UploadList parent={parent} />
      <form
        class={parent === null ? "composer" : "composer thread__composer"}
        onSubmit={(event) => {
          event.preventDefault();
          send();
        }}
      >
        <label class="composer__label" for={id}>
          {parent === null ? "Message" : "Reply"}
        </label>
        <div class="composer__row">
          <textarea
            id={id}
            ref={textarea}
            {...mentions.inputProps}
            class="composer__input"
            rows={2}
            value={text}
            maxLength={16000}
            onInput={(event) => {
              setText((event.target as HTMLTextAreaElement).value);
              mentions.track();
              rooms.noteTyping();
            }}
            onKeyUp={mentions.track}
            onPaste={(event) => {
              // Pasted files (a screenshot, files copied in a file manager) are shared.
              const pasted = event.clipboardData?.files;
              if (pasted !== undefined && pasted.length > 0) {
                event.preventDefault();
                uploads.start([...pasted], parent);
              }
            }}
            onClick={mentions.track}
            onKeyDown={(event) => {
              if (mentions.onKeyDown(event)) {
                return;
              }
              if (event.key === "Enter" && !event.shiftKey) {
                event.preventDefault();
                send();
              } else if (event.key === "ArrowUp" && text === "") {
                // Up in the empty box edits one's last message (inline, in the list).
                const last = rooms.lastEditable(parent);
                if (last !== null) {
                  event.preventDefault();
                  rooms.setEditing(last);
                }
              } else if (event.key === "Escape" && rooms.editing.value !== null) {
                event.preventDefault();
                rooms.setEditing(null);
              }
            }}
          />
          {mentions.list}
          <AttachButton parent={parent} />
          <EmojiPicker onPick={insert} />
          <button type="submit" class="button button--primary">
            {parent === null ? "Send" : "Send reply"}
          </button>
        </div>
        <Busy pending={pending > 0} text="Encrypting…" />
      </form>
    </>
  );
}
