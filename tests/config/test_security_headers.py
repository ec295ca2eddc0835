"""Every response carries the security headers and a strict CSP."""

import re
from typing import Any

import pytest
from django.test import Client

from frontend.assets import MANIFEST


def csp_directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.parametrize("path", ["/", "/healthz", "/admin/login/", "/no-such-page"])
@pytest.mark.django_db
def test_every_page_carries_the_security_headers(client: Client, path: str, acme: Any) -> None:
    if path == "/" and not MANIFEST.exists():
        pytest.fail("frontend not built: run `make frontend`")
    response = client.get(path, HTTP_HOST="acme.localhost")
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["default-src"] == "'none'"
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in csp["script-src"].replace("'wasm-unsafe-eval'", "")
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_the_shell_has_no_inline_script_and_its_entry_carries_the_nonce(
    client: Client, acme: Any
) -> None:
    first = client.get("/", HTTP_HOST="acme.localhost")
    second = client.get("/", HTTP_HOST="acme.localhost")
    html = first.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", first["Content-Security-Policy"])
    assert nonce is not None
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts, "the shell loads its entry script"
    for attributes, body in scripts:
        assert body.strip() == "", "no inline script"
        assert 'src="/static/frontend/dist/' in attributes
        assert f'nonce="{nonce.group(1)}"' in attributes
    assert " style=" not in html
    assert "<style" not in html
    # A fresh nonce for every response.
    assert first["Content-Security-Policy"] != second["Content-Security-Policy"]


@pytest.mark.django_db
def test_an_unknown_host_is_refused(client: Client) -> None:
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400
