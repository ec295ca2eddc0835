/** markdown-it-emoji's plugin without its data (PiPo brings its own table, emoji.ts). */
declare module "markdown-it-emoji/lib/bare.mjs" {
  import type { PluginWithOptions } from "markdown-it";

  const emojiPlugin: PluginWithOptions<{
    readonly defs: Readonly<Record<string, string>>;
    readonly shortcuts: Readonly<Record<string, string | readonly string[]>>;
    readonly enabled?: readonly string[];
  }>;
  // biome-ignore lint/style/noDefaultExport: this describes the package's own default export.
  export default emojiPlugin;
}
