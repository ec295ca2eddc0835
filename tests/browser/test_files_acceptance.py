"""Encrypted files end to end (#7), in real Chromium against a live Daphne,
PostgreSQL and Redis: a 50 MiB file arrives byte-identical and its name is
nowhere on the server; an upload cut at half resumes without a duplicated or
missing chunk; a tampered, reordered or truncated file is refused by the
downloading browser, which says why; a 1 GiB upload keeps the browser's
memory bounded.
"""

import asyncio
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Download, Page, expect

from files.models import EncryptedFile
from protocol.file_stream import (
    FILE_CHUNK_BYTES,
    FILE_CHUNK_OVERHEAD_BYTES,
    FILE_STREAM_HEADER_BYTES,
    stream_size,
)
from tests.browser.rooms_flows import (
    choose_room,
    create_room,
    found_open_workspace,
    join_open_workspace,
    open_rooms,
)
from tests.browser.server_inspection import (
    assert_nowhere,
    data_dir_files,
    database_dump,
    redis_dump,
)
from tests.conftest import (
    ARTIFACTS,
    CHROMIUM,
    LiveServer,
    database_url_for_tests,
    start_live_server,
    wait_for_other_sessions_to_end,
)
from tests.services import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)

MIB = 1024 * 1024
STORED_CHUNK = FILE_CHUNK_BYTES + FILE_CHUNK_OVERHEAD_BYTES


