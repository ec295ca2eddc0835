/**
 * A message's text, rich: markdown, emoji and @mentions, sanitised by
 * richText.ts (a lazy chunk, so pages without chat do not load markdown-it
 * and DOMPurify). Until it has loaded, and in a browser DOMPurify cannot
 * run in, the text is shown as plain text.
 */

import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { ChainMemberView } from "../../state";
import { useApp } from "../kit";
import type { RenderContext } from "./richText";
import "./richText.css";

type RichText = typeof import("./richText");

const engine = signal<RichText | null>(null);
/** Bumped when renders made so far are stale (the code highlighter arrived). */
const version = signal(0);
let loading: Promise<void> | null = null;

/** Start loading the rich text renderer (once); chat views call this as they open. */
export function loadRichText(): Promise<void> {
  loading ??= import("./richText")
    .then((module) => {
      module.onRichTextChange(() => {
        version.value += 1;
      });
      engine.value = module;
    })
    .catch((error: unknown) => {
      loading = null;
      console.warn("PiPo: rich text could not load; showing plain text", error);
    });
  return loading;
}

let memo: { members: readonly ChainMemberView[]; me: string; context: RenderContext } | null = null;

/** One context object per (workspace members, reader): the renderer caches by it. */
function contextFor(members: readonly ChainMemberView[], me: string): RenderContext {
  if (memo === null || memo.members !== members || memo.me !== me) {
    const names = new Set(members.map((member) => member.username));
    memo = { members, me, context: { me, isMember: (name) => names.has(name) } };
  }
  return memo.context;
}

export function MessageBody({ text }: { readonly text: string }) {
  const { chain, account } = useApp();
  useEffect(() => {
    void loadRichText();
  }, []);
  const rich = engine.value;
  version.value;
  const html =
    rich === null
      ? null
      : rich.renderRichText(text, contextFor(chain.members.value, account.user.value?.username ?? ""));
  if (html === null) {
    return <p class="message__text">{text}</p>;
  }
  return (
    <div
      class="message__text message__rich"
      data-rich=""
      // Only ever DOMPurify's output (richText.ts), with a strict allow-list.
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
