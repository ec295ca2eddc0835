// Builds bench/chainBench.ts into one classic script for bench/chain_browser.py.
import { defineConfig } from "vite";

export default defineConfig({
  publicDir: false,
  build: {
    emptyOutDir: true,
    lib: { entry: "bench/chainBench.ts", formats: ["iife"], name: "pipoChainBench", fileName: () => "chain-bench.js" },
  },
});
