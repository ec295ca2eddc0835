"""The accounts HTTP API (docs/PROTOCOL.md §5.5): thin views over actions."""

from typing import Any

from django.contrib.auth import login, logout, update_session_auth_hash
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import actions
from accounts.errors import AccountError
from accounts.models import Tenant, User
from accounts.selectors import invites_of, pending_signups
from accounts.serializers import recovery_json, session_json, tenant_json, user_json
from config.api import TenantAPIView

BACKEND = "accounts.backends.TenantBackend"


def _tenant(request: Request) -> Tenant:
    tenant: Tenant = request._request.tenant  # type: ignore[attr-defined]
    return tenant


def _base_url(request: Request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _address(request: Request) -> str | None:
    return actions.client_address(request.META)


class TenantInfoView(TenantAPIView):
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        return Response(tenant_json(_tenant(request)))


class PreloginView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        username = self.body(request).get("username")
        return Response({"kdf": actions.login_kdf(_tenant(request), username)})


class SignupView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        result = actions.check_signup(
            _tenant(request), self.body(request), base_url=_base_url(request)
        )
        if result.state == "active":
            login(request._request, result.user, backend=BACKEND)
        body = {"state": result.state, "user": user_json(result.user)}
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        user = actions.check_login(_tenant(request), self.body(request), address=_address(request))
        login(request._request, user, backend=BACKEND)
        return Response(session_json(user))


class MeView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        return Response(session_json(user))


class LogoutView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def post(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        actions.check_change_password(user, self.body(request), address=_address(request))
        # This session stays; every other session of the user ends.
        update_session_auth_hash(request._request, user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateKeysView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def post(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        actions.check_rotate_keys(user, self.body(request), address=_address(request))
        update_session_auth_hash(request._request, user)
        return Response(session_json(User.objects.get(pk=user.pk)))


class RecoveryUnlockView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        user = actions.check_login(
            _tenant(request), self.body(request), address=_address(request), recovery=True
        )
        return Response(recovery_json(user))


class RecoveryResetView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        user = actions.check_recovery_reset(
            _tenant(request), self.body(request), address=_address(request)
        )
        login(request._request, user, backend=BACKEND)
        return Response(session_json(user))


class ConfirmEmailView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        user = actions.check_confirm_email(_tenant(request), self.body(request))
        return Response({"state": user.state})


class ResendConfirmationView(TenantAPIView):
    permission_classes = (AllowAny,)

    def post(self, request: Request) -> Response:
        actions.check_resend_confirmation(
            _tenant(request), self.body(request), base_url=_base_url(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitesView(TenantAPIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if not user.is_tenant_admin:
            return Response({"error": "forbidden", "message": "Admins only."}, status=403)
        invites: list[dict[str, Any]] = [
            {
                "id": invite.pk,
                "role": invite.role,
                "email": invite.email,
                "expires_at": int(invite.expires_at.timestamp() * 1000),
                "used": invite.used_at is not None,
            }
            for invite in invites_of(_tenant(request))[:200]
        ]
        return Response({"invites": invites})

    def post(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        invite = actions.check_create_invite(user, _tenant(request), self.body(request))
        return Response(
            {
                "id": invite.pk,
                "role": invite.role,
                "expires_at": int(invite.expires_at.timestamp() * 1000),
            },
            status=status.HTTP_201_CREATED,
        )


class SignupRequestsView(TenantAPIView):
    """Admins: the people waiting for approval, with the bundles to admit."""

    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        user: User = request.user  # type: ignore[assignment]
        if not user.is_tenant_admin:
            raise AccountError("forbidden", "Admins only.", status=403)
        waiting = [
            {
                "username": person.username,
                "email": person.email,
                "requested_at": int(person.date_joined.timestamp() * 1000),
                "identity_bundle": person.identity.bundle,
            }
            for person in pending_signups(_tenant(request)).select_related("identity")[:500]
        ]
        return Response({"requests": waiting})


class SignupDecisionView(TenantAPIView):
    """Admins: approve (with the signed admit link, on a chained tenant) or reject."""

    permission_classes = (IsAuthenticated,)

    def post(self, request: Request, username: str, decision: str) -> Response:
        admin_user: User = request.user  # type: ignore[assignment]
        if decision not in {"approve", "reject"}:
            raise AccountError("not_found", "Not found.", status=404)
        actions.check_decide_signup(
            admin_user,
            _tenant(request),
            username=username,
            approve=decision == "approve",
            data=self.body(request),
            login_url=f"{_base_url(request)}/login",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
