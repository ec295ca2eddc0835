"""Reading settings from the environment: typed, with safe defaults.

Only `config/settings.py` should call these; everything else reads
`django.conf.settings`.
"""

import os
import secrets
from pathlib import Path


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def secret_key_from(data_dir: Path) -> str:
    """``SECRET_KEY`` from the environment, else one generated once into DATA_DIR.

    The generated key lives beside the data it protects (sessions, signed
    tokens), readable by the server's user only, and is never committed.
    """
    from_environment = os.environ.get("SECRET_KEY", "").strip()
    if from_environment:
        return from_environment
    key_file = data_dir / "secret_key"
    try:
        return key_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    # O_EXCL: if two processes start at once, the second reads the first's key.
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
