/**
 * What the message box offers besides typing: @mention suggestions from the
 * room's members (a listbox the textarea points into with
 * aria-activedescendant; Up/Down move, Enter or Tab picks, Esc closes) and
 * inserting text (an emoji) at the caret. Any composer can use them: it
 * passes its textarea's ref and its text, and calls `onKeyDown` first in its own key handler.
 */

import type { JSX, RefObject } from "preact";
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import { mentionQueryAt, mentionSuggestions } from "../../state";

/** Puts the caret at a position once the textarea shows the new text (after the render). */
function useCaretAfterRender(textarea: RefObject<HTMLTextAreaElement | null>): (position: number) => void {
  const wanted = useRef<number | null>(null);
  useLayoutEffect(() => {
    const element = textarea.current;
    if (wanted.current !== null && element !== null) {
      element.focus();
      element.setSelectionRange(wanted.current, wanted.current);
      wanted.current = null;
    }
  });
  return (position) => {
    wanted.current = position;
  };
}

/** Insert text where the caret is (replacing any selection), then put the caret after it. */
export function useInsertAtCaret(
  textarea: RefObject<HTMLTextAreaElement | null>,
  text: string,
  setText: (text: string) => void,
): (piece: string) => void {
  const place = useCaretAfterRender(textarea);
  return (piece) => {
    const element = textarea.current;
    const start = element?.selectionStart ?? text.length;
    const end = element?.selectionEnd ?? text.length;
    setText(text.slice(0, start) + piece + text.slice(end));
    place(start + piece.length);
  };
}

export interface MentionAssist {
  /** Handle a key in the textarea; true if it was the suggestions' (the composer then does nothing). */
  readonly onKeyDown: (event: KeyboardEvent) => boolean;
  /** Note where the caret is (call on input, key up and click). */
  readonly track: () => void;
  /** The textarea's ARIA attributes for the suggestions. */
  readonly inputProps: {
    readonly "aria-autocomplete": "list";
    readonly "aria-controls"?: string;
    readonly "aria-activedescendant"?: string;
  };
  /** The suggestions (null when there are none to show). */
  readonly list: JSX.Element | null;
}

/** @mention suggestions for a composer; `people` are who may be mentioned (the room's members, not oneself). */
export function useMentionAssist(
  textarea: RefObject<HTMLTextAreaElement | null>,
  text: string,
  setText: (text: string) => void,
  people: readonly string[],
): MentionAssist {
  // Ids unique per composer (the room's and a thread's may both be on the page).
  const LIST_ID = `mention-suggestions-${useId().replace(/[^A-Za-z0-9_-]/g, "")}`;
  const optionId = (name: string): string => `${LIST_ID}-${name}`;
  const [caret, setCaret] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const place = useCaretAfterRender(textarea);
  const query = caret === null || caret > text.length ? null : mentionQueryAt(text, caret);
  const key = query === null ? null : `${query.start}:${query.query}`;
  const options =
    query === null || dismissed === `${query.start}` ? [] : mentionSuggestions(query.query, people);
  const open = options.length > 0;
  const index = Math.min(active, options.length - 1);
  useEffect(() => {
    setActive(0);
    if (key === null) {
      setDismissed(null);
    }
  }, [key]);

  const pick = (name: string): void => {
    if (query === null || caret === null) {
      return;
    }
    const inserted = `@${name} `;
    setText(text.slice(0, query.start) + inserted + text.slice(caret));
    const position = query.start + inserted.length;
    setCaret(position);
    place(position);
  };

  const onKeyDown = (event: KeyboardEvent): boolean => {
    if (!open || query === null || event.isComposing) {
      return false;
    }
    if (event.key === "ArrowDown") {
      setActive((index + 1) % options.length);
    } else if (event.key === "ArrowUp") {
      setActive((index - 1 + options.length) % options.length);
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      pick(options[index] as string);
    } else if (event.key === "Escape") {
      setDismissed(`${query.start}`);
    } else {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  };

  const track = (): void => {
    const element = textarea.current;
    setCaret(
      element !== null && element.selectionStart === element.selectionEnd ? element.selectionStart : null,
    );
  };

  const chosen = options[index];
  return {
    onKeyDown,
    track,
    inputProps:
      open && chosen !== undefined
        ? {
            "aria-autocomplete": "list",
            "aria-controls": LIST_ID,
            "aria-activedescendant": optionId(chosen),
          }
        : { "aria-autocomplete": "list" },
    list: open ? (
      <div id={LIST_ID} class="mention-list" role="listbox" aria-label="People to mention">
        {options.map((name, position) => (
          <div
            key={name}
            id={optionId(name)}
            class="mention-list__option"
            role="option"
            tabIndex={-1}
            aria-selected={position === index}
            onMouseDown={(event) => {
              // Keep the focus (and the caret) in the textarea.
              event.preventDefault();
              pick(name);
            }}
          >
            @{name}
          </div>
        ))}
      </div>
    ) : null,
  };
}
