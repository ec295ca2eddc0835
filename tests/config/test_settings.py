"""Settings come from the environment, with safe defaults."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from tests.conftest import REPOSITORY

PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "name": str(settings.DATABASES["default"]["NAME"]),
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "secret": settings.SECRET_KEY,
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
}))
"""


def settings_with(environment: dict[str, str]) -> dict[str, object]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "PIPO_DOMAIN"}
    }
    output = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **environment},
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, object] = json.loads(output)
    return result


def test_the_suite_itself_runs_on_postgresql_and_redis() -> None:
    assert connection.vendor == "postgresql"
    layer = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    assert layer == "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_bare_machine_defaults_are_sqlite_in_data_dir_and_in_memory_layer(tmp_path: Path) -> None:
    found = settings_with({"DATA_DIR": str(tmp_path)})
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["name"] == str(tmp_path / "pipo.sqlite3")
    assert found["layer"] == "channels.layers.InMemoryChannelLayer"
    assert found["debug"] is False


def test_a_development_secret_key_is_generated_once_into_data_dir(tmp_path: Path) -> None:
    first = settings_with({"DATA_DIR": str(tmp_path)})["secret"]
    second = settings_with({"DATA_DIR": str(tmp_path)})["secret"]
    assert isinstance(first, str)
    assert len(first) >= 50
    assert first == second
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings_with({"DATA_DIR": str(tmp_path), "SECRET_KEY": "from-env"})["secret"] == (
        "from-env"
    )


def test_database_url_redis_url_and_domain_are_honoured(tmp_path: Path) -> None:
    found = settings_with(
        {
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://someone@db.internal:5432/pipo",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "PIPO_DOMAIN": "chat.example.org",
        }
    )
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert found["hosts"] == ["chat.example.org", ".chat.example.org"]


def test_the_secret_key_is_not_in_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "data/secret_key" not in tracked
    assert not any(path.endswith("secret_key") for path in tracked)
