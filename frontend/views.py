from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from frontend.assets import entry_assets


@require_GET
@ensure_csrf_cookie
def shell(request: HttpRequest) -> HttpResponse:
    """The single page the web client boots from; it holds no user data."""
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        # No workspace at this address. Name none (no tenant enumeration).
        response = render(request, "frontend/no_tenant.html", status=404)
    else:
        response = render(
            request,
            "frontend/shell.html",
            {
                "assets": entry_assets(),
                "tenant_name": tenant.name,
                "tenant_slug": tenant.slug,
                "test_hooks": "true" if settings.PIPO_TEST_HOOKS else "false",
            },
        )
    response["Cache-Control"] = "no-store"
    return response
