/**
 * @mentions in message text (pure, no DOM): who a message names, whether it
 * names the reader, and the pieces the renderer highlights. Usernames follow
 * the server's rule (`[a-z0-9][a-z0-9._-]{0,63}`); a mention is matched
 * without regard to case and reported in lower case.
 */

/** One piece of a text: plain, or a mention of a known person. */
export type MentionPiece =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "mention"; readonly text: string; readonly username: string };

/**
 * `@` not glued to a word, an address or a path before it (so no
 * `ann@example.com`, `https://host/@bea`, `@@bea`), then a username's characters.
 */
const MENTION = /(?<![A-Za-z0-9_.@/:+`-])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})/g;

/** Code spans and fenced blocks name nobody: `@bea` in code is code. */
const CODE = /^(?:```|~~~)[^\n]*\n[\s\S]*?(?:^(?:```|~~~)[^\n]*$|(?![\s\S]))|(`+)[\s\S]*?\1/gm;

/**
 * The username that `raw` (the characters after `@`) names: itself if
 * `isKnown` says so, else without trailing `.`, `_` or `-` (the end of a
 * sentence: "thanks @bea."). Null if nobody.
 */
function resolve(raw: string, isKnown: (name: string) => boolean): string | null {
  let name = raw.toLowerCase();
  for (;;) {
    if (isKnown(name)) {
      return name;
    }
    const shorter = name.replace(/[._-]$/, "");
    if (shorter === name || shorter === "") {
      return null;
    }
    name = shorter;
  }
}

/**
 * `text` cut into plain pieces and mentions of people `isKnown` accepts
 * (a mention of nobody stays plain text). Joining the pieces' `text` gives `text` back.
 */
export function splitMentions(text: string, isKnown: (name: string) => boolean): MentionPiece[] {
  const pieces: MentionPiece[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const raw = match[1] as string;
    const username = resolve(raw, isKnown);
    if (username === null) {
      continue;
    }
    const start = match.index;
    const end = start + 1 + username.length;
    if (start > last) {
      pieces.push({ kind: "text", text: text.slice(last, start) });
    }
    pieces.push({ kind: "mention", text: text.slice(start, end), username });
    last = end;
  }
  if (last < text.length || pieces.length === 0) {
    pieces.push({ kind: "text", text: text.slice(last) });
  }
  return pieces;
}

/** Any well-formed username (for when the members are not known). */
const anyName = (name: string): boolean => /^[a-z0-9][a-z0-9._-]{0,63}$/.test(name) && !/[._-]$/.test(name);

/**
 * The usernames `text` mentions, once each, in order of first mention,
 * outside code. With `members`, only those people (so "@bea." finds bea, and
 * a mention of someone who is not there is none); without, every
 * well-formed name (trailing `.`, `_`, `-` dropped).
 */
export function mentionsOf(text: string, members?: Iterable<string>): string[] {
  const known = members === undefined ? null : new Set([...members].map((name) => name.toLowerCase()));
  const isKnown = known === null ? anyName : (name: string) => known.has(name);
  const found: string[] = [];
  for (const piece of splitMentions(text.replace(CODE, " "), isKnown)) {
    if (piece.kind === "mention" && !found.includes(piece.username)) {
      found.push(piece.username);
    }
  }
  return found;
}

/** Whether `text` mentions `me` (outside code). */
export function mentionsMe(text: string, me: string): boolean {
  return me !== "" && mentionsOf(text, [me]).length > 0;
}

/**
 * The `@query` being typed just before the caret, if any: the composer's
 * autocomplete offers usernames starting with `query`. `start` is the index of the `@`.
 */
export function mentionQueryAt(
  text: string,
  caret: number,
): { readonly start: number; readonly query: string } | null {
  const before = text.slice(0, caret);
  const found = /(?<![A-Za-z0-9_.@/:+`-])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$/.exec(before);
  if (found === null) {
    return null;
  }
  return { start: found.index, query: (found[1] ?? "").toLowerCase() };
}

/** Up to `limit` of `candidates` whose username starts with `query`, in the order given. */
export function mentionSuggestions(
  query: string,
  candidates: readonly string[],
  limit = 8,
): readonly string[] {
  const wanted = query.toLowerCase();
  return candidates.filter((name) => name.startsWith(wanted)).slice(0, limit);
}
