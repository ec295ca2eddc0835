"""The deployment recipe, booted (#8): PostgreSQL, Redis, two Daphne workers
started from deploy/systemd/pipo@.service and nginx running
deploy/nginx/pipo.conf with TLS on loopback, all from the files in deploy/
rendered with this test's ports and paths (tests/deploy/stack.py).

- nginx's edges: TLS 1.2/1.3 with AEAD ciphers only and a wildcard
  certificate, HTTP redirected to HTTPS on the right port, unknown names
  refused, HSTS once, static files from nginx, body limits.
- Two people in real Chromium over HTTPS, each on a different worker, chat in
  real time (each message crosses workers through Redis); a file uploads over
  the upload socket and downloads through X-Accel-Redirect (nginx sends the
  bytes). Then the worker of one of them is SIGKILLed mid-conversation: that
  browser reconnects through nginx to the other worker and both end with
  every message exactly once, as stored.
- deploy/backup.sh backs the running instance up and restores it into an
  empty PostgreSQL and an empty DATA_DIR; the restored instance, behind its
  own nginx, serves the same room, messages (decrypted in a new browser after
  logging in) and file.
"""

import asyncio
import hashlib
import json
import os
import re
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from redis import Redis

from tests.browser.accounts_flows import expect_signed_in, keep_recovery_code, log_in, sign_up
from tests.browser.room_conversations import wait_until_held
from tests.browser.rooms_flows import (
    STRONG,
    choose_room,
    create_room,
    join_open_workspace,
    new_page,
    open_rooms,
    room_messages,
    send,
)
from tests.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, REPOSITORY
from tests.deploy.stack import (
    DEPLOY,
    DOMAIN,
    Certificates,
    Deployment,
    Front,
    ServiceUnit,
    http_request,
    https_request,
    make_certificates,
    new_deployment,
    stored_file_path,
    tear_down,
    wait_until,
)
from tests.services import RedisServer

SLUG = "deployed"
SEEN_MS = 30_000
MIB = 1024 * 1024
ACCEL = "/_pipo_files/"  # PIPO_FILES_X_ACCEL_REDIRECT in pipo.env.example
HSTS = "max-age=63072000; includeSubDomains"


@dataclass
class Conversation:
    """What the running instance holds, for the restored one to match."""

    room: str
    texts: list[str]
    stored: list[tuple[int, str]]
    file_name: str
    file_sha256: str


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"), DOMAIN)


