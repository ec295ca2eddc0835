/**
 * Syntax highlighting for fenced code, loaded lazily (dynamic import from
 * richText.ts) the first time a message has code with a language: highlight.js's
 * core and a handful of common languages, not its 190-language bundle.
 */

import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import css from "highlight.js/lib/languages/css";
import diff from "highlight.js/lib/languages/diff";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const LANGUAGES = { bash, css, diff, go, java, javascript, json, python, rust, sql, typescript, xml, yaml };
for (const [name, language] of Object.entries(LANGUAGES)) {
  hljs.registerLanguage(name, language);
}

/** `code` highlighted as `language` (a name or alias: js, py, sh, html…), escaped; null if unknown. */
export function highlight(code: string, language: string): string | null {
  if (hljs.getLanguage(language) === undefined) {
    return null;
  }
  return hljs.highlight(code, { language, ignoreIllegals: true }).value;
}
