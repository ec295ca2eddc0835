"""Sharing files in the web client (#7), in real Chromium against a live
Daphne, PostgreSQL and Redis: alice attaches a file and a picture through
"Attach files"; bob sees both, downloads the file (byte-identical), sees the
picture's thumbnail inline and opens it full size (downloaded and decrypted
in his browser). Screenshots: an upload in progress, the file messages, the
opened image.
"""

import asyncio
import hashlib
import os
import re
import struct
import zlib
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.rooms_flows import (
    choose_room,
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
    send,
)
from tests.browser.test_accessibility import assert_no_serious_violations, axe_serious, choose_theme
from tests.conftest import ARTIFACTS, LiveServer

pytestmark = pytest.mark.django_db(transaction=True)

SEEN = 30_000
MIB = 1024 * 1024


def png_bytes(width: int, height: int) -> bytes:
    """A colourful RGB PNG (a gradient with a few bands), made without an image library."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            band = (x // 40 + y // 40) % 2
            rows += bytes(
                (
                    (x * 255 // width) if band else 40,
                    (y * 255 // height),
                    200 - (x * 150 // width) if band else 230,
                )
            )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


async def message_with(page: Page, name: str) -> None:
    await expect(page.get_by_role("button", name=f"Download {name}", exact=True)).to_be_visible(
        timeout=SEEN
    )


async def test_share_a_file_and_a_picture_and_download_them(
    daphne_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    alice = await found_open_workspace(browser, daphne_server, "filesweb", "alice")
    bob = await join_open_workspace(browser, daphne_server, "filesweb", "bob")
    for page in (alice, bob):
        await page.set_viewport_size({"width": 1280, "height": 900})
        await open_rooms(page, daphne_server, "filesweb")
    label = await create_room(alice, "Private room", ["bob"])
    await send(alice, "Here are the figures and a picture of the board.")
    await choose_room(bob, "Private room with alice")
    await expect(bob.get_by_text("Here are the figures")).to_be_visible(timeout=SEEN)

    report = tmp_path / "figures-2024.bin"
    content = os.urandom(3 * MIB + 4321)
    report.write_bytes(content)
    picture = tmp_path / "board.png"
    picture.write_bytes(png_bytes(640, 400))

    # The paperclip opens a file chooser; the hidden input is what receives the files.
    attach = alice.get_by_role("button", name="Attach files")
    await expect(attach).to_be_visible()
    async with alice.expect_file_chooser() as chooser_info:
        await attach.click()
    chooser = await chooser_info.value
    assert chooser.is_multiple()
    await chooser.set_files([str(report), str(picture)])

    # The upload shows above the composer while it runs (the network slowed
    # down for a moment, so that there is something to see).
    network = await alice.context.new_cdp_session(alice)
    await network.send("Network.enable")
    await network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": MIB},
    )
    upload = alice.get_by_role("group", name="Upload of figures-2024.bin")
    bar = upload.get_by_role("progressbar", name="Uploading figures-2024.bin")
    await expect(bar).to_be_visible()
    await expect(
        upload.get_by_role("button", name="Cancel upload of figures-2024.bin")
    ).to_be_visible()
    await expect(alice.get_by_role("group", name="Upload of board.png")).to_be_visible()
    progress = upload.locator(".transfer__text")
    await expect(progress).to_have_text(
        re.compile(r"^\d+\.\d MB of 3\.0 MB · [\d.]+ [KM]B/s · \d+ s left$"), timeout=SEEN
    )
    await alice.screenshot(path=str(ARTIFACTS / "files-upload-progress.png"), full_page=True)
    await assert_no_serious_violations(alice, "uploads")
    await choose_theme(alice, "System")
    snapshot = await alice.evaluate("window.__pipoTest.fileUploads()")
    assert [(each["name"], each["totalBytes"]) for each in snapshot] == [
        ("figures-2024.bin", len(content)),
        ("board.png", picture.stat().st_size),
    ]
    await network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    await message_with(alice, "figures-2024.bin")
    await message_with(alice, "board.png")
    await expect(alice.get_by_role("group", name="Upload of figures-2024.bin")).to_have_count(
        0, timeout=SEEN
    )
    await expect(alice.get_by_role("group", name="Upload of board.png")).to_have_count(
        0, timeout=SEEN
    )
    # A file is not editable, but its sender may delete it.
    own = alice.locator(".message", has=alice.get_by_role("button", name="Download board.png"))
    await own.hover()
    await expect(own.get_by_role("button", name="Edit message")).to_have_count(0)
    await expect(own.get_by_role("button", name="Delete message")).to_be_visible()

    # bob sees both, in the order they were chosen, with names and sizes.
    await message_with(bob, "figures-2024.bin")
    await message_with(bob, "board.png")
    messages = bob.get_by_role("list", name="Messages")
    files = messages.locator(".file__name")
    await expect(files).to_have_text(["figures-2024.bin", "board.png"])
    sizes = messages.locator(".file__size")
    await expect(sizes).to_have_text(["3.0 MB", re.compile(r"^\d+\.\d KB$")])
    thumbnail = bob.get_by_role("img", name="board.png", exact=True)
    await expect(thumbnail).to_be_visible(timeout=SEEN)
    assert await thumbnail.evaluate("(img) => img.naturalWidth") == 320
    assert await thumbnail.evaluate("(img) => img.naturalHeight") == 200
    assert (await thumbnail.get_attribute("src") or "").startswith("data:image/jpeg;base64,")
    await bob.screenshot(path=str(ARTIFACTS / "files-messages.png"), full_page=True)
    await assert_no_serious_violations(bob, "file messages")
    await bob.screenshot(path=str(ARTIFACTS / "files-messages-dark.png"), full_page=True)
    await choose_theme(bob, "System")
    await bob.set_viewport_size({"width": 360, "height": 780})
    board = bob.get_by_role("button", name="Download board.png", exact=True)
    await board.scroll_into_view_if_needed()
    await bob.screenshot(path=str(ARTIFACTS / "files-messages-360.png"))
    await bob.set_viewport_size({"width": 1280, "height": 900})

    # The download is decrypted in bob's browser and saved under its real name.
    async with bob.expect_download(timeout=60_000) as waiting:
        await bob.get_by_role("button", name="Download figures-2024.bin", exact=True).click()
    download = await waiting.value
    assert download.suggested_filename == "figures-2024.bin"
    saved = tmp_path / "saved.bin"
    await download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(content).hexdigest()
    await expect(bob.get_by_role("progressbar", name="Downloading figures-2024.bin")).to_have_count(
        0
    )

    # The picture opens full size in a dialog (downloaded and decrypted); Escape closes it.
    opener = bob.get_by_role("button", name="Open board.png full size")
    await opener.click()
    dialog = bob.get_by_role("dialog", name="board.png")
    await expect(dialog).to_be_visible()
    full = dialog.get_by_role("img", name="board.png, full size")
    await expect(full).to_be_visible(timeout=SEEN)
    for _ in range(50):
        if await full.evaluate("(img) => img.complete && img.naturalWidth > 0"):
            break
        await asyncio.sleep(0.1)
    assert await full.evaluate("(img) => [img.naturalWidth, img.naturalHeight]") == [640, 400]
    assert (await full.get_attribute("src") or "").startswith("blob:")
    await bob.screenshot(path=str(ARTIFACTS / "files-image-open.png"))
    assert await axe_serious(bob, "image dialog") == []
    await bob.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(opener).to_be_focused()
    # ...and the "Close" button closes it too.
    await opener.click()
    await expect(dialog.get_by_role("img", name="board.png, full size")).to_be_visible(timeout=SEEN)
    await dialog.get_by_role("button", name="Close").click()
    await expect(dialog).to_have_count(0)

    # Dropping files onto the room shows where they go, and shares them.
    await alice.evaluate(
        """() => {
          const data = new DataTransfer();
          data.items.add(new File(["dropped by alice"], "notes.txt", {type: "text/plain"}));
          const room = document.querySelector(".messages");
          room.dispatchEvent(new DragEvent("dragenter", {bubbles: true, dataTransfer: data}));
          room.dispatchEvent(new DragEvent("dragover", {bubbles: true, dataTransfer: data}));
          window.__dropData = data;
        }"""
    )
    await expect(alice.get_by_text(f"Drop files to share in {label}")).to_be_visible()
    await alice.screenshot(path=str(ARTIFACTS / "files-drop-overlay.png"))
    await alice.evaluate(
        """() => document.querySelector(".messages").dispatchEvent(new DragEvent("drop", {
          bubbles: true, cancelable: true, dataTransfer: window.__dropData,
        }))"""
    )
    await expect(alice.get_by_text(f"Drop files to share in {label}")).to_have_count(0)
    await message_with(bob, "notes.txt")

    # A file shared from a thread's composer goes into that thread.
    text = alice.get_by_role("list", name="Messages").locator(
        ".message", has_text="Here are the figures"
    )
    await text.hover()
    await text.get_by_role("button", name="Reply in thread").click()
    thread = alice.get_by_role("complementary", name="Thread")
    minutes = tmp_path / "minutes.txt"
    minutes.write_text("the minutes of the meeting\n")
    await thread.get_by_label("Files to attach").set_input_files(str(minutes))
    await expect(thread.get_by_role("button", name="Download minutes.txt")).to_be_visible(
        timeout=SEEN
    )
    await expect(text.get_by_role("button", name="1 reply")).to_be_visible(timeout=SEEN)
    bob_text = bob.get_by_role("list", name="Messages").locator(
        ".message", has_text="Here are the figures"
    )
    await bob_text.get_by_role("button", name="1 reply").click(timeout=SEEN)
    bob_thread = bob.get_by_role("complementary", name="Thread")
    await expect(bob_thread.get_by_role("button", name="Download minutes.txt")).to_be_visible()
    await expect(
        bob.get_by_role("list", name="Messages").get_by_role("button", name="Download minutes.txt")
    ).to_have_count(0)
    await bob.screenshot(path=str(ARTIFACTS / "files-thread.png"))
