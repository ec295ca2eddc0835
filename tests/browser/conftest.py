"""Fixtures shared by the browser tests."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import (
    LiveServer,
    database_url_for_tests,
    start_live_server,
    wait_for_other_sessions_to_end,
)
from tests.services import RedisServer


@pytest.fixture
def watched(
    django_db_setup: None, django_db_blocker: Any, tmp_path: Path
) -> Iterator[tuple[LiveServer, RedisServer, Path]]:
    """A live server with its own DATA_DIR, log and Redis, logging everything it can."""
    data_dir = tmp_path / "data"
    redis = RedisServer().start()
    log_name = f"canary-server-{uuid.uuid4().hex[:8]}"
    server = start_live_server(
        log_name,
        DATABASE_URL=database_url_for_tests(),
        REDIS_URL=redis.url,
        DATA_DIR=str(data_dir),
        LOG_LEVEL="DEBUG",
        PIPO_TEST_HOOKS="true",
    )
    yield server, redis, data_dir
    server.stop()
    redis.remove()
    server.log.unlink(missing_ok=True)
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()


@pytest.fixture(autouse=True)
async def close_browser_contexts(browser: Browser) -> AsyncIterator[None]:
    """Each test's people close with it: the browser is shared by the whole
    session, and contexts left open keep their pages, sockets and memory."""
    yield
    for context in list(browser.contexts):
        await context.close()
