"""Django's session machinery needs a backend to reload users from sessions.

Credentials are checked in accounts.actions.check_login (tenant-scoped,
throttled, constant work for unknown users); this backend only reloads.
"""

from typing import Any

from django.http import HttpRequest

from accounts.models import User


class TenantBackend:
    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> User | None:
        return None  # never by username and password: see accounts.actions.check_login

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("tenant").filter(pk=user_id).first()
        return user if user is not None and user.is_active else None
