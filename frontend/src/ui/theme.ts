/**
 * The colour theme: System (follows `prefers-color-scheme`), Light or Dark.
 * The choice is a display preference, not a secret: it lives in localStorage
 * under {@link THEME_KEY} and is applied as `data-theme` on `<html>`, which
 * app.css reads. main.tsx applies it before the first render (the CSP allows
 * no inline script, so the bundle does it first thing).
 */

import { signal } from "@preact/signals";

export type ThemeChoice = "system" | "light" | "dark";

export const THEME_CHOICES: readonly ThemeChoice[] = ["system", "light", "dark"];

export const THEME_NAMES: Readonly<Record<ThemeChoice, string>> = {
  system: "System",
  light: "Light",
  dark: "Dark",
};

export const THEME_KEY = "pipo.theme";

/** Any stored value that is not a known choice means System. */
export function parseTheme(value: string | null | undefined): ThemeChoice {
  return value === "light" || value === "dark" ? value : "system";
}

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled for this origin
  }
}

/** The stored choice (System when nothing, or nothing readable, is stored). */
export function readTheme(): ThemeChoice {
  try {
    return parseTheme(storage()?.getItem(THEME_KEY));
  } catch {
    return "system";
  }
}

/** The current choice; {@link applyStoredTheme} and {@link setTheme} keep it in step with `<html>`. */
export const theme = signal<ThemeChoice>("system");

function apply(choice: ThemeChoice, root: HTMLElement): void {
  root.dataset.theme = choice;
}

/** Read the stored choice and put it on `<html>`; call before the first render. */
export function applyStoredTheme(root: HTMLElement = document.documentElement): ThemeChoice {
  const choice = readTheme();
  theme.value = choice;
  apply(choice, root);
  return choice;
}

/** Choose a theme: applied at once, remembered in this browser (System forgets the choice). */
export function setTheme(choice: ThemeChoice, root: HTMLElement = document.documentElement): void {
  theme.value = choice;
  apply(choice, root);
  try {
    const store = storage();
    if (choice === "system") {
      store?.removeItem(THEME_KEY);
    } else {
      store?.setItem(THEME_KEY, choice);
    }
  } catch {
    // Full or disabled storage: the choice holds for this page only.
  }
}
