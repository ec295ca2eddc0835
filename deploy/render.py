#!/usr/bin/env python3
"""Render PiPo's deployment templates (deploy/nginx/, deploy/systemd/).

    python3 deploy/render.py --env /etc/pipo/pipo.env deploy/nginx/pipo.conf \
        -o /etc/nginx/sites-available/pipo.conf

The files under deploy/ are the real configuration, with `${NAME}` placeholders
(upper case) for what differs between machines: the domain, ports, paths, the
list of workers. Their values come from the same environment file the workers
read (deploy/systemd/pipo.env.example), then from `--environ` (this process's
environment) and `--set NAME=VALUE`, later sources winning. nginx's own
variables (`$host`, lower case) and systemd's specifiers (`%i`) are left alone.
A placeholder with no value is an error, so a missing setting never reaches
nginx or systemd as literal text. The test suite (tests/deploy/) renders these
same files with its own ports and paths and boots them.

Derived values, computed here:

- NGINX_UPSTREAM_SERVERS: one nginx `server` line per worker in PIPO_WORKERS
  (comma-separated `host:port`, or a bare port on 127.0.0.1).
- PIPO_PUBLIC_PORT_SUFFIX: `:<PIPO_PUBLIC_PORT>`, or nothing for 443.

Standard library only: it runs with Debian's python3 before the venv exists.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")

# Deployment knobs that have a sensible value on a Debian machine.
DEFAULTS = {
    "PIPO_HOME": "/opt/pipo",
    "PIPO_USER": "pipo",
    "PIPO_ENV_FILE": "/etc/pipo/pipo.env",
    "DATA_DIR": "/var/lib/pipo",
    "NGINX_HTTPS_LISTEN": "443",
    "NGINX_HTTP_LISTEN": "80",
    "PIPO_FILES_X_ACCEL_REDIRECT": "/_pipo_files/",
    "PIPO_PUBLIC_PORT": "",
    "PIPO_WORKERS": "8001,8002",
}
# Values that may legitimately be empty once rendered.
MAY_BE_EMPTY = frozenset({"PIPO_PUBLIC_PORT", "PIPO_PUBLIC_PORT_SUFFIX"})


class RenderError(Exception):
    """A template names a value nobody gave, or a value is malformed."""


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines as systemd's EnvironmentFile= reads them (the subset
    PiPo uses): blank lines and `#` comments skipped, one pair of surrounding
    quotes removed, later lines winning."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise RenderError(f"{path}:{number}: expected NAME=value, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return values


def upstream_servers(workers: str) -> str:
    """nginx `server` lines for `8001,8002` or `worker-a:8000,worker-b:8000`."""
    lines = []
    for item in re.split(r"[,\s]+", workers.strip()):
        if not item:
            continue
        address = f"127.0.0.1:{item}" if item.isdigit() else item
        if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]:]+:\d+", address):
            raise RenderError(f"PIPO_WORKERS: {item!r} is not a port or host:port")
        # A worker that refuses a connection is skipped for 5 s (SIGKILL,
        # restart); nginx then tries the next one for the same request.
        lines.append(f"    server {address} max_fails=1 fail_timeout=5s;")
    if not lines:
        raise RenderError("PIPO_WORKERS names no worker")
    return "\n".join(lines)


def template_values(sources: Iterable[Mapping[str, str]]) -> dict[str, str]:
    values = dict(DEFAULTS)
    for source in sources:
        values.update(source)
    values.setdefault("STATIC_ROOT", values["DATA_DIR"].rstrip("/") + "/static")
    values["NGINX_UPSTREAM_SERVERS"] = upstream_servers(values["PIPO_WORKERS"])
    port = values.get("PIPO_PUBLIC_PORT", "")
    values["PIPO_PUBLIC_PORT_SUFFIX"] = f":{port}" if port and port != "443" else ""
    accel = values.get("PIPO_FILES_X_ACCEL_REDIRECT", "")
    if accel and not (accel.startswith("/") and accel.endswith("/")):
        raise RenderError(f"PIPO_FILES_X_ACCEL_REDIRECT must start and end with '/': {accel!r}")
    return values


def render(template: str, values: Mapping[str, str]) -> str:
    missing = sorted(
        {
            name
            for name in PLACEHOLDER.findall(template)
            if not values.get(name) and name not in MAY_BE_EMPTY
        }
    )
    if missing:
        raise RenderError("no value for " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), template)


def render_file(template: Path, values: Mapping[str, str]) -> str:
    return render(template.read_text(encoding="utf-8"), values)


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("template", type=Path, help="a file under deploy/")
    parser.add_argument("-o", "--output", type=Path, help="where to write (default: stdout)")
    parser.add_argument(
        "--env", type=Path, action="append", default=[], help="an environment file (repeatable)"
    )
    parser.add_argument(
        "--environ", action="store_true", help="also read this process's environment"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="one value (repeatable)"
    )
    options = parser.parse_args(arguments)
    sources: list[Mapping[str, str]] = []
    try:
        for path in options.env:
            sources.append({"PIPO_ENV_FILE": str(path.resolve()), **read_env_file(path)})
        if options.environ:
            sources.append(dict(os.environ))
        for pair in options.set:
            name, equals, value = pair.partition("=")
            if not equals:
                raise RenderError(f"--set expects NAME=VALUE, got {pair!r}")
            sources.append({name: value})
        text = render_file(options.template, template_values(sources))
    except (OSError, RenderError) as error:
        print(f"render.py: {error}", file=sys.stderr)
        return 1
    if options.output is None:
        sys.stdout.write(text)
    else:
        options.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
