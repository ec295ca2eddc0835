"""Tenants are resolved from the host, and nothing crosses from one to another."""

import json

import pytest
from django.test import Client
from django.urls import URLPattern

from accounts.models import Role, SignupPolicy, Tenant
from accounts.tenancy import BARE_DOMAIN, slug_from_host
from accounts.urls import urlpatterns
from tests.people import PASSWORD, make_person, make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("acme.localhost", "acme"),
        ("acme.localhost:8000", "acme"),
        ("ACME.LOCALHOST", "acme"),
        ("localhost:8000", BARE_DOMAIN),
        ("127.0.0.1:8000", BARE_DOMAIN),
        ("a.b.localhost", None),
        ("acme.example.org", None),
        ("localhost.evil", None),
    ],
)
def test_hosts_name_tenants(host: str, slug: str | None) -> None:
    assert slug_from_host(host, "localhost") == slug


def test_one_tenant_may_be_served_on_the_bare_domain(client: Client) -> None:
    assert client.get("/login", HTTP_HOST="localhost").status_code == 404
    from accounts.actions import check_create_tenant

    check_create_tenant(slug="solo", name="Solo", policy=SignupPolicy.OPEN, serves_bare_domain=True)
    page = client.get("/login", HTTP_HOST="localhost")
    assert page.status_code == 200
    assert 'data-tenant-slug="solo"' in page.content.decode()
    assert client.get("/api/tenant", HTTP_HOST="localhost").json()["slug"] == "solo"


def test_an_unknown_workspace_shows_a_plain_page_that_names_no_tenant(
    client: Client, acme: Tenant
) -> None:
    page = client.get("/login", HTTP_HOST="nobody.localhost")
    assert page.status_code == 404
    assert "No workspace here" in page.content.decode()
    assert "acme" not in page.content.decode().lower()


def api_paths() -> list[str]:
    return [f"/api/{pattern.pattern}" for pattern in urlpatterns if isinstance(pattern, URLPattern)]


def test_a_session_of_one_tenant_reads_nothing_of_another_through_any_endpoint(
    acme: Tenant,
) -> None:
    lear = make_tenant("lear", "Lear & Co", SignupPolicy.APPROVAL)
    secret_names = ["cordelia", "cordelia@lear.example"]
    make_person(lear, "cordelia", role=Role.ADMIN, email="cordelia@lear.example")
    acme_admin = make_person(acme, "wile", role=Role.ADMIN)
    client = Client()
    client.force_login(acme_admin.user, backend="accounts.backends.TenantBackend")
    assert client.get("/api/auth/me", HTTP_HOST="acme.localhost").status_code == 200
    for path in api_paths():
        for method in ("get", "post"):
            response = getattr(client, method)(
                path,
                data=json.dumps({"username": "cordelia", "auth_key": PASSWORD})
                if method == "post"
                else None,
                content_type="application/json",
                HTTP_HOST="lear.localhost",
            )
            body = response.content.decode()
            for secret in secret_names:
                assert secret not in body, (method, path, body)
            if path not in {
                "/api/tenant",
                "/api/auth/prelogin",
                "/api/auth/logout",
                "/api/auth/email/resend",
            }:
                assert response.status_code >= 400, (method, path, response.status_code)
    # ...and the acme session did not become a lear session along the way.
    assert client.get("/api/auth/me", HTTP_HOST="lear.localhost").status_code == 401
