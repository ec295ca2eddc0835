/** One message in a room's list. */

import type { MessageView } from "../../state";
import { useApp } from "../kit";
import { FileMessage } from "./Files";
import { EditBox, MessageActions, type MessagePlace, Reactions, ReplyCount } from "./MessageActions";
import { MessageBody } from "./MessageBody";
import { timeOf } from "./names";

export function MessageItem({
  message,
  place = "room",
  continued = false,
}: {
  readonly message: MessageView;
  readonly place?: MessagePlace;
  /** The same person's message right after another of theirs: the name and time are not repeated. */
  readonly continued?: boolean;
}) {
  const editing = useApp().rooms.editing.value === message.id && place !== "thread-parent";
  const body = editing ? (
    <EditBox message={message} place={place} />
  ) : message.state === "deleted" ? (
    <p class="message__note">Message deleted.</p>
  ) : (message.state === "ok" || message.state === "pending") && message.file !== null ? (
    <FileMessage file={message.file} />
  ) : message.state === "ok" || message.state === "pending" ? (
    <MessageBody text={message.text ?? ""} />
  ) : message.state === "before_joined" ? (
    <p class="message__note">Sent before you joined this room.</p>
  ) : message.state === "unsupported" ? (
    <p class="message__note">A kind of message this version of PiPo cannot show.</p>
  ) : (
    <p class="message__note message__note--bad">{message.reason ?? "This message could not be read."}</p>
  );
  return (
    <li
      class={`message${message.mine ? " message--mine" : ""}${message.state === "pending" ? " message--pending" : ""}${continued ? " message--continued" : ""}`}
      data-message-id={message.id}
      data-seq={message.seq ?? ""}
      data-state={message.state}
      data-edited={message.edited ? "true" : undefined}
    >
      <p class="message__meta">
        <span class="message__sender">{message.sender}</span>{" "}
        <time dateTime={new Date(message.ts).toISOString()}>{timeOf(message.ts)}</time>
        {message.state === "pending" ? <span class="message__pending"> · sending…</span> : null}
        {message.edited ? <span class="message__edited"> · edited</span> : null}
        {editing ? null : <MessageActions message={message} place={place} />}
      </p>
      {body}
      <Reactions message={message} />
      {place === "room" ? <ReplyCount message={message} /> : null}
    </li>
  );
}