def random_file(path: Path, size: int) -> str:
    """Write `size` random bytes to `path`; returns their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as handle:
        left = size
        while left:
            block = os.urandom(min(left, 4 * MIB))
            digest.update(block)
            handle.write(block)
            left -= len(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(4 * MIB):
            digest.update(block)
    return digest.hexdigest()


async def two_in_a_room(browser: Browser, server: LiveServer, slug: str) -> tuple[Page, Page]:
    """ann founds `slug`, bea joins, ann makes a private room with bea; both show it."""
    ann = await found_open_workspace(browser, server, slug, "ann")
    bea = await join_open_workspace(browser, server, slug, "bea")
    for page in (ann, bea):
        await open_rooms(page, server, slug)
    await create_room(ann, "Private room", ["bea"])
    await choose_room(bea, "Private room with ann")
    return ann, bea


async def attach(page: Page, *paths: Path) -> None:
    await page.get_by_label("Files to attach").set_input_files([str(path) for path in paths])


async def wait_until_uploaded(page: Page, name: str, timeout_s: float = 120.0) -> None:
    """The upload finished and its message is in the room (the progress row is gone)."""
    await expect(page.get_by_role("button", name=f"Download {name}", exact=True)).to_be_visible(
        timeout=timeout_s * 1000
    )
    await expect(page.get_by_role("group", name=f"Upload of {name}")).to_have_count(
        0, timeout=timeout_s * 1000
    )


async def download(page: Page, name: str, into: Path, timeout_s: float = 120.0) -> Path:
    button = page.get_by_role("button", name=f"Download {name}", exact=True)
    await expect(button).to_be_visible(timeout=60_000)
    async with page.expect_download(timeout=timeout_s * 1000) as waiting:
        await button.click()
    saved: Download = await waiting.value
    assert saved.suggested_filename == name
    target = into / f"downloaded-{uuid.uuid4().hex[:8]}-{name}"
    await saved.save_as(target)
    return target


async def stored_files(slug: str) -> list[EncryptedFile]:
    return [
        stored
        async for stored in EncryptedFile.objects.filter(tenant__slug=slug).order_by("created_at")
    ]


def stored_path(data_dir: Path, stored: EncryptedFile) -> Path:
    return data_dir / "files" / str(stored.tenant_id) / str(stored.id)


async def test_a_50_mib_file_arrives_byte_identical_and_its_name_is_nowhere_on_the_server(
    watched: tuple[LiveServer, RedisServer, Path], browser: Browser, tmp_path: Path
) -> None:
    server, redis, data_dir = watched
    canary = f"canary-{uuid.uuid4().hex}"
    name = f"{canary}.bin"
    original = tmp_path / name
    expected_hash = random_file(original, 50 * MIB)
    ann, bea = await two_in_a_room(browser, server, "filesfifty")

    await attach(ann, original)
    await wait_until_uploaded(ann, name)
    saved = await download(bea, name, tmp_path)
    assert file_sha256(saved) == expected_hash

    # The server holds exactly the stream: 50 chunks of ciphertext, nothing else.
    (stored,) = await stored_files("filesfifty")
    assert stored.state == "complete"
    on_disk = stored_path(data_dir, stored)
    assert on_disk.stat().st_size == stream_size(50 * MIB)
    with on_disk.open("rb") as handle:
        assert handle.read(FILE_STREAM_HEADER_BYTES + 4096) not in original.read_bytes()

    dump = await database_dump()
    assert str(stored.id).encode() in dump  # the dump is real: it has the file's row
    log = server.log.read_bytes()
    assert f"/api/files/{stored.id}".encode() in log  # the log is real: it has the download
    places = {"database dump": dump, "server log": log, "redis dump": redis_dump(redis)}
    places.update(
        {where: content for where, content in data_dir_files(data_dir).items() if content}
    )
    assert_nowhere(canary, places)


async def test_an_upload_cut_at_half_resumes_and_stores_every_chunk_once(
    watched: tuple[LiveServer, RedisServer, Path], browser: Browser, tmp_path: Path
) -> None:
    server, _redis, data_dir = watched
    name = "halfway.bin"
    original = tmp_path / name
    size = 24 * MIB + 12_345
    expected_hash = random_file(original, size)
    ann, bea = await two_in_a_room(browser, server, "filescut")

    await attach(ann, original)
    # Cut every upload socket once about half of the file is acknowledged.
    for _ in range(600):
        uploads = await ann.evaluate("window.__pipoTest.fileUploads()")
        if uploads and uploads[0]["sentBytes"] >= size // 2:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the upload never reached half: {uploads}")
    assert uploads[0]["sentBytes"] < size, "the upload finished before it could be cut"
    await ann.evaluate("window.__pipoTest.dropFileSockets()")

    await wait_until_uploaded(ann, name)
    # Resumed, not started over: one upload, complete, exactly the stream's size.
    (stored,) = await stored_files("filescut")
    assert stored.state == "complete"
    assert stored_path(data_dir, stored).stat().st_size == stream_size(size)
    saved = await download(bea, name, tmp_path)
    assert file_sha256(saved) == expected_hash


def flip_a_byte(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.seek(FILE_STREAM_HEADER_BYTES + STORED_CHUNK + 1000)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0x01]))


def swap_the_first_two_chunks(path: Path) -> None:
    data = path.read_bytes()
    first = data[FILE_STREAM_HEADER_BYTES : FILE_STREAM_HEADER_BYTES + STORED_CHUNK]
    second = data[
        FILE_STREAM_HEADER_BYTES + STORED_CHUNK : FILE_STREAM_HEADER_BYTES + 2 * STORED_CHUNK
    ]
    path.write_bytes(
        data[:FILE_STREAM_HEADER_BYTES]
        + second
        + first
        + data[FILE_STREAM_HEADER_BYTES + 2 * STORED_CHUNK :]
    )


def drop_the_last_chunk(path: Path) -> None:
    with path.open("r+b") as handle:
        handle.truncate(FILE_STREAM_HEADER_BYTES + 2 * STORED_CHUNK)


async def test_a_tampered_reordered_or_truncated_file_is_refused_with_the_reason(
    watched: tuple[LiveServer, RedisServer, Path], browser: Browser, tmp_path: Path
) -> None:
    server, _redis, data_dir = watched
    ann, bea = await two_in_a_room(browser, server, "filestamper")
    cases = {
        "flipped.bin": (flip_a_byte, r"altered or reordered on the server \(chunk 2 "),
        "swapped.bin": (
            swap_the_first_two_chunks,
            r"altered or reordered on the server \(chunk 1 ",
        ),
        "truncated.bin": (drop_the_last_chunk, r"incomplete on the server \(it ends early\)"),
    }
    # One after the other, so that the order of the stored rows names them.
    for name in cases:
        path = tmp_path / name
        random_file(path, 2 * MIB + 5_000)  # three chunks
        await attach(ann, path)
        await wait_until_uploaded(ann, name)
    stored = dict(zip(cases, await stored_files("filestamper"), strict=True))
    downloads: list[Download] = []
    bea.on("download", lambda saved: downloads.append(saved))
    for name, (tamper, reason) in cases.items():
        tamper(stored_path(data_dir, stored[name]))
        await bea.get_by_role("button", name=f"Download {name}", exact=True).click()
        alert = bea.get_by_role("alert").filter(has_text=name)
        await expect(alert).to_have_text(re.compile(reason), timeout=60_000)
        await expect(alert).to_contain_text("it was not saved")
    await bea.screenshot(path=str(ARTIFACTS / "files-tampered.png"), full_page=True)
    assert downloads == [], "a tampered file was offered for saving"


def chromium_rss_bytes() -> int:
    """Resident memory of the Chromium processes this test run started
    (browser, renderers, GPU and network services), not anyone else's."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            executable = os.readlink(entry / "exe")
            status = (entry / "status").read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status if ":" in line)
        parents[int(entry.name)] = int(fields["PPid"])
        if Path(executable).name.startswith("chromium") or executable == CHROMIUM:
            rss[int(entry.name)] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid == os.getpid():
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(size for pid, size in rss.items() if ours(pid))


