/** One message in a room's list. */

import type { MessageView } from "../../state";
import { timeOf } from "./names";

export function MessageItem({ message }: { readonly message: MessageView }) {
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
