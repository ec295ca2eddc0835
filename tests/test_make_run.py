"""`make run` serves the shell on the embedded default (SQLite, in-memory layer)."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPOSITORY
from tests.services import free_port


def test_make_run_serves_the_shell_at_the_printed_url(tmp_path: Path) -> None:
    port = free_port()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "MAKEFLAGS"}
    }
    environment.update({"DATA_DIR": str(tmp_path / "data"), "PORT": str(port)})
    log = tmp_path / "make-run.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=REPOSITORY,
            env=environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and url is None:
            assert process.poll() is None, log.read_text(errors="replace")
            found = re.search(r"PiPo is serving at (http://\S+)", log.read_text(errors="replace"))
            url = found.group(1) if found else None
            time.sleep(0.2)
        assert url == f"http://localhost:{port}/"
        output = log.read_text(errors="replace")
        assert f"Workspace 'Demo': http://demo.localhost:{port}/" in output
        body = ""
        request = urllib.request.Request(f"http://127.0.0.1:{port}/login")
        request.add_header("Host", f"demo.localhost:{port}")
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    body = response.read().decode()
                    break
            except OSError:
                time.sleep(0.2)
        assert 'id="app"' in body
        assert 'data-tenant-name="Demo"' in body
        assert "/static/frontend/dist/assets/" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert json.loads(response.read())["status"] == "ok"
        assert (tmp_path / "data" / "pipo.sqlite3").exists()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
