"""Which built files a page loads, read from Vite's manifest.

`npm run build` writes hashed bundles and `.vite/manifest.json` under
frontend/static/frontend/dist/; a page links its entry's JavaScript and CSS
through Django's static URL so nginx can serve them in production. There are
two entries: the app's shell (`src/main.tsx`) and the admin panel's
"Approve (sign in browser)" page (`src/adminApproval.tsx`). Code both share
sits in chunks the entry imports itself; their CSS is listed here too.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

DIST_DIR = Path(__file__).resolve().parent / "static" / "frontend" / "dist"
MANIFEST = DIST_DIR / ".vite" / "manifest.json"
ENTRY = "src/main.tsx"
ADMIN_APPROVAL_ENTRY = "src/adminApproval.tsx"
STATIC_PREFIX = "frontend/dist/"


class FrontendNotBuiltError(RuntimeError):
    """The frontend has not been built (`make frontend`)."""


@dataclass(frozen=True)
class EntryAssets:
    script: str
    styles: tuple[str, ...]


def _styles(manifest: dict[str, Any], key: str, seen: set[str]) -> list[str]:
    """The CSS of `key` and of the chunks it imports statically, in load order."""
    if key in seen:
        return []
    seen.add(key)
    chunk = manifest[key]
    found: list[str] = []
    for imported in chunk.get("imports", []):
        found.extend(_styles(manifest, imported, seen))
    found.extend(chunk.get("css", []))
    return found


def _read_entry(name: str) -> EntryAssets:
    try:
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FrontendNotBuiltError(f"{MANIFEST} is missing: run `make frontend`") from None
    if name not in manifest:
        raise FrontendNotBuiltError(f"{MANIFEST} has no entry {name!r}: run `make frontend`")
    styles = dict.fromkeys(_styles(manifest, name, set()))
    return EntryAssets(
        script=STATIC_PREFIX + manifest[name]["file"],
        styles=tuple(STATIC_PREFIX + css for css in styles),
    )


@cache
def _cached_entry(name: str) -> EntryAssets:
    return _read_entry(name)


def entry_assets(name: str = ENTRY) -> EntryAssets:
    # Re-read on every request in DEBUG so a rebuild shows up without a restart.
    return _read_entry(name) if settings.DEBUG else _cached_entry(name)
