"""The admin panel's models, per tenant: admins of tenant A see only tenant A's people."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts import actions
from accounts.admin_site import request_tenant
from accounts.errors import AccountError
from accounts.models import AccountState, Invite, SignupRequest, User


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
) -> None:
    _decide(request, queryset, approve=True)


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
