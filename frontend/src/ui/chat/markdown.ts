/**
 * Message text → HTML with markdown-it (no DOM here, so it runs in vitest):
 * emphasis, strike-through, inline code, fenced code (highlighted once the
 * lazy highlighter is loaded), quotes, lists, links, `:shortcode:` emoji and
 * @mentions of workspace members. Never trusted as it is: richText.ts runs
 * DOMPurify on every string this makes before it reaches the page.
 *
 * Policy: no raw HTML (`html: false`: a `<b>` is shown as typed), no images
 * (`![x](url)` is a plain link; nothing is fetched to show a message), links
 * only to http:, https: and mailto: (anything else stays text), every link
 * opens in a new tab with rel="noopener noreferrer"; no headings or tables
 * (a chat line is not a document; tables would need inline styles the CSP forbids).
 */

import MarkdownIt, { type RendererRule, type StateCore, type Token } from "markdown-it";
import emojiPlugin from "markdown-it-emoji/lib/bare.mjs";
import { splitMentions } from "../../state";
import { EMOJI_BY_NAME } from "./emoji";

/** Who the reader is and who is in the workspace, for @mentions. */
export interface RenderContext {
  readonly me: string;
  readonly isMember: (username: string) => boolean;
}

/** Highlights `code` as `language` into escaped HTML; null if it does not know the language. */
export type Highlighter = (code: string, language: string) => string | null;

const LINK_SCHEMES = /^(?:https?:\/\/|mailto:)/i;

let highlighter: Highlighter | null = null;
let wantHighlighter: (() => void) | null = null;

/** Use `highlight` for fenced code from now on (renders already made are not redone here). */
export function setHighlighter(highlight: Highlighter | null): void {
  highlighter = highlight;
}

/** Called (once per render that needs it) when code with a language is rendered without a highlighter. */
export function onHighlighterWanted(callback: (() => void) | null): void {
  wantHighlighter = callback;
}

const md = new MarkdownIt("default", {
  html: false,
  xhtmlOut: false,
  breaks: true,
  linkify: true,
  typographer: false,
  highlight: (code, info) => {
    const language = info.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
    if (language === "") {
      return "";
    }
    if (highlighter === null) {
      wantHighlighter?.();
      return "";
    }
    const html = highlighter(code, language);
    // markdown-it wraps it in <pre><code class="language-…">; "" means "escape it yourself".
    return html ?? "";
  },
});
md.disable(["heading", "lheading", "table", "image"]);
// Only links with a scheme: "file.py" or "a.io" stay text, and no mailto: from a bare address.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false });
md.validateLink = (url: string): boolean => LINK_SCHEMES.test(url.trim());

const defaultLinkOpen: RendererRule =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx] as Token;
  token.attrSet("target", "_blank");
  token.attrSet("rel", "noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

md.use(emojiPlugin, { defs: EMOJI_BY_NAME, shortcuts: {} });

/** The render's context, if `env` is one (markdown-it hands `env` through untyped). */
function contextOf(env: unknown): RenderContext | null {
  const candidate = env as Partial<RenderContext> | null | undefined;
  return typeof candidate?.me === "string" && typeof candidate.isMember === "function"
    ? (candidate as RenderContext)
    : null;
}

/** @mentions of members become `mention` tokens (not inside code, nor inside autolinked URLs). */
function mentionRule(state: StateCore): void {
  const context = contextOf(state.env);
  if (context === null) {
    return;
  }
  for (const block of state.tokens) {
    if (block.type !== "inline" || block.children === null) {
      continue;
    }
    const out: Token[] = [];
    let autolink = 0;
    for (const token of block.children) {
      if ((token.type === "link_open" || token.type === "link_close") && token.info === "auto") {
        autolink += token.nesting;
      }
      if (token.type !== "text" || autolink > 0 || !token.content.includes("@")) {
        out.push(token);
        continue;
      }
      for (const piece of splitMentions(token.content, context.isMember)) {
        const made = new state.Token(piece.kind === "mention" ? "mention" : "text", "", 0);
        made.content = piece.text;
        made.level = token.level;
        if (piece.kind === "mention") {
          made.meta = { username: piece.username };
        }
        out.push(made);
      }
    }
    block.children = out;
  }
}
md.core.ruler.push("mention", mentionRule);
md.renderer.rules.mention = (tokens, idx, _options, env) => {
  const token = tokens[idx] as Token;
  const username = (token.meta as { username: string }).username;
  const mine = username === contextOf(env)?.me;
  return `<span class="mention${mine ? " mention--me" : ""}">${md.utils.escapeHtml(token.content)}</span>`;
};

/** `text` as (unsanitised) HTML. */
export function renderMarkdown(text: string, context: RenderContext): string {
  return md.render(text, { ...context });
}
