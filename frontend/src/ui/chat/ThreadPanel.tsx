/**
 * A thread beside the room: its parent, its replies (encrypted `text` with
 * `parent`, PROTOCOL.md §7.4) and a composer for replying. Up in the empty
 * reply box edits one's last reply; Esc cancels editing.
 */

import { useEffect, useRef } from "preact/hooks";
import { useApp } from "../kit";
import { Composer } from "./Composer";
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
      <Composer parent={thread.parent.id} />
    </aside>
  );
}
