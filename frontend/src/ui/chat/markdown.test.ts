/**
 * The markdown layer on its own (vitest runs in node: no DOM, so DOMPurify,
 * the second layer, is tested in real Chromium by
 * tests/browser/test_markdown_safety.py).
 */

import { describe, expect, it } from "vitest";
import { EMOJI, EMOJI_BY_NAME, PICKER_EMOJI } from "./emoji";
import { highlight } from "./highlight";
import { onHighlighterWanted, type RenderContext, renderMarkdown, setHighlighter } from "./markdown";

const context: RenderContext = { me: "bea", isMember: (name) => ["ann", "bea", "ann.smith"].includes(name) };
const render = (text: string): string => renderMarkdown(text, context);

describe("renderMarkdown: formatting", () => {
  it("should render emphasis, strike-through, inline code, quotes and lists", () => {
    expect(render("**b** _i_ ~~s~~ `c`")).toBe(
      "<p><strong>b</strong> <em>i</em> <s>s</s> <code>c</code></p>\n",
    );
    expect(render("> said")).toBe("<blockquote>\n<p>said</p>\n</blockquote>\n");
    expect(render("- a\n- b")).toBe("<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
    expect(render("3. c")).toBe('<ol start="3">\n<li>c</li>\n</ol>\n');
  });

  it("should keep single line breaks, as a chat line does", () => {
    expect(render("one\ntwo")).toBe("<p>one<br>\ntwo</p>\n");
  });

  it("should leave headings and tables as typed", () => {
    expect(render("# not a heading")).toBe("<p># not a heading</p>\n");
    expect(render("| a |\n|---|\n| 1 |")).not.toContain("<table");
  });
});

describe("renderMarkdown: no raw HTML, no images", () => {
  it("should show HTML as text", () => {
    expect(render("<script>alert(1)</script>")).toBe("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
    expect(render('<img src=x onerror="alert(1)">')).toBe(
      "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>\n",
    );
    expect(render("<div>\n<iframe src=//x></iframe>\n</div>")).not.toMatch(/<(div|iframe)/);
  });

  it("should make an image a plain link, never an <img>", () => {
    const html = render("![cat](https://example.com/cat.png)");
    expect(html).not.toContain("<img");
    expect(html).toContain(
      '<a href="https://example.com/cat.png" target="_blank" rel="noopener noreferrer">cat</a>',
    );
  });
});

describe("renderMarkdown: links", () => {
  it("should open http, https and mailto links in a new tab without opener or referrer", () => {
    expect(render("[site](https://example.com/a?b=1)")).toBe(
      '<p><a href="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer">site</a></p>\n',
    );
    expect(render("<http://example.com>")).toContain('href="http://example.com"');
    expect(render("[me](mailto:me@example.com)")).toContain('href="mailto:me@example.com"');
  });

  it("should autolink URLs with a scheme only", () => {
    expect(render("see https://example.com/x.")).toContain(
      '<a href="https://example.com/x" target="_blank" rel="noopener noreferrer">https://example.com/x</a>.',
    );
    expect(render("see file.py or a.io or ann@example.com")).not.toContain("<a");
  });

  it.each([
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](javascript&colon;alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](java\tscript:alert(1))",
    "[a](<javascript:alert(1)>)",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[a](vbscript:msgbox(1))",
    "[a](file:///etc/passwd)",
    "[a](/relative) [b](#frag) [c](//evil.example)",
    "<javascript:alert(1)>",
    "[a]: javascript:alert(1)\n\n[a]",
    "[![x](https://e.example/i.png)](javascript:alert(1))",
    "[a](https://ok.example)[b](javascript:alert(1))",
  ])("should not make a link of %j", (text) => {
    const html = render(text);
    expect(html).not.toMatch(/href="(?!https:\/\/ok\.example|https:\/\/e\.example)/);
    expect(html.toLowerCase()).not.toContain('href="javascript');
    expect(html).toContain("a");
  });
});

describe("renderMarkdown: emoji and mentions", () => {
  it("should turn known :shortcodes: into emoji, and leave unknown ones and code alone", () => {
    expect(render(":tada: :+1: :nope:")).toBe("<p>🎉 👍 :nope:</p>\n");
    expect(render("`:tada:`")).toBe("<p><code>:tada:</code></p>\n");
    expect(render("https://x.example/:tada:")).toContain(">https://x.example/:tada:</a>");
  });

  it("should highlight mentions of members, the reader's more strongly", () => {
    expect(render("@ann and @bea, @Ann.Smith. @zed")).toBe(
      '<p><span class="mention">@ann</span> and <span class="mention mention--me">@bea</span>, ' +
        '<span class="mention">@Ann.Smith</span>. @zed</p>\n',
    );
  });

  it("should not highlight mentions in code, addresses or URLs", () => {
    expect(render("`@bea` ann@bea.example https://x.example/@bea")).not.toContain("mention");
  });

  it("should escape what a mention shows", () => {
    const html = renderMarkdown("@bea<", { me: "bea", isMember: () => true });
    expect(html).toContain('<span class="mention mention--me">@bea</span>&lt;');
  });
});

describe("renderMarkdown: code", () => {
  it("should ask for the highlighter, and show code escaped until it is there", () => {
    let wanted = 0;
    onHighlighterWanted(() => {
      wanted += 1;
    });
    setHighlighter(null);
    expect(render("```python\nx = '<b>'\n```")).toBe(
      "<pre><code class=\"language-python\">x = '&lt;b&gt;'\n</code></pre>\n",
    );
    expect(wanted).toBe(1);
    expect(render("```\nplain\n```")).toBe("<pre><code>plain\n</code></pre>\n");
    expect(wanted).toBe(1);
    onHighlighterWanted(null);
  });

  it("should highlight known languages with highlight.js classes, escaping the code", () => {
    setHighlighter(highlight);
    const html = render("```python\ndef f():\n    return '<b>'\n```");
    expect(html).toContain('<pre><code class="language-python">');
    expect(html).toContain('<span class="hljs-keyword">def</span>');
    expect(html).toContain("&lt;b&gt;");
    expect(html).not.toContain("<b>");
    expect(render("```nosuchlang\n<b>\n```")).toBe(
      '<pre><code class="language-nosuchlang">&lt;b&gt;\n</code></pre>\n',
    );
    setHighlighter(null);
  });

  it("should know the common languages by name and alias", () => {
    for (const language of [
      "js",
      "ts",
      "py",
      "sh",
      "json",
      "html",
      "css",
      "sql",
      "go",
      "rust",
      "yaml",
      "diff",
    ]) {
      expect(highlight("x", language), language).not.toBeNull();
    }
    expect(highlight("x", "cobol")).toBeNull();
  });
});

describe("emoji table", () => {
  it("should have unique names, and the picker each emoji once", () => {
    expect(new Set(EMOJI.map(([name]) => name)).size).toBe(EMOJI.length);
    expect(new Set(PICKER_EMOJI.map(([, emoji]) => emoji)).size).toBe(PICKER_EMOJI.length);
    expect(EMOJI_BY_NAME.tada).toBe("🎉");
    expect(PICKER_EMOJI.some(([name]) => name === "+1")).toBe(false);
  });
});
