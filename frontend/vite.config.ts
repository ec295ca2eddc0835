/// <reference types="node" />
// The web client's build. There is no index.html: Django renders the pages and
// reads .vite/manifest.json (keys "src/main.tsx" for the app's shell and
// "src/adminApproval.tsx" for the admin's approval page) to find the hashed JS and CSS.
import { defineConfig } from "vitest/config";

export default defineConfig({
  base: "/static/frontend/dist/",
  publicDir: false,
  oxc: {
    // Preact's automatic JSX runtime. Vite 8 also reads this from tsconfig
    // (checked: the bundle imports preact/jsx-runtime either way); stated here
    // so the build never silently falls back to React's runtime.
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  build: {
    outDir: "static/frontend/dist",
    emptyOutDir: true,
    manifest: true,
    // The page's CSP has no 'unsafe-inline': never inline assets as data: URLs
    // into CSS/JS, and never inject the module-preload polyfill.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    // libsodium-sumo (wasm inlined) is one indivisible ~530 kB lazy chunk.
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      // The app's shell, and the Django admin's "Approve (sign in browser)" page.
      input: { main: "src/main.tsx", adminApproval: "src/adminApproval.tsx" },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
