"""PiPo's admin site (its own module: Django imports it while building `admin.site`).

There is no password form: the admin's login page sends people to the app's
login, where the password never leaves the browser. Only active admins of the
request's tenant get in.
"""

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from accounts.models import Tenant, User


def request_tenant(request: HttpRequest) -> Tenant | None:
    tenant: Tenant | None = getattr(request, "tenant", None)
    return tenant


class TenantAdminSite(admin.AdminSite):
    site_header = "PiPo administration"
    site_title = "PiPo administration"
    index_title = "Your workspace"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        tenant = request_tenant(request)
        return bool(
            tenant is not None
            and isinstance(user, User)
            and user.is_tenant_admin
            and user.tenant_id == tenant.pk
        )

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        next_url = request.GET.get("next") or "/admin/"
        if not next_url.startswith("/admin/"):
            next_url = "/admin/"
        return HttpResponseRedirect("/login?" + urlencode({"next": next_url}))

    def password_change(  # type: ignore[override]  # a redirect, not a form
        self, request: HttpRequest, extra_context: Any = None
    ) -> HttpResponse:
        # Django's form would post the password itself; PiPo's happens in the app.
        return HttpResponseRedirect("/app")

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        tenant = request_tenant(request)
        if tenant is not None:
            context["site_header"] = f"{tenant.name} · PiPo administration"
        return context
