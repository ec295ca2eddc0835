"""A live Daphne for the files tests: its own DATA_DIR, small limits, no
in-process collection (gc_uploads runs when a test says so)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.conftest import database_url_for_tests, start_live_server, wait_for_other_sessions_to_end
from tests.files.uploads import MAX_FILE_BYTES, QUOTA_BYTES, FilesServer


def start_files_server(log_name: str, data_dir: Path, **overrides: str) -> FilesServer:
    environment: dict[str, Any] = dict(
        DATABASE_URL=database_url_for_tests(),
        DATA_DIR=str(data_dir),
        # Sessions made by the test process must decode in the server.
        SECRET_KEY=settings.SECRET_KEY,
        PIPO_MAX_FILE_BYTES=str(MAX_FILE_BYTES),
        PIPO_TENANT_QUOTA_BYTES=str(QUOTA_BYTES),
        PIPO_UPLOAD_GC_INTERVAL_S="0",
        PIPO_RELAY_FRAME_BURST="100000",
        PIPO_RELAY_CONNECTION_BURST="100000",
    )
    server = start_live_server(log_name, **{**environment, **overrides})
    return FilesServer(server, data_dir)


@pytest.fixture(scope="session")
def files_server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FilesServer]:
    started = start_files_server("files-server", tmp_path_factory.mktemp("files-data"))
    yield started
    started.server.stop()
    with django_db_blocker.unblock():
        wait_for_other_sessions_to_end()
