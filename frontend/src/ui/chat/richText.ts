/**
 * Message text → sanitised HTML for the page (this module is a lazy chunk:
 * MessageBody shows plain text until it has loaded). markdown.ts makes the
 * HTML; DOMPurify then keeps only a strict allow-list of tags and attributes,
 * whatever markdown-it made, so a bug or a trick in the markdown layer cannot
 * reach the DOM. Results are cached per message text (and per reader and
 * workspace members, which decide the @mention highlights).
 */

import DOMPurify from "dompurify";
import { onHighlighterWanted, type RenderContext, renderMarkdown, setHighlighter } from "./markdown";

export type { RenderContext } from "./markdown";

/** Everything markdown.ts makes, and nothing else: no img, no media, no forms, no SVG, no style. */
const ALLOWED_TAGS = [
  "a",
  "blockquote",
  "br",
  "code",
  "del",
  "em",
  "hr",
  "li",
  "ol",
  "p",
  "pre",
  "s",
  "span",
  "strong",
  "ul",
];
const ALLOWED_ATTR = ["href", "title", "target", "rel", "class", "start"];
/** Classes markdown.ts and highlight.js write: `language-x`, `hljs-keyword`, `function_`, mentions. */
const ALLOWED_CLASS =
  /^(?:language-[\w#+.-]{1,40}|hljs(?:-[\w-]{1,40})?|[a-z]{1,20}_{1,3}|mention|mention--me)$/;
const LINK = /^(?:https?:|mailto:)/i;

const purifier = DOMPurify(typeof window === "undefined" ? undefined : window);

purifier.addHook("uponSanitizeAttribute", (_node, event) => {
  if (event.attrName === "class") {
    event.attrValue = event.attrValue
      .split(/\s+/)
      .filter((name) => ALLOWED_CLASS.test(name))
      .join(" ");
    event.keepAttr = event.attrValue !== "";
  }
});

purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") {
    const href = node.getAttribute("href");
    if (href === null || !LINK.test(href.trim())) {
      // Not a link any more: its text stays, nothing to follow.
      node.removeAttribute("href");
      node.removeAttribute("target");
      node.removeAttribute("rel");
      return;
    }
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** `html` with only the allow-list left (tags, attributes, classes, http/https/mailto links). */
export function sanitise(html: string): string {
  return purifier.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: LINK,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOW_UNKNOWN_PROTOCOLS: false,
    ALLOW_SELF_CLOSE_IN_ATTR: false,
    KEEP_CONTENT: true,
    RETURN_TRUSTED_TYPE: false,
  });
}

/** At most this many texts cached per context (oldest dropped first). */
const CACHE_LIMIT = 2000;
let caches = new WeakMap<RenderContext, Map<string, string>>();
let changed: (() => void) | null = null;
let highlighterLoading = false;

onHighlighterWanted(() => {
  if (highlighterLoading) {
    return;
  }
  highlighterLoading = true;
  import("./highlight")
    .then(({ highlight }) => {
      setHighlighter(highlight);
      caches = new WeakMap();
      changed?.();
    })
    .catch((error: unknown) => {
      // Code stays readable, just not coloured; try again on the next render that needs it.
      highlighterLoading = false;
      console.warn("PiPo: the code highlighter could not load", error);
    });
});

/** Call `callback` when renders made so far are stale (the highlighter has arrived). */
export function onRichTextChange(callback: (() => void) | null): void {
  changed = callback;
}

/**
 * `text` as sanitised HTML for a message body, or null where this browser
 * cannot sanitise (then the caller shows plain text). Pure for a given
 * `context` object and cached by text.
 */
export function renderRichText(text: string, context: RenderContext): string | null {
  if (!purifier.isSupported) {
    return null;
  }
  let cache = caches.get(context);
  if (cache === undefined) {
    cache = new Map();
    caches.set(context, cache);
  }
  const hit = cache.get(text);
  if (hit !== undefined) {
    return hit;
  }
  const html = sanitise(renderMarkdown(text, context));
  cache.set(text, html);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) {
      cache.delete(oldest.value);
    }
  }
  return html;
}
