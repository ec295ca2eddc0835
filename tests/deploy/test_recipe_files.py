"""The deployment files themselves (#8), without booting them: production
settings from the example environment pass `manage.py check --deploy`,
deploy/render.py fills every placeholder or refuses, and the rendered
systemd units pass `systemd-analyze verify` and its security review."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.render import (
    RenderError,
    read_env_file,
    render,
    render_file,
    template_values,
    upstream_servers,
)
from tests.conftest import REPOSITORY
from tests.deploy.stack import DEPLOY, ENV_EXAMPLE, ServiceUnit

UNITS = ("pipo@.service", "pipo-gc-uploads.service", "pipo-gc-uploads.timer")

PROBE = """
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
    "hsts_subdomains": settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "hsts_preload": settings.SECURE_HSTS_PRELOAD,
    "proxy_ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "behind_proxy": settings.PIPO_BEHIND_PROXY,
    "accel": settings.PIPO_FILES_X_ACCEL_REDIRECT,
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "database": settings.DATABASES["default"]["ENGINE"],
}))
"""


def example_environment(data_dir: Path, **overrides: str) -> dict[str, str]:
    """deploy/systemd/pipo.env.example, as a worker gets it, with DATA_DIR
    (and so the generated SECRET_KEY) in a scratch directory."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **read_env_file(ENV_EXAMPLE),
        "DATA_DIR": str(data_dir),
        "STATIC_ROOT": str(data_dir / "static"),
        **overrides,
    }


def run_python(arguments: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_check_deploy_passes_with_the_example_environment(tmp_path: Path) -> None:
    output = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        example_environment(tmp_path),
    )
    assert "System check identified no issues" in output


def test_the_example_environment_is_production(tmp_path: Path) -> None:
    found = json.loads(run_python(["-c", PROBE], example_environment(tmp_path)))
    assert found == {
        "debug": False,
        "hosts": ["chat.example.org", ".chat.example.org"],
        "session_secure": True,
        "csrf_secure": True,
        "ssl_redirect": True,
        "hsts": 63072000,
        "hsts_subdomains": True,
        "hsts_preload": False,
        "proxy_ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "behind_proxy": True,
        "accel": "/_pipo_files/",
        "layer": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "database": "django.db.backends.postgresql",
    }


def test_any_real_domain_is_secure_by_default_and_localhost_is_not(tmp_path: Path) -> None:
    """Forgetting a line of the example file must not make cookies insecure."""
    bare = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(tmp_path),
    }
    real = json.loads(run_python(["-c", PROBE], {**bare, "PIPO_DOMAIN": "chat.example.org"}))
    assert (real["session_secure"], real["csrf_secure"], real["ssl_redirect"]) == (True,) * 3
    assert real["hsts"] == 63072000
    assert real["proxy_ssl_header"] is None  # X-Forwarded-Proto is trusted only behind nginx
    local = json.loads(run_python(["-c", PROBE], bare))
    assert (local["session_secure"], local["ssl_redirect"], local["hsts"]) == (False, False, 0)


