"""Which built files the shell page loads, read from Vite's manifest.

`npm run build` writes hashed bundles and `.vite/manifest.json` under
frontend/static/frontend/dist/; the shell links the entry's JavaScript and
CSS through Django's static URL so nginx can serve them in production.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings

DIST_DIR = Path(__file__).resolve().parent / "static" / "frontend" / "dist"
MANIFEST = DIST_DIR / ".vite" / "manifest.json"
ENTRY = "src/main.tsx"
STATIC_PREFIX = "frontend/dist/"


class FrontendNotBuiltError(RuntimeError):
    """The frontend has not been built (`make frontend`)."""


@dataclass(frozen=True)
class EntryAssets:
    script: str
    styles: tuple[str, ...]


def _read_entry() -> EntryAssets:
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FrontendNotBuiltError(f"{MANIFEST} is missing: run `make frontend`") from None
    entry = manifest[ENTRY]
    return EntryAssets(
        script=STATIC_PREFIX + entry["file"],
        styles=tuple(STATIC_PREFIX + css for css in entry.get("css", [])),
    )


@cache
def _cached_entry() -> EntryAssets:
    return _read_entry()


def entry_assets() -> EntryAssets:
    # Re-read on every request in DEBUG so a rebuild shows up without a restart.
    return _read_entry() if settings.DEBUG else _cached_entry()
