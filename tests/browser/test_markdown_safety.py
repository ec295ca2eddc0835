"""Rich text in real Chromium against live Daphne, PostgreSQL and Redis (#6).

ann sends a battery of XSS payloads as messages; on bea's page (the reader,
who only decrypts and renders them) no dialog opens, nothing is logged as an
error, no CSP violation or page error happens, nothing is fetched from
anywhere but the workspace's own origin, the DOM holds no dangerous element,
attribute or link, and each payload's text is still there to read. Then the
positive side: markdown, code highlighting, emoji and @mentions render, and
the composer's emoji picker and mention suggestions work from the keyboard.
"""

import asyncio

import pytest
from playwright.async_api import Browser, Dialog, Page, Request, expect

from tests.browser.room_conversations import wait_until_held
from tests.browser.rooms_flows import (
    choose_room,
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    room_messages,
    send,
)
from tests.conftest import ARTIFACTS, CSP_PROBE, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

# (payload, text the reader must still see). Each would run alert() if any
# layer let it through; a request to evil.example would be a leak.
PAYLOADS: list[tuple[str, str]] = [
    ("<script>alert('xss-script')</script>", "alert('xss-script')"),
    ("<img src=x onerror=alert('xss-img')>", "xss-img"),
    ("<svg onload=alert('xss-svg')><circle r=9></circle></svg>", "xss-svg"),
    ("<iframe src=\"javascript:alert('xss-iframe')\"></iframe>", "xss-iframe"),
    ("<a href=\"javascript:alert('xss-a')\">click-a</a>", "click-a"),
    ("[click-md](javascript:alert('xss-md'))", "click-md"),
    ("[click-colon](javascript&colon;alert('xss-colon'))", "click-colon"),
    ("[click-case](JaVaScRiPt:alert('xss-case'))", "click-case"),
    ("[click-space]( javascript:alert('xss-space'))", "click-space"),
    ("[click-angle](<javascript:alert('xss-angle')>)", "click-angle"),
    ("[click-data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "click-data"),
    ("[click-vb](vbscript:msgbox('xss-vb'))", "click-vb"),
    (
        "<a href=\"data:text/html,<script>alert('xss-data')</script>\">click-data-html</a>",
        "click-data-html",
    ),
    ("<a href=\"jav&#x09;ascript:alert('xss-tab')\">click-tab</a>", "click-tab"),
    ("<div onmouseover=\"alert('xss-div')\">hover-div</div>", "hover-div"),
    ("<b onclick=alert('xss-b')>bold-unclosed", "bold-unclosed"),
    ("<details open ontoggle=alert('xss-toggle')>toggle-text</details>", "toggle-text"),
    ('<img src="https://evil.example/pixel.png">', "evil.example/pixel.png"),
    ("![tracker](https://evil.example/track.png)", "tracker"),
    ("<scr<script>ipt>alert('xss-split')</scr</script>ipt>", "xss-split"),
    ("<<script>alert('xss-double');//<</script>", "xss-double"),
    ("&lt;script&gt;alert('xss-entity')&lt;/script&gt;", "<script>alert('xss-entity')</script>"),
    (
        "&#60;img src=x onerror=alert('xss-numeric')&#62;",
        "<img src=x onerror=alert('xss-numeric')>",
    ),
    ("[click-nested [inner](javascript:alert('xss-nested'))](https://ok.example/n)", "inner"),
    ("[click-ref][r]\n\n[r]: javascript:alert('xss-ref')", "click-ref"),
    ("<javascript:alert('xss-autolink')> and <https://ok.example/auto>", "xss-autolink"),
    ("[click-title](https://ok.example/t \"onmouseover=alert('xss-title')\")", "click-title"),
    ("<style>body{display:none}</style>style-text", "style-text"),
    (
        "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-mxss')>",
        "xss-mxss",
    ),
    ("```html\n<script>alert('xss-code')</script>\n```", "alert('xss-code')"),
    ("<form action=https://evil.example/f><input value=form-text></form>", "form-text"),
    ("<object data=\"javascript:alert('xss-object')\"></object>", "xss-object"),
    ("@bea <img src=x onerror=alert('xss-mention')>", "xss-mention"),
    (":tada:<img src=x onerror=alert('xss-emoji')>", "xss-emoji"),
    ("`<img src=x onerror=alert('xss-inline-code')>`", "xss-inline-code"),
]

DANGEROUS = (
    "script, img, svg, math, iframe, object, embed, form, input, button, style, link, "
    "meta, base, details, video, audio, source, textarea, select, frame, frameset, template"
)

RICH = "\n".join(
    [
        "**bold words**, _leaning words_, ~~struck~~ and `inline code` :tada:",
        "> a quoted line",
        "",
        "- first item",
        "- second item",
        "",
        "See [the docs](https://example.com/docs) or https://example.com/auto, @bea and @ann.",
        "```python",
        "def greet(name):",
        '    return f"hi {name}"  # say hello',
        "```",
    ]
)


async def two_in_a_room(browser: Browser, server: LiveServer, slug: str) -> tuple[Page, Page, str]:
    """ann founds `slug`, bea joins; both on /app/rooms in a private room of the two."""
    ann = await found_open_workspace(browser, server, slug, "ann")
    bea = await join_open_workspace(browser, server, slug, "bea")
    await bea.context.add_init_script(CSP_PROBE)
    for page in (ann, bea):
        await open_rooms(page, server, slug)
    assert await create_room(ann, "Private room", ["bea"]) == "Private room with bea"
    await choose_room(bea, "Private room with ann")
    room = next(iter(await room_messages(ann)))
    return ann, bea, room


def watch(page: Page) -> dict[str, list[str]]:
    """Record what a page must never do: dialogs, errors, requests."""
    seen: dict[str, list[str]] = {"dialogs": [], "console": [], "errors": [], "requests": []}

    async def on_dialog(dialog: Dialog) -> None:
        seen["dialogs"].append(dialog.message)
        await dialog.dismiss()

    def on_request(request: Request) -> None:
        seen["requests"].append(request.url)

    page.on("dialog", on_dialog)
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.on("request", on_request)
    return seen


async def dom_problems(page: Page) -> list[str]:
    """Dangerous elements, event-handler attributes and unsafe links in the message bodies."""
    problems: list[str] = await page.evaluate(
        """(dangerous) => {
          const found = [];
          for (const body of document.querySelectorAll(".messages .message__text")) {
            for (const element of body.querySelectorAll(dangerous)) {
              found.push("element " + element.outerHTML.slice(0, 80));
            }
            for (const element of [body, ...body.querySelectorAll("*")]) {
              for (const attribute of element.attributes) {
                const name = attribute.name.toLowerCase();
                if (name.startsWith("on") || name === "style" || name === "src" ||
                    name === "srcdoc" || name === "action" || name === "formaction") {
                  found.push("attribute " + name + " on " + element.tagName);
                }
              }
            }
            for (const link of body.querySelectorAll("a[href]")) {
              const href = link.getAttribute("href");
              if (!/^(https?:|mailto:)/i.test(href) || link.protocol === "javascript:") {
                found.push("link " + href);
              }
              if (link.target !== "_blank" || link.rel !== "noopener noreferrer") {
                found.push("link without target/rel " + href);
              }
            }
          }
          return found;
        }""",
        DANGEROUS,
    )
    return problems


async def test_xss_payloads_do_nothing_on_the_readers_page_and_stay_readable(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann, bea, room = await two_in_a_room(browser, daphne_server, "mdsafe")
    seen = watch(bea)
    for payload, _visible in PAYLOADS:
        await send(ann, payload)
    texts = [payload for payload, _visible in PAYLOADS]
    await wait_until_held(bea, room, texts, within_s=90.0)
    bodies = bea.locator(".message .message__text")
    await expect(bodies).to_have_count(len(PAYLOADS), timeout=20_000)
    await expect(bea.locator(".message__rich")).to_have_count(len(PAYLOADS), timeout=20_000)
    # The code block's highlighter is loaded lazily: wait for it, then for any late event.
    await expect(bea.locator(".message__rich pre code span[class^=hljs-]").first).to_be_visible(
        timeout=20_000
    )
    # Move the mouse over every message: a handler waiting for an event would fire now.
    for message in await bea.locator(".message__rich").all():
        await message.hover(force=True)
    await asyncio.sleep(1.0)

    ids = {entry["text"]: entry["id"] for entry in (await room_messages(bea))[room]}
    for payload, visible in PAYLOADS:
        shown = await bea.locator(
            f'.message[data-message-id="{ids[payload]}"] .message__text'
        ).inner_text()
        assert visible in shown, (payload, shown)

    await bea.screenshot(path=str(ARTIFACTS / "markdown-xss.png"), full_page=True)
    assert seen["dialogs"] == []
    assert seen["console"] == []
    assert seen["errors"] == []
    assert await bea.evaluate("window.__cspViolations ?? []") == []
    origin = daphne_server.tenant_url("mdsafe")
    assert [url for url in seen["requests"] if not url.startswith(origin + "/")] == []
    assert await dom_problems(bea) == []
    # The only links are the https: URLs the payloads spell out (typed URLs are
    # linked: following one takes a click, and nothing is fetched to show it).
    hrefs = await bea.locator(".message__text a").evaluate_all(
        "(links) => links.map((link) => link.getAttribute('href'))"
    )
    assert sorted(hrefs) == [
        "https://evil.example/f",
        "https://evil.example/pixel.png",
        "https://evil.example/track.png",
        "https://ok.example/auto",
        "https://ok.example/n",
        "https://ok.example/t",
    ]


async def test_markdown_emoji_mentions_and_the_composer_helpers(
    daphne_server: LiveServer, browser: Browser
) -> None:
    ann, bea, room = await two_in_a_room(browser, daphne_server, "mdrich")
    seen = watch(bea)
    await send(ann, RICH)
    await wait_until_held(bea, room, [RICH], within_s=60.0)
    body = bea.locator(".message__rich").first
    await expect(body.locator("strong")).to_have_text("bold words", timeout=20_000)
    await expect(body.locator("em")).to_have_text("leaning words")
    await expect(body.locator("s")).to_have_text("struck")
    await expect(body.locator("p > code")).to_have_text("inline code")
    await expect(body.locator("blockquote")).to_have_text("a quoted line")
    await expect(body.locator("ul > li")).to_have_text(["first item", "second item"])
    await expect(body).to_contain_text("🎉")
    await expect(body).not_to_contain_text(":tada:")
    docs = body.get_by_role("link", name="the docs")
    await expect(docs).to_have_attribute("href", "https://example.com/docs")
    await expect(docs).to_have_attribute("target", "_blank")
    await expect(docs).to_have_attribute("rel", "noopener noreferrer")
    await expect(body.get_by_role("link", name="https://example.com/auto")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    code = body.locator("pre > code.language-python")
    await expect(code.locator("span.hljs-keyword").first).to_have_text("def", timeout=20_000)
    await expect(code.locator("span.hljs-comment")).to_have_text("# say hello")
    # The reader's own mention stands out; another member's is highlighted too.
    await expect(body.locator(".mention.mention--me")).to_have_text("@bea")
    await expect(body.locator(".mention:not(.mention--me)")).to_have_text("@ann")
    ann_body = ann.locator(".message__rich").first
    await expect(ann_body.locator(".mention.mention--me")).to_have_text("@ann", timeout=20_000)
    await expect(ann_body.locator(".mention:not(.mention--me)")).to_have_text("@bea")

    # The composer: @ suggests the room's members (listbox + aria-activedescendant).
    box = bea.get_by_label("Message", exact=True)
    await box.click()
    await box.press_sequentially("thanks @a")
    listbox = bea.get_by_role("listbox", name="People to mention")
    await expect(listbox).to_be_visible()
    await expect(listbox.get_by_role("option")).to_have_text(["@ann"])
    active = await box.get_attribute("aria-activedescendant")
    assert active, "the textarea names the active suggestion"
    await expect(listbox.locator(f"#{active}")).to_have_text("@ann")
    await bea.screenshot(path=str(ARTIFACTS / "markdown-mention-list.png"))
    await box.press("Escape")  # closes; stays closed while this @word is typed
    await expect(listbox).to_have_count(0)
    await box.press_sequentially("n")
    await expect(listbox).to_have_count(0)
    for _ in range(len("@an")):
        await box.press("Backspace")
    await box.press_sequentially("@a")
    await expect(listbox).to_be_visible()
    await box.press("Enter")  # picks; does not send
    await expect(listbox).to_have_count(0)
    await expect(box).to_have_value("thanks @ann ")

    # "Insert emoji": keyboard only; Esc closes, arrows move, Enter inserts at the caret.
    await box.press_sequentially("for the cake")
    for _ in range(len(" cake")):
        await box.press("ArrowLeft")
    picker = bea.get_by_role("button", name="Insert emoji")
    await picker.focus()
    await bea.keyboard.press("Enter")
    dialog = bea.get_by_role("dialog", name="Emoji")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="smile", exact=True)).to_be_focused()
    await bea.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(picker).to_be_focused()
    await bea.keyboard.press("Enter")
    await expect(dialog.get_by_role("button", name="smile", exact=True)).to_be_focused()
    tada = await dialog.get_by_role("button", name="tada", exact=True).get_attribute("data-index")
    assert tada is not None
    rows, columns = divmod(int(tada), 8)
    for key, times in (("ArrowDown", rows), ("ArrowRight", columns)):
        for _ in range(times):
            await bea.keyboard.press(key)
    await expect(dialog.get_by_role("button", name="tada", exact=True)).to_be_focused()
    await bea.screenshot(path=str(ARTIFACTS / "markdown-emoji-picker.png"))
    await bea.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    await expect(box).to_have_value("thanks @ann for the🎉 cake")
    await expect(box).to_be_focused()
    await box.press("End")
    await box.press_sequentially(" :+1:")
    await box.press("Enter")
    reply = "thanks @ann for the🎉 cake :+1:"
    await wait_until_held(ann, room, [RICH, reply], within_s=60.0)
    last = ann.locator(".message__rich").last
    await expect(last).to_have_text("thanks @ann for the🎉 cake 👍", timeout=20_000)
    await expect(last.locator(".mention--me")).to_have_text("@ann")

    await bea.screenshot(path=str(ARTIFACTS / "markdown-rich.png"), full_page=True)
    await bea.emulate_media(color_scheme="dark")
    await bea.screenshot(path=str(ARTIFACTS / "markdown-rich-dark.png"), full_page=True)
    assert seen["dialogs"] == []
    assert seen["console"] == []
    assert seen["errors"] == []
    assert await bea.evaluate("window.__cspViolations ?? []") == []
    origin = daphne_server.tenant_url("mdrich")
    assert [url for url in seen["requests"] if not url.startswith(origin + "/")] == []