def test_render_fills_every_placeholder_and_refuses_a_missing_value(tmp_path: Path) -> None:
    values = template_values([read_env_file(ENV_EXAMPLE)])
    site = render_file(DEPLOY / "nginx" / "pipo.conf", values)
    assert "${" not in site
    assert site.count("server_name .chat.example.org;") == 2
    assert "    server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;" in site
    assert "    server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;" in site
    assert "return 301 https://$host$request_uri;" in site  # port 443: no suffix
    assert "alias /var/lib/pipo/files/;" in site
    assert "location ^~ /_pipo_files/ {" in site
    for unit in UNITS:
        assert "${" not in render_file(DEPLOY / "systemd" / unit, values), unit

    on_port = template_values([read_env_file(ENV_EXAMPLE), {"PIPO_PUBLIC_PORT": "8443"}])
    assert "https://$host:8443$request_uri" in render_file(DEPLOY / "nginx" / "pipo.conf", on_port)
    assert upstream_servers("worker-a:8000, worker-b:8000").splitlines() == [
        "    server worker-a:8000 max_fails=1 fail_timeout=5s;",
        "    server worker-b:8000 max_fails=1 fail_timeout=5s;",
    ]
    with pytest.raises(RenderError, match="TLS_CERTIFICATE"):
        render("ssl_certificate ${TLS_CERTIFICATE}; # $host stays", {})
    with pytest.raises(RenderError, match="PIPO_WORKERS"):
        upstream_servers("8001; rm -rf /")
    assert render("$host ${PIPO_DOMAIN} %i", {"PIPO_DOMAIN": "x.org"}) == "$host x.org %i"

    # The command line, as operators run it (a missing value: exit 1, a message).
    env_file = tmp_path / "pipo.env"
    env_file.write_text('PIPO_DOMAIN="quoted.example"\n# a comment\n\nDATA_DIR=/srv/pipo\n')
    command = [sys.executable, str(DEPLOY / "render.py"), "--env", str(env_file)]
    failed = subprocess.run(
        [*command, str(DEPLOY / "nginx" / "pipo.conf")], capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert "no value for TLS_CERTIFICATE, TLS_CERTIFICATE_KEY" in failed.stderr
    out = tmp_path / "pipo.conf"
    done = subprocess.run(
        [
            *command,
            "--set",
            "TLS_CERTIFICATE=/c.pem",
            "--set",
            "TLS_CERTIFICATE_KEY=/k.pem",
            str(DEPLOY / "nginx" / "pipo.conf"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "server_name .quoted.example;" in out.read_text()
    assert "alias /srv/pipo/static/;" in out.read_text()


def test_rendered_units_pass_systemd_analyze(tmp_path: Path) -> None:
    env_file = tmp_path / "pipo.env"
    # The units must point at a real interpreter for `verify`: this checkout's.
    env_file.write_text(ENV_EXAMPLE.read_text() + f"\nPIPO_HOME={REPOSITORY}\n")
    values = template_values([{"PIPO_ENV_FILE": str(env_file)}, read_env_file(env_file)])
    paths = []
    for unit in UNITS:
        name = unit.replace("@.", "@8001.")
        path = tmp_path / name
        path.write_text(render_file(DEPLOY / "systemd" / unit, values))
        paths.append(path)
    verified = subprocess.run(
        ["systemd-analyze", "verify", *map(str, paths)], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == "", verified.stderr
    for path in paths[:2]:
        review = subprocess.run(
            ["systemd-analyze", "security", "--offline=yes", str(path)],
            capture_output=True,
            text=True,
        )
        found = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", review.stdout)
        assert found is not None, review.stdout + review.stderr
        assert float(found.group(1)) <= 2.0, review.stdout  # systemd calls <= 2.0 "OK"

    worker = ServiceUnit.parse(paths[0].read_text(), instance="8001")
    assert worker.exec_start == [f"{REPOSITORY}/.venv/bin/python", "-m", "config.serve"]
    assert worker.environment["PORT"] == "8001"
    assert worker.environment["HOST"] == "127.0.0.1"
    assert worker.environment_files == [env_file]
    text = paths[0].read_text()
    for setting in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/pipo",
        "User=pipo",
    ):
        assert f"\n{setting}\n" in text, setting


def test_the_compose_file_runs_the_same_recipe() -> None:
    """deploy/compose.yaml cannot be booted here (no container engine): check
    that it wires the same pieces, and that the nginx site renders from the
    values it gives deploy/render.py."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"database", "redis", "migrate", "worker", "nginx-config", "nginx"} <= set(services)
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert {"database", "data"} <= set(compose["volumes"])
    assert "database:/var/lib/postgresql/data" in services["database"]["volumes"]
    assert "data:/var/lib/pipo" in services["worker"]["volumes"]
    assert "data:/var/lib/pipo:ro" in services["nginx"]["volumes"]
    assert (REPOSITORY / services["worker"]["build"]["dockerfile"]).exists()
    config = services["nginx-config"]
    assert config["command"][1:3] == ["deploy/render.py", "--environ"]
    environment = {
        name: re.sub(r"\$\{[^}]*\}", "x", str(value))
        for name, value in config["environment"].items()
    }
    site = render((DEPLOY / "nginx" / "pipo.conf").read_text(), template_values([environment]))
    assert "    server worker:8000 max_fails=1 fail_timeout=5s;" in site
    assert "alias /var/lib/pipo/files/;" in site
    worker = services["worker"]["environment"]
    assert worker["PIPO_FILES_X_ACCEL_REDIRECT"] == "/_pipo_files/"
    assert worker["PIPO_BEHIND_PROXY"] == "true"