async def test_a_1_gib_upload_keeps_the_browsers_memory_bounded(
    daphne_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    name = "one-gibibyte.bin"
    original = tmp_path / name
    size = 1024 * MIB
    with original.open("wb") as handle:  # sparse: the content does not matter here
        handle.truncate(size)
    ann, _bea = await two_in_a_room(browser, daphne_server, "filesbig")
    await asyncio.sleep(1)
    baseline = chromium_rss_bytes()
    peak = baseline
    started = time.monotonic()
    await attach(ann, original)
    done = ann.get_by_role("button", name=f"Download {name}", exact=True)
    while not await done.is_visible():
        peak = max(peak, chromium_rss_bytes())
        assert time.monotonic() - started < 600, "the 1 GiB upload did not finish"
        await asyncio.sleep(0.25)
    elapsed = time.monotonic() - started
    growth = peak - baseline
    figures = (
        f"1 GiB upload: {elapsed:.1f} s ({size / MIB / elapsed:.0f} MiB/s); Chromium RSS "
        f"baseline {baseline / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB, "
        f"growth {growth / MIB:.0f} MiB\n"
    )
    (ARTIFACTS / "files-1gib-memory.txt").write_text(figures)
    print(figures)
    (stored,) = await stored_files("filesbig")
    assert stored.state == "complete"
    assert stored.stream_size == stream_size(size)
    # Bounded: a small fraction of the file, not the file (a whole-file read
    # would add at least 1 GiB, twice with its ciphertext).
    assert growth < 256 * MIB, figures


@pytest.fixture
def small_limits_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    """A live server whose file limit is 5 MiB and whose tenants may store 6 MiB."""
    server = start_live_server(
        f"files-limits-{uuid.uuid4().hex[:8]}",
        DATABASE_URL=database_url_for_tests(),
        PIPO_TEST_HOOKS="true",
        PIPO_MAX_FILE_BYTES=str(5 * MIB),
        PIPO_TENANT_QUOTA_BYTES=str(6 * MIB),
    )
    yield server
    server.stop()
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()


async def test_limits_and_cancel_say_what_happened_and_store_nothing(
    small_limits_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    ann, bea = await two_in_a_room(browser, small_limits_server, "fileslimits")
    too_large = tmp_path / "too-large.bin"
    random_file(too_large, 5 * MIB + 1)
    await attach(ann, too_large)
    alert = ann.get_by_role("alert").filter(has_text="too-large.bin")
    await expect(alert).to_contain_text(re.compile(r"larger than the .+ limit"), timeout=30_000)
    await ann.screenshot(path=str(ARTIFACTS / "files-limit.png"), full_page=True)

    first = tmp_path / "first.bin"
    random_file(first, 4 * MIB)
    await attach(ann, first)
    await wait_until_uploaded(ann, "first.bin")
    second = tmp_path / "second.bin"
    random_file(second, 4 * MIB)
    await attach(ann, second)
    alert = ann.get_by_role("alert").filter(has_text="second.bin")
    await expect(alert).to_contain_text("storage is full", timeout=30_000)

    # Only the one that fitted is stored, and bea sees only that one.
    stored = await stored_files("fileslimits")
    assert [row.state for row in stored] == ["complete"]
    await expect(bea.get_by_role("button", name="Download first.bin", exact=True)).to_be_visible(
        timeout=30_000
    )
    for refused in ("too-large.bin", "second.bin"):
        await expect(
            bea.get_by_role("button", name=f"Download {refused}", exact=True)
        ).to_have_count(0)


async def test_a_cancelled_upload_leaves_nothing_behind(
    watched: tuple[LiveServer, RedisServer, Path], browser: Browser, tmp_path: Path
) -> None:
    server, _redis, data_dir = watched
    ann, bea = await two_in_a_room(browser, server, "filescancel")
    name = "cancelled.bin"
    original = tmp_path / name
    random_file(original, 64 * MIB)
    await attach(ann, original)
    group = ann.get_by_role("group", name=f"Upload of {name}")
    await expect(group.get_by_role("progressbar", name=f"Uploading {name}")).to_be_visible(
        timeout=30_000
    )
    await ann.screenshot(path=str(ARTIFACTS / "files-uploading.png"), full_page=True)
    await group.get_by_role("button", name=f"Cancel upload of {name}").click()
    await expect(group).to_have_count(0, timeout=30_000)
    for _ in range(100):
        if not await stored_files("filescancel"):
            break
        await asyncio.sleep(0.1)
    assert await stored_files("filescancel") == []
    assert [path for path in (data_dir / "uploads").glob("*") if path.is_file()] == []
    await expect(bea.get_by_role("button", name=f"Download {name}", exact=True)).to_have_count(0)