@pytest.fixture(scope="module")
def deployment(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> Iterator[Deployment]:
    stack = new_deployment("main", tmp_path_factory.mktemp("deploy"), certificates, workers=2)
    try:
        stack.boot()
        yield stack
    finally:
        tear_down(stack)


@pytest.fixture(scope="module")
async def chromium() -> AsyncIterator[Browser]:
    """Chromium for this module only: it accepts the test CA's certificate
    (the TLS checks below verify it properly, from Python)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--ignore-certificate-errors"]
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def recorded() -> dict[str, Conversation]:
    return {}


def front_of(deployment: Deployment) -> Front:
    assert deployment.front is not None
    return deployment.front


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- nginx's edges, from Python ------------------------------------------------


def test_nginx_serves_tls_redirects_http_and_refuses_strangers(
    deployment: Deployment, certificates: Certificates
) -> None:
    port, ca = deployment.https_port, certificates.ca
    tenant_host = f"acme.{DOMAIN}"

    # The wildcard certificate verifies for the bare domain and any tenant;
    # TLS 1.3 by default, 1.2 with an AEAD cipher, never a CBC one.
    shell = https_request(port, tenant_host, "/login?next=1", ca=ca)
    assert shell.tls_version == "TLSv1.3"
    assert https_request(port, DOMAIN, "/healthz", ca=ca).status == 200
    tls12 = ssl.create_default_context(cafile=str(ca))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    assert https_request(port, tenant_host, "/healthz", ca=ca, context=tls12).status == 200
    cbc = ssl.create_default_context(cafile=str(ca))
    cbc.maximum_version = ssl.TLSVersion.TLSv1_2
    cbc.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA")
    with pytest.raises(ssl.SSLError):
        https_request(port, tenant_host, "/healthz", ca=ca, context=cbc)
    # A name that is not ours gets no certificate at all.
    with pytest.raises(ssl.SSLError):
        https_request(port, "chat.example.net", "/", ca=ca)

    # Pages come from a worker, with Django's headers and nginx's HSTS, once.
    assert shell.status == 404  # no workspace "acme" (yet), and no stack trace
    assert shell.headers.get_all("Strict-Transport-Security") == [HSTS]
    assert "default-src 'none'" in (shell.headers["Content-Security-Policy"] or "")
    assert shell.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in shell.headers or "nginx/" not in shell.headers["Server"]

    # Plain HTTP: a redirect to the same address on HTTPS (and nginx's port).
    moved = http_request(deployment.http_port, tenant_host, "/app/rooms?x=1")
    assert moved.status == 301
    assert moved.headers["Location"] == f"https://{tenant_host}:{port}/app/rooms?x=1"

    # Static files: from STATIC_ROOT by nginx (no worker sees the request),
    # hashed bundles cached for a year.
    manifest = REPOSITORY / "frontend" / "static" / "frontend" / "dist" / ".vite" / "manifest.json"
    bundle = "/static/frontend/dist/" + json.loads(manifest.read_text())["src/main.tsx"]["file"]
    script = https_request(port, tenant_host, bundle, ca=ca)
    assert script.status == 200
    assert script.headers["Content-Type"] == "application/javascript"
    assert "immutable" in (script.headers["Cache-Control"] or "")
    assert script.headers.get_all("Strict-Transport-Security") == [HSTS]
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert all(bundle not in worker.log_text() for worker in deployment.workers)

    # Request bodies over the limit stop at nginx; the files location is internal.
    too_big = https_request(
        port,
        tenant_host,
        "/api/login",
        ca=ca,
        method="POST",
        headers={"Content-Type": "application/json"},
        body=b"x" * (3 * MIB),
    )
    assert too_big.status == 413
    assert https_request(port, tenant_host, f"{ACCEL}1/x", ca=ca).status == 404

    # A websocket through nginx whose Origin is another tenant is refused by
    # the relay: the Host it sees carries nginx's port, as the Origin does.
    upgrade = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    other = https_request(
        port, tenant_host, "/ws/", ca=ca, headers={**upgrade, "Origin": f"https://x.{DOMAIN}"}
    )
    assert other.status == 403


def test_the_upload_collection_unit_runs(deployment: Deployment) -> None:
    """pipo-gc-uploads.service's command, as its timer starts it."""
    unit = ServiceUnit.parse(deployment.render("systemd/pipo-gc-uploads.service"))
    done = subprocess.run(
        unit.exec_start,
        cwd=unit.working_directory,
        env=unit.process_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 expired upload(s), 0 stray .part file(s) removed." in done.stdout


# --- Browsers on two workers ---------------------------------------------------


async def found_workspace(browser: Browser, deployment: Deployment, root: str) -> Page:
    """The operator creates the workspace (deploy/manage.sh create_tenant), and
    `root` founds it in a browser through nginx."""
    front = front_of(deployment)
    printed = await asyncio.to_thread(
        deployment.manage, "create_tenant", SLUG, "--name", "Deployed", "--policy", "open"
    )
    assert f"Workspace 'Deployed': {front.tenant_url(SLUG)}/" in printed, printed
    found = re.search(r"/signup(#e=[A-Za-z0-9_-]+)", printed)
    assert found is not None, printed
    page = await new_page(browser)
    await sign_up(page, front.tenant_url(SLUG), root, STRONG, fragment=found.group(1))
    await keep_recovery_code(page)
    await expect_signed_in(page, root)
    await expect(page.locator("#app")).to_have_attribute("data-chain", "verified", timeout=SEEN_MS)
    return page


def new_relay_socket(deployment: Deployment, before: dict[int, int]) -> int:
    """The worker whose log shows the one relay socket opened since `before`."""

    def grown() -> dict[int, int]:
        now = deployment.relay_connects()
        return {port: count - before[port] for port, count in now.items() if count > before[port]}

    wait_until(lambda: bool(grown()), "a relay socket in a worker's log", 30)
    grew = grown()
    assert list(grew.values()) == [1], f"expected one new relay socket, the logs show {grew}"
    return next(iter(grew))


async def open_rooms_on_a_worker(page: Page, deployment: Deployment, *, not_on: int) -> int:
    """Open the rooms page and return the worker its relay socket landed on.

    nginx (least_conn) sends a new websocket to the worker holding fewest
    connections, which is the one the other person is not on; should a
    page request still in flight tip the balance, the page opens again,
    and the worker logs say where it landed each time."""
    for _ in range(5):
        before = deployment.relay_connects()
        await open_rooms(page, front_of(deployment), SLUG)
        port = await asyncio.to_thread(new_relay_socket, deployment, before)
        if port != not_on:
            return port
    raise AssertionError(f"the page kept landing on worker {not_on}")


def redis_publishes(server: RedisServer) -> int:
    """How many PUBLISH commands Redis has run (the channel layer's fan-out)."""
    client = Redis.from_url(server.url)
    try:
        stats: dict[str, Any] = client.info("commandstats")
    finally:
        client.close()
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


async def say_round(ann: Page, bea: Page, number: int) -> list[str]:
    """Both type at once, without waiting for acknowledgements."""
    texts = [f"ann #{number}", f"bea #{number}"]
    await asyncio.gather(send(ann, texts[0]), send(bea, texts[1]))
    return texts


async def fetch_in(page: Page, path: str, headers: dict[str, str] | None = None) -> Any:
    """A same-origin fetch by the page (its cookies, through nginx)."""
    return await page.evaluate(
        """async ([path, headers]) => {
          const response = await fetch(path, {headers});
          const body = new Uint8Array(await response.arrayBuffer());
          return {
            status: response.status,
            headers: Object.fromEntries(response.headers),
            body: Array.from(body.slice(0, 4096)),
            length: body.length,
          };
        }""",
        [path, headers or {}],
    )


async def attach_and_share(page: Page, path: Path) -> None:
    await page.get_by_label("Files to attach").set_input_files(str(path))


async def download(page: Page, name: str, into: Path) -> bytes:
    button = page.get_by_role("button", name=f"Download {name}", exact=True)
    await expect(button).to_be_visible(timeout=60_000)
    async with page.expect_download(timeout=60_000) as waiting:
        await button.click()
    saved = await waiting.value
    assert saved.suggested_filename == name
    target = into / f"downloaded-{os.getpid()}-{name}"
    await saved.save_as(target)
    return target.read_bytes()


async def everyone_holds(
    deployment: Deployment, pages: dict[str, Page], room: str, texts: list[str]
) -> list[tuple[int, str]]:
    """Each page holds every message exactly once, acknowledged and readable,
    with the ids and seqs 1..N the database holds."""
    views = {name: await wait_until_held(page, room, texts, 90.0) for name, page in pages.items()}
    stored = await asyncio.to_thread(deployment.stored_messages, room)
    assert [seq for seq, _ in stored] == list(range(1, len(texts) + 1))
    assert len({message_id for _, message_id in stored}) == len(texts)
    for name, view in views.items():
        assert [(entry["seq"], entry["id"]) for entry in view] == stored, name
        assert sorted(entry["text"] or "" for entry in view) == sorted(texts), name
    return stored


async def test_two_workers_behind_nginx_chat_share_a_file_and_survive_a_sigkill(
    deployment: Deployment, chromium: Browser, recorded: dict[str, Conversation], tmp_path: Path
) -> None:
    front = front_of(deployment)
    first, second = deployment.workers

    # ann founds the workspace and bea joins; each rooms page on its own worker.
    ann = await found_workspace(chromium, deployment, "ann")
    bea = await join_open_workspace(chromium, front, SLUG, "bea")
    ann_port = await open_rooms_on_a_worker(ann, deployment, not_on=-1)
    bea_port = await open_rooms_on_a_worker(bea, deployment, not_on=ann_port)
    assert {ann_port, bea_port} == {first.port, second.port}
    await asyncio.to_thread(
        wait_until,
        lambda: (
            {w.port: w.open_relay_sockets() for w in deployment.workers}
            == {ann_port: 1, bea_port: 1}
        ),
        "one relay socket on each worker",
        30,
    )
    ann_worker, bea_worker = deployment.worker(ann_port), deployment.worker(bea_port)

    opening = "ann: this room lives on two workers"
    assert await create_room(ann, "Private room", ["bea"]) == "Private room with bea"
    await send(ann, opening)
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(1, timeout=SEEN_MS)
    room = next(iter(await room_messages(ann)))
    await choose_room(bea, "Private room with ann")
    texts = [opening]
    await wait_until_held(bea, room, texts)

    # Real time across workers: each message reaches the other person's
    # socket, on the other worker, while nobody reconnects: through Redis.
    connects, publishes = deployment.relay_connects(), redis_publishes(deployment.redis)
    for number, (speaker, listener, name) in enumerate(
        ((ann, bea, "ann"), (bea, ann, "bea"), (ann, bea, "ann"), (bea, ann, "bea")), 1
    ):
        text = f"{name}, live #{number}"
        await send(speaker, text)
        texts.append(text)
        await wait_until_held(listener, room, texts, 20.0)
    assert deployment.relay_connects() == connects
    assert redis_publishes(deployment.redis) > publishes
    await bea.screenshot(path=str(ARTIFACTS / "deploy-two-workers.png"), full_page=True)

    # A file: uploaded over /ws/files/ through nginx, downloaded by bea with
    # X-Accel-Redirect: the worker checks and names the file, nginx sends it.
    file_name = "minutes-2024.bin"
    content = os.urandom(2 * MIB + 12_345)
    (tmp_path / file_name).write_bytes(content)
    await attach_and_share(ann, tmp_path / file_name)
    for page in (ann, bea):
        await expect(
            page.get_by_role("button", name=f"Download {file_name}", exact=True)
        ).to_be_visible(timeout=60_000)
    texts.append("")  # the file's message (no text)
    assert sha256(await download(bea, file_name, tmp_path)) == sha256(content)
    [(file_id, tenant_id, stream_size)] = deployment.query(
        "SELECT id::text, tenant_id, stream_size FROM files_encryptedfile WHERE state = 'complete'"
    )
    accel_line = f'200 {stream_size} "GET /api/files/{file_id} '
    served = [line for line in deployment.nginx_access_log().splitlines() if accel_line in line]
    assert served, deployment.nginx_access_log()
    assert served[0].endswith(f"accel={ACCEL}{tenant_id}/{file_id}"), served
    assert any(
        re.search(rf'"GET /api/files/{file_id}" 200 (-|0)$', worker.log_text(), re.M)
        for worker in deployment.workers
    ), "a worker answered the download without a body"
    stored_bytes = stored_file_path(deployment, tenant_id, file_id).read_bytes()
    part = await fetch_in(bea, f"/api/files/{file_id}", {"Range": "bytes=100-199"})
    assert part["status"] == 206
    assert bytes(part["body"]) == stored_bytes[100:200]
    assert part["headers"]["content-range"] == f"bytes 100-199/{stream_size}"
    assert part["headers"]["cache-control"] == "private, no-store"
    assert part["headers"]["x-content-type-options"] == "nosniff"
    assert part["headers"]["strict-transport-security"] == HSTS
    direct = await fetch_in(bea, f"{ACCEL}{tenant_id}/{file_id}")
    assert direct["status"] == 404

    # SIGKILL bea's worker in the middle of a round: her browser reconnects
    # through nginx to ann's worker and catches up; what she typed meanwhile
    # is sent once.
    ann_connects = ann_worker.relay_connects()
    for number in (1, 2):
        texts += await say_round(ann, bea, number)
    killing = asyncio.create_task(asyncio.to_thread(bea_worker.kill))
    texts += await say_round(ann, bea, 3)
    await killing
    for number in (4, 5):
        texts += await say_round(ann, bea, number)
    await asyncio.to_thread(
        wait_until,
        lambda: ann_worker.open_relay_sockets() == 2,
        "bea's browser on ann's worker",
        60,
    )
    assert ann_worker.relay_connects() > ann_connects
    assert not bea_worker.alive()
    for number in (6, 7):
        texts += await say_round(ann, bea, number)
    for page in (ann, bea):
        await expect(page.locator("#app")).to_have_attribute(
            "data-connection", "connected", timeout=SEEN_MS
        )
    stored = await everyone_holds(deployment, {"ann": ann, "bea": bea}, room, texts)
    for page in (ann, bea):
        await expect(page.locator(".message--pending")).to_have_count(0)
    await bea.screenshot(path=str(ARTIFACTS / "deploy-after-sigkill.png"), full_page=True)
    # The killed worker comes back (systemd's Restart=always) and takes new sockets.
    await asyncio.to_thread(deployment.start_worker, bea_worker.port)

    recorded["main"] = Conversation(room, texts, stored, file_name, sha256(content))
    for page in (ann, bea):
        await page.context.close()


# --- Backup and restore -------------------------------------------------------


async def make_conversation(
    browser: Browser, deployment: Deployment, directory: Path
) -> Conversation:
    """For this test alone (-k backup): a room with messages and a file."""
    front = front_of(deployment)
    ann = await found_workspace(browser, deployment, "ann")
    bea = await join_open_workspace(browser, front, SLUG, "bea")
    for page in (ann, bea):
        await open_rooms(page, front, SLUG)
    await create_room(ann, "Private room", ["bea"])
    texts = ["ann: backed up", "ann: and restored"]
    for text in texts:
        await send(ann, text)
    await expect(ann.locator(".message[data-state=ok]")).to_have_count(2, timeout=SEEN_MS)
    room = next(iter(await room_messages(ann)))
    file_name = "minutes-2024.bin"
    content = os.urandom(MIB + 777)
    (directory / file_name).write_bytes(content)
    await attach_and_share(ann, directory / file_name)
    await choose_room(bea, "Private room with ann")
    texts.append("")
    stored = await everyone_holds(deployment, {"ann": ann, "bea": bea}, room, texts)
    for page in (ann, bea):
        await page.context.close()
    return Conversation(room, texts, stored, file_name, sha256(content))


def backup_script(deployment: Deployment, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEPLOY / "backup.sh"), "--env", str(deployment.env_file), *arguments],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def test_backup_restores_into_an_empty_database_and_data_dir(
    deployment: Deployment,
    certificates: Certificates,
    chromium: Browser,
    recorded: dict[str, Conversation],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    conversation = recorded.get("main") or await make_conversation(chromium, deployment, tmp_path)
    backups = tmp_path_factory.mktemp("backups")
    made = await asyncio.to_thread(backup_script, deployment, "backup", str(backups))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert sorted(os.listdir(backup)) == ["SHA256SUMS", "data.tar.gz", "database.dump"]
    # Restoring over a database or DATA_DIR in use is refused.
    refused = await asyncio.to_thread(backup_script, deployment, "restore", str(backup))
    assert refused.returncode != 0
    assert "not empty" in refused.stderr

    restored = await asyncio.to_thread(
        new_deployment, "restored", tmp_path_factory.mktemp("restored"), certificates, workers=1
    )
    try:
        done = await asyncio.to_thread(backup_script, restored, "restore", str(backup))
        assert done.returncode == 0, done.stderr
        migrated = await asyncio.to_thread(restored.manage, "migrate", "--no-input")
        assert "No migrations to apply." in migrated
        await asyncio.to_thread(restored.manage, "collectstatic", "--no-input", "-v", "0")
        for port in restored.worker_ports:
            await asyncio.to_thread(restored.start_worker, port)
        front = await asyncio.to_thread(restored.start_nginx)
        assert restored.stored_messages(conversation.room) == conversation.stored
        assert (restored.data_dir / "secret_key").read_text() == (
            deployment.data_dir / "secret_key"
        ).read_text()

        # bea, in a browser that has never seen PiPo, logs in with her
        # password: her keys come from the restored key backup, and she
        # reads the restored room and downloads the restored file.
        page = await new_page(chromium)
        await log_in(page, front.tenant_url(SLUG), "bea", STRONG)
        await expect_signed_in(page, "bea")
        await expect(page.locator("#app")).to_have_attribute(
            "data-chain", "verified", timeout=SEEN_MS
        )
        await open_rooms(page, front, SLUG)
        await choose_room(page, "Private room with ann")
        held = await wait_until_held(page, conversation.room, conversation.texts, 60.0)
        assert [(entry["seq"], entry["id"]) for entry in held] == conversation.stored
        data = await download(page, conversation.file_name, tmp_path)
        assert sha256(data) == conversation.file_sha256
        assert f"accel={ACCEL}" in restored.nginx_access_log()
        await page.screenshot(path=str(ARTIFACTS / "deploy-restored.png"), full_page=True)
        await page.context.close()
    finally:
        tear_down(restored)
