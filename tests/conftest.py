"""Shared fixtures: a live Daphne on the test database, and Debian's Chromium.

The suite runs against real PostgreSQL and Redis only: `make test` starts
both (tests/services.py) and passes DATABASE_URL and REDIS_URL down.
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.services import free_port

REPOSITORY = Path(__file__).resolve().parent.parent
ARTIFACTS = REPOSITORY / "test-artifacts"
# The live server's mail: one .log file per sent batch (Django's file backend).
OUTBOX = ARTIFACTS / "outbox"
CHROMIUM = os.environ.get("PIPO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
    pytest.exit(
        "The test suite runs against real PostgreSQL and Redis: use `make test`, or\n"
        "  .venv/bin/python -m tests.services -- .venv/bin/pytest tests/...\n"
        "(docs/DEVELOPMENT.md).",
        returncode=2,
    )

# Tests run in one asyncio loop (browser and websocket tests are async), and
# Django refuses ORM calls from a thread with a running loop (MACHINE_NOTES.md,
# pitfall 6). Test set-up may use the ORM directly; the live server is a
# separate process and keeps the check.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@dataclass
class LiveServer:
    """A Daphne process serving config.asgi, started by the test suite."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path
    environment: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def tenant_url(self, slug: str) -> str:
        """A tenant's address: Chromium resolves *.localhost to loopback."""
        return f"http://{slug}.localhost:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_live_server(log_name: str, *, port: int | None = None, **overrides: str) -> LiveServer:
    """Start `python -m config.serve` (on a free port) and wait until it answers."""
    port = port or free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{log_name}.log"
    environment = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **overrides}
    environment.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "config.serve"],
            cwd=REPOSITORY,
            env=environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(port, process, log, environment)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the live server exited: {log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except urllib.error.HTTPError:
            return server  # it answers, even if a dependency is down
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"the live server did not answer: {log.read_text(errors='replace')}")


def database_url_for_tests() -> str:
    """DATABASE_URL, pointed at the database pytest-django created."""
    from django.conf import settings

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name: str = settings.DATABASES["default"]["TEST"]["NAME"]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def daphne_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[LiveServer]:
    shutil.rmtree(OUTBOX, ignore_errors=True)
    OUTBOX.mkdir(parents=True)
    server = start_live_server(
        "live-server",
        DATABASE_URL=database_url_for_tests(),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(OUTBOX),
        PIPO_TEST_HOOKS="true",
    )
    yield server
    server.stop()
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()


def wait_for_other_sessions_to_end(timeout: float = 10.0) -> None:
    """PostgreSQL reaps a dead client's sessions a moment after it exits; the
    test database can only be dropped once they are gone."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row is None or row[0] == 0:
                return
            time.sleep(0.05)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@dataclass
class PageProblems:
    """What a person would not see but a broken page reports."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    async def csp_violations(self, page: Page) -> list[str]:
        violations: list[str] = await page.evaluate("window.__cspViolations ?? []")
        return violations


CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[tuple[Page, PageProblems]]:
    context = await browser.new_context()
    await context.add_init_script(CSP_PROBE)
    new_page = await context.new_page()
    problems = PageProblems()
    new_page.on(
        "console",
        lambda message: (
            problems.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    new_page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
    yield new_page, problems
    await context.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A live server reads the test database from another process, so its
    # tests need the database created and real (not rolled-back) transactions.
    for item in items:
        if "daphne_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture
def acme(db: None) -> Any:
    """Tenant 'acme': open signup. Its people are made by tests."""
    from accounts.models import SignupPolicy
    from tests.people import make_tenant

    return make_tenant("acme", "Acme", SignupPolicy.OPEN)


@pytest.fixture
def lear(db: None) -> Any:
    """Tenant 'lear': signups wait for an admin's approval."""
    from accounts.models import SignupPolicy
    from tests.people import make_tenant

    return make_tenant("lear", "Lear & Co", SignupPolicy.APPROVAL)


def read_outbox(recipient: str) -> list[str]:
    """Every message the live server sent to `recipient`, oldest first."""
    found = []
    for path in sorted(OUTBOX.glob("*.log"), key=lambda item: item.stat().st_mtime):
        for message in path.read_text(errors="replace").split("-" * 79):
            if f"To: {recipient}" in message:
                found.append(message)
    return found


def pytest_configure(config: pytest.Config) -> None:
    # Worker threads of the test process (database_sync_to_async) must not
    # keep connections open: the test database is dropped at the end.
    from django.conf import settings

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
