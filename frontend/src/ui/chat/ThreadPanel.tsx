/**
 * A thread beside the room: its parent, its replies (encrypted `text` with
 * `parent`, PROTOCOL.md §7.4) and a composer for replying. Up in the empty
 * reply box edits one's last reply; Esc cancels editing.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import { Busy, useApp } from "../kit";
import { MessageItem } from "./MessageItem";

export function ThreadPanel() {
  const { rooms } = useApp();
  const thread = rooms.thread.value;
  const listRef = useRef<HTMLOListElement>(null);
  const count = thread?.replies.length ?? 0;
  useEffect(() => {
    const list = listRef.current;
    if (list !== null) {
      list.scrollTop = list.scrollHeight;
    }
  }, [count]);
  if (thread === null) {
    return null;
  }
  return (
    <aside class="thread" aria-label="Thread">
      <header class="thread__head">
        <h3 class="thread__title">Thread</h3>
        <button
          type="button"
          class="button button--small"
          aria-label="Close thread"
          onClick={() => {
            rooms.openThread(null);
            document.getElementById("composer-text")?.focus();
          }}
        >
          Close
        </button>
      </header>
      <ol class="messages thread__parent" aria-label="Thread parent">
        <MessageItem message={thread.parent} place="thread-parent" />
      </ol>
      <p class="thread__count">{count === 1 ? "1 reply" : `${count} replies`}</p>
      {/* A polite log: new replies are announced, not the whole list again. */}
      <div
        class="messages-log"
        role="log"
        aria-label="New replies"
        aria-relevant="additions"
        key={thread.parent.id}
      >
        <ol class="messages thread__replies" ref={listRef} aria-label="Replies">
          {count === 0 ? <li class="messages__empty">No replies yet.</li> : null}
          {thread.replies.map((reply) => (
            <MessageItem message={reply} place="thread" key={reply.id} />
          ))}
        </ol>
      </div>
      <ThreadComposer parent={thread.parent.id} />
    </aside>
  );
}

function ThreadComposer({ parent }: { readonly parent: string }) {
  const { rooms } = useApp();
  const [text, setText] = useState("");
  const [pending, setPending] = useState(0);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [parent]);
  const send = (): void => {
    if (text.trim() === "") {
      return;
    }
    const body = text;
    setText("");
    setPending((value) => value + 1);
    void rooms
      .reply(parent, body)
      .catch(() => undefined)
      .finally(() => setPending((value) => value - 1));
  };
  return (
    <form
      class="composer thread__composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label class="composer__label" for="thread-reply-text">
        Reply
      </label>
      <div class="composer__row">
        <textarea
          id="thread-reply-text"
          ref={ref}
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
            } else if (event.key === "ArrowUp" && text === "") {
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
        <button type="submit" class="button button--primary">
          Send reply
        </button>
      </div>
      <Busy pending={pending > 0} text="Encrypting…" />
    </form>
  );
}
