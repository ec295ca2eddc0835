/** The theme choice (System / Light / Dark), in the page header on every page. */

import { setTheme, THEME_CHOICES, THEME_NAMES, theme } from "./theme";

export function ThemeSwitch() {
  return (
    <div class="theme-switch">
      <label class="theme-switch__label" for="theme-choice">
        Theme
      </label>
      <select
        id="theme-choice"
        class="theme-switch__select"
        value={theme.value}
        onChange={(event) =>
          setTheme((event.target as HTMLSelectElement).value as (typeof THEME_CHOICES)[number])
        }
      >
        {THEME_CHOICES.map((choice) => (
          <option key={choice} value={choice}>
            {THEME_NAMES[choice]}
          </option>
        ))}
      </select>
    </div>
  );
}
