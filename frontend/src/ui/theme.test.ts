import { afterEach, describe, expect, it, vi } from "vitest";
import { applyStoredTheme, parseTheme, readTheme, setTheme, THEME_KEY, theme } from "./theme";

function fakeStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => {
      items.delete(key);
    },
    setItem: (key, value) => {
      items.set(key, String(value));
    },
  };
}

function fakeRoot(): HTMLElement {
  return { dataset: {} } as unknown as HTMLElement;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("theme", () => {
  it("should read only known choices, System otherwise", () => {
    expect(parseTheme("light")).toBe("light");
    expect(parseTheme("dark")).toBe("dark");
    expect(parseTheme("system")).toBe("system");
    expect(parseTheme("purple")).toBe("system");
    expect(parseTheme(null)).toBe("system");
  });

  it("should remember a choice and put it on the root", () => {
    const store = fakeStorage();
    vi.stubGlobal("localStorage", store);
    const root = fakeRoot();
    expect(applyStoredTheme(root)).toBe("system");
    expect(root.dataset.theme).toBe("system");
    setTheme("dark", root);
    expect(store.getItem(THEME_KEY)).toBe("dark");
    expect(root.dataset.theme).toBe("dark");
    expect(theme.value).toBe("dark");
    const later = fakeRoot();
    expect(applyStoredTheme(later)).toBe("dark");
    expect(later.dataset.theme).toBe("dark");
    setTheme("system", root);
    expect(store.getItem(THEME_KEY)).toBeNull();
    expect(readTheme()).toBe("system");
  });

  it("should still apply a choice when storage is unavailable", () => {
    vi.stubGlobal("localStorage", {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
    });
    const root = fakeRoot();
    expect(applyStoredTheme(root)).toBe("system");
    setTheme("light", root);
    expect(root.dataset.theme).toBe("light");
  });
});
