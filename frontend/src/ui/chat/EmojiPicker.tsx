/**
 * "Insert emoji": a button beside the composer that opens a grid of emoji.
 * Keyboard: the grid has one tab stop; arrow keys (and Home/End) move in it,
 * Enter or Space picks, Esc closes and returns to the button; Tab (or a
 * click) elsewhere closes it.
 */

import { useEffect, useId, useRef, useState } from "preact/hooks";
import { PICKER_EMOJI } from "./emoji";

const COLUMNS = 8;

/** Where each key moves the focus in the grid (clamped to it). */
const STEPS: Readonly<Record<string, (active: number, last: number) => number>> = {
  ArrowRight: (active) => active + 1,
  ArrowLeft: (active) => active - 1,
  ArrowDown: (active) => active + COLUMNS,
  ArrowUp: (active) => active - COLUMNS,
  Home: () => 0,
  End: (_active, last) => last,
};

export function EmojiPicker({ onPick }: { readonly onPick: (emoji: string) => void }) {
  const panelId = `emoji-picker-${useId().replace(/[^A-Za-z0-9_-]/g, "")}`;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const toggle = useRef<HTMLButtonElement>(null);
  const grid = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // On opening, focus the grid's one tab stop; after that the keys move the focus themselves.
    if (open) {
      grid.current?.querySelector<HTMLButtonElement>('[tabindex="0"]')?.focus();
    }
  }, [open]);
  const close = (refocus: boolean): void => {
    setOpen(false);
    if (refocus) {
      toggle.current?.focus();
    }
  };
  const move = (event: KeyboardEvent): void => {
    const step = STEPS[event.key];
    if (step === undefined) {
      return;
    }
    event.preventDefault();
    // From the focused item (keys can come faster than renders), and focus
    // the next one now so that the next key starts from it.
    const from = Number((event.target as HTMLElement).dataset.index ?? active);
    const last = PICKER_EMOJI.length - 1;
    const next = Math.max(0, Math.min(last, step(Number.isNaN(from) ? active : from, last)));
    grid.current?.querySelector<HTMLButtonElement>(`[data-index="${next}"]`)?.focus();
    setActive(next);
  };
  const onEscape = (event: KeyboardEvent): boolean => {
    if (event.key !== "Escape" || !open) {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    close(true);
    return true;
  };
  return (
    <div class="emoji-picker">
      <button
        type="button"
        ref={toggle}
        class="button emoji-picker__toggle"
        aria-label="Insert emoji"
        title="Insert emoji"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => {
          setActive(0);
          setOpen(!open);
        }}
        onKeyDown={onEscape}
      >
        <span aria-hidden="true">😊</span>
      </button>
      {open ? (
        <div
          id={panelId}
          class="emoji-picker__panel"
          role="dialog"
          aria-label="Emoji"
          onKeyDown={(event) => {
            if (!onEscape(event)) {
              move(event);
            }
          }}
          onFocusOut={(event) => {
            // Focus gone elsewhere (Tab, a click outside) closes it; to the
            // button, the button's own click decides.
            const to = event.relatedTarget as Node | null;
            if (to === null || (!event.currentTarget.contains(to) && to !== toggle.current)) {
              setOpen(false);
            }
          }}
        >
          <div class="emoji-picker__grid" ref={grid}>
            {PICKER_EMOJI.map(([name, emoji], index) => (
              <button
                type="button"
                key={name}
                class="emoji-picker__item"
                data-index={index}
                tabIndex={index === active ? 0 : -1}
                aria-label={name.replaceAll("_", " ")}
                title={`:${name}:`}
                onFocus={() => setActive(index)}
                onClick={() => {
                  setOpen(false);
                  onPick(emoji);
                }}
              >
                {emoji}
              </button>
            ))}
          </div>
          <p class="emoji-picker__hint">Arrow keys move, Enter picks, Esc closes. Or type :shortcode:.</p>
        </div>
      ) : null}
    </div>
  );
}
