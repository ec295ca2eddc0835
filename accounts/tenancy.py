"""Which tenant a request is for: resolved once, from the Host header.

`<slug>.<PIPO_DOMAIN>` is tenant `slug`; the bare domain is the tenant that
has `serves_bare_domain`, if any. One HTTP middleware and one ASGI
middleware put the result on `request.tenant` / `scope["tenant"]`; nothing
else reads the host to find a tenant.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponseBase
from django.http.request import split_domain_port

from accounts.models import Tenant
from accounts.selectors import tenant_for_slug, tenant_on_bare_domain

BARE_DOMAIN = ""


def slug_from_host(host: str, domain: str) -> str | None:
    """The tenant slug a host names, BARE_DOMAIN for the bare domain, None otherwise."""
    name, _port = split_domain_port(host)
    name = name.lower().rstrip(".")
    domain = domain.lower()
    if name == domain or (domain == "localhost" and name in {"127.0.0.1", "[::1]", "::1"}):
        return BARE_DOMAIN
    suffix = "." + domain
    if name.endswith(suffix):
        slug = name[: -len(suffix)]
        if slug and "." not in slug:
            return slug
    return None


def resolve_tenant(host: str) -> Tenant | None:
    slug = slug_from_host(host, settings.PIPO_DOMAIN)
    if slug is None:
        return None
    if slug == BARE_DOMAIN:
        return tenant_on_bare_domain()
    return tenant_for_slug(slug)


def _host_of(request: HttpRequest) -> str:
    try:
        return request.get_host()
    except Exception:  # DisallowedHost: Django answers 400 later
        return ""


class TenantMiddleware:
    """Sets `request.tenant` (a Tenant or None) and keeps sessions in their tenant."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        self._attach(request)
        response: HttpResponseBase = self.get_response(request)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        await sync_to_async(self._attach, thread_sensitive=True)(request)
        response: HttpResponseBase = await self.get_response(request)
        return response

    @staticmethod
    def _attach(request: HttpRequest) -> None:
        if request.path == "/healthz" or request.path.startswith(settings.STATIC_URL):
            # Infrastructure paths answer without a tenant (and without the
            # database: /healthz must report a database outage, not suffer it).
            request.tenant = None  # type: ignore[attr-defined]
            return
        tenant = resolve_tenant(_host_of(request))
        request.tenant = tenant  # type: ignore[attr-defined]
        user = request.user
        # Cookies are per host, so this only happens if something is very
        # wrong; never let a session act in another tenant.
        if user.is_authenticated and (tenant is None or user.tenant_id != tenant.pk):
            logout(request)


class TenantASGIMiddleware:
    """Puts `scope["tenant"]` on websocket scopes; refuses hosts with no tenant."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        host = ""
        for name, value in scope.get("headers", []):
            if name == b"host":
                host = value.decode("latin-1")
        tenant = await database_sync_to_async(resolve_tenant)(host)
        return await self.application({**scope, "tenant": tenant}, receive, send)
