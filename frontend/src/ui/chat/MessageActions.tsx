/**
 * What one can do with a message (PROTOCOL.md §7.4, all sent encrypted):
 * react, reply in its thread, and edit or delete one's own; and what others
 * did: the reactions under it and its thread's reply count. The inline
 * editor is here too (Up in an empty composer, or "Edit message", opens it;
 * Enter saves, Esc cancels).
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { MessageView } from "../../state";
import { useApp } from "../kit";
import "./messageActions.css";

/** The reactions offered on every message (any other arrives as it was sent). */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉"] as const;

/** Where a message is shown: the room's list, a thread's replies, or a thread's parent. */
export type MessagePlace = "room" | "thread" | "thread-parent";

/** The composer that gets focus back when editing ends. */
export function composerFor(place: MessagePlace): string {
  return place === "room" ? "composer-text" : "thread-reply-text";
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The message's buttons: quick reactions, reply in thread, edit and delete (own messages). */
export function MessageActions({
  message,
  place,
}: {
  readonly message: MessageView;
  readonly place: MessagePlace;
}) {
  const { rooms } = useApp();
  const [confirming, setConfirming] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) {
      confirmRef.current?.focus();
    }
  }, [confirming]);
  if (message.state !== "ok" && message.state !== "pending") {
    return null;
  }
  if (confirming) {
    return (
      <span class="message__actions message__actions--open">
        <span class="message__confirm">Delete for everyone?</span>
        <button
          type="button"
          ref={confirmRef}
          class="action action--bad"
          onClick={() => {
            setConfirming(false);
            void rooms.remove(message.id).catch(() => undefined);
          }}
        >
          Delete
        </button>
        <button type="button" class="action" onClick={() => setConfirming(false)}>
          Keep
        </button>
      </span>
    );
  }
  const mine = new Set(message.reactions.filter((each) => each.mine).map((each) => each.emoji));
  return (
    <span class="message__actions">
      {QUICK_REACTIONS.map((emoji) => (
        <button
          key={emoji}
          type="button"
          class="action action--emoji"
          aria-label={`React with ${emoji}`}
          aria-pressed={mine.has(emoji)}
          title={`React with ${emoji}`}
          onClick={() => void rooms.react(message.id, emoji, !mine.has(emoji)).catch(() => undefined)}
        >
          {emoji}
        </button>
      ))}
      {place === "room" ? (
        <button
          type="button"
          class="action"
          aria-label="Reply in thread"
          title="Reply in thread"
          onClick={() => rooms.openThread(message.id)}
        >
          Reply
        </button>
      ) : null}
      {message.mine && place !== "thread-parent" ? (
        <>
          {message.text === null ? null : (
            <button
              type="button"
              class="action"
              aria-label="Edit message"
              title="Edit message"
              onClick={() => rooms.setEditing(message.id)}
            >
              Edit
            </button>
          )}
          <button
            type="button"
            class="action action--bad"
            aria-label="Delete message"
            title="Delete message"
            onClick={() => setConfirming(true)}
          >
            Delete
          </button>
        </>
      ) : null}
    </span>
  );
}

/** The reactions under a message: one button per emoji, pressed if one is among them (click toggles). */
export function Reactions({ message }: { readonly message: MessageView }) {
  const { rooms } = useApp();
  if (message.reactions.length === 0) {
    return null;
  }
  return (
    <ul class="reactions" aria-label="Reactions">
      {message.reactions.map((reaction) => {
        const who = `${plural(reaction.count, "reaction", "reactions")} by ${reaction.users.join(", ")}`;
        return (
          <li key={reaction.emoji}>
            <button
              type="button"
              class={`reaction${reaction.mine ? " reaction--mine" : ""}`}
              aria-pressed={reaction.mine}
              aria-label={`${reaction.emoji} ${who}`}
              title={who}
              data-emoji={reaction.emoji}
              data-count={reaction.count}
              onClick={() =>
                void rooms.react(message.id, reaction.emoji, !reaction.mine).catch(() => undefined)
              }
            >
              <span aria-hidden="true">{reaction.emoji}</span>
              <span class="reaction__count" aria-hidden="true">
                {reaction.count}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** "N replies" under a thread's parent in the room: opens the thread. */
export function ReplyCount({ message }: { readonly message: MessageView }) {
  const { rooms } = useApp();
  if (message.replies === 0) {
    return null;
  }
  return (
    <button
      type="button"
      class="reply-count"
      data-replies={message.replies}
      onClick={() => rooms.openThread(message.id)}
    >
      {plural(message.replies, "reply", "replies")}
    </button>
  );
}

/** The inline editor of one's own message: Enter saves, Shift+Enter a new line, Esc cancels. */
export function EditBox({ message, place }: { readonly message: MessageView; readonly place: MessagePlace }) {
  const { rooms } = useApp();
  const [text, setText] = useState(message.text ?? "");
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const box = ref.current;
    if (box !== null) {
      box.focus();
      box.setSelectionRange(box.value.length, box.value.length);
    }
  }, []);
  const close = (): void => {
    rooms.setEditing(null);
    document.getElementById(composerFor(place))?.focus();
  };
  const save = (): void => {
    if (text.trim() !== "") {
      void rooms.edit(message.id, text).catch(() => undefined);
    }
    close();
  };
  const id = `edit-${message.id}`;
  return (
    <form
      class="edit-box"
      aria-label="Edit message"
      onSubmit={(event) => {
        event.preventDefault();
        save();
      }}
    >
      <label class="visually-hidden" for={id}>
        Edit message
      </label>
      <textarea
        id={id}
        ref={ref}
        class="composer__input edit-box__input"
        rows={2}
        value={text}
        maxLength={16000}
        onInput={(event) => setText((event.target as HTMLTextAreaElement).value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey) {
            event.preventDefault();
            save();
          } else if (event.key === "Escape") {
            event.preventDefault();
            close();
          }
        }}
      />
      <div class="edit-box__actions">
        <button type="submit" class="button button--small button--primary">
          Save
        </button>
        <button type="button" class="button button--small" onClick={close}>
          Cancel
        </button>
        <span class="edit-box__hint">Enter saves · Esc cancels</span>
      </div>
    </form>
  );
}
