"""The admin panel's models, per tenant: admins of tenant A see only tenant A's people.

On a tenant with a trust chain an approval is the approving admin's signed
`admit` link (PROTOCOL.md §6.2), so the panel does not approve by itself: each
pending signup links to its "Approve (sign in browser)" page, whose script
(the Vite entry `src/adminApproval.tsx`) signs the link with the admin's key
held in this browser and posts it to `/api/signup-requests/<username>/approve`,
where the server verifies it. Rejecting needs no link.
"""

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.csrf import ensure_csrf_cookie

from accounts import actions
from accounts.admin_site import request_tenant
from accounts.errors import AccountError
from accounts.models import AccountState, Invite, SignupRequest, User
from frontend.assets import ADMIN_APPROVAL_ENTRY, entry_assets
from rooms.actions import chain_has_genesis


class TenantScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-mostly admin whose queryset is always the request's tenant."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        tenant = request_tenant(request)
        queryset = super().get_queryset(request)
        return queryset.filter(tenant=tenant) if tenant is not None else queryset.none()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _approval_url(user: User) -> str:
    return reverse("admin:accounts_signuprequest_approve", args=[user.pk])


def _decide(request: HttpRequest, queryset: QuerySet[User], *, approve: bool) -> None:
    admin_user = request.user
    assert isinstance(admin_user, User)
    login_url = f"{request.scheme}://{request.get_host()}/login"
    count = 0
    for user in queryset.filter(state=AccountState.PENDING_APPROVAL):
        try:
            actions.do_decide_signup(admin_user, user, approve=approve, login_url=login_url)
        except AccountError as error:
            messages.error(request, f"{user.username}: {error.message}")
            continue
        count += 1
    verb = "Approved" if approve else "Rejected"
    if count:
        messages.success(request, f"{verb} {count} signup request(s); each person was emailed.")


@admin.action(description="Approve selected signup requests")
def approve_signups(
    model_admin: "SignupRequestAdmin", request: HttpRequest, queryset: QuerySet[User]
) -> HttpResponse | None:
    tenant = request_tenant(request)
    if tenant is None or not chain_has_genesis(tenant):
        _decide(request, queryset, approve=True)
        return None
    # A chained tenant: each approval is signed in the browser, one person at a time.
    pending = list(queryset.filter(state=AccountState.PENDING_APPROVAL).order_by("username"))
    if len(pending) == 1:
        return HttpResponseRedirect(_approval_url(pending[0]))
    messages.warning(
        request,
        "On this workspace each approval is signed with your key in this browser, one "
        "person at a time: use “Approve (sign in browser)” on each row.",
    )
    return None


@admin.action(description="Reject selected signup requests")
def reject_signups(
    model_admin: "SignupRequestAdmin", request: HttpRequest, queryset: QuerySet[User]
) -> None:
    _decide(request, queryset, approve=False)


class PeopleAdmin(TenantScopedAdmin):
    list_display = ("username", "email", "role", "state", "date_joined")
    list_filter = ("state", "role")
    search_fields = ("username", "email")
    readonly_fields = ("username", "email", "role", "state", "date_joined", "decided_at")
    fields = readonly_fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class SignupRequestAdmin(PeopleAdmin):
    actions = (approve_signups, reject_signups)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(state=AccountState.PENDING_APPROVAL)

    def get_list_display(self, request: HttpRequest) -> Any:
        return (*super().get_list_display(request), "approve_in_browser")

    @admin.display(description="Approve")
    def approve_in_browser(self, user: User) -> str:
        return format_html(
            '<a href="{}" aria-label="Approve {} (sign in browser)">Approve (sign in browser)</a>',
            _approval_url(user),
            user.username,
        )

    def get_urls(self) -> list[URLPattern]:
        page = self.admin_site.admin_view(ensure_csrf_cookie(self.approval_view))
        return [
            path("<int:object_id>/approve/", page, name="accounts_signuprequest_approve"),
            *super().get_urls(),
        ]

    def approval_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The page whose script signs this person's admission with the admin's key.

        It holds no secret: the script loads the keys from this browser, verifies
        the trust chain and the request itself, and the server checks the signed
        link it posts (the same endpoint as the app's Signup requests page).
        """
        tenant = request_tenant(request)
        person = get_object_or_404(self.get_queryset(request), pk=object_id)
        assert tenant is not None  # admin_view let only this tenant's admins in
        list_url = reverse("admin:accounts_signuprequest_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Approve {person.username}",
            "person": person,
            "tenant": tenant,
            "chained": chain_has_genesis(tenant),
            "assets": entry_assets(ADMIN_APPROVAL_ENTRY),
            "list_url": list_url,
            "login_url": "/login?" + urlencode({"next": request.path}),
        }
        response = TemplateResponse(
            request, "admin/accounts/signuprequest/approve_in_browser.html", context
        )
        response["Cache-Control"] = "no-store"
        return response

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Django shows actions only to those who may change; the actions
        # themselves check the admin's tenant again.
        return self.admin_site.has_permission(request)


class InviteAdmin(TenantScopedAdmin):
    list_display = ("role", "email", "created_by", "created_at", "expires_at", "used_at")
    fields = list_display
    readonly_fields = list_display


# `admin.site` is a TenantAdminSite: accounts.apps.PipoAdminConfig makes it so.
admin.site.register(User, PeopleAdmin)
admin.site.register(SignupRequest, SignupRequestAdmin)
admin.site.register(Invite, InviteAdmin)
