"""The API's authentication (its own module: DRF imports it while loading)."""

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request


class CsrfSessionAuthentication(SessionAuthentication):
    """Session auth that checks CSRF on unsafe methods for everyone.

    DRF checks CSRF only for logged-in users; login and signup need it too
    (a forged login would put a victim into an attacker's account).
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        if request.method not in {"GET", "HEAD", "OPTIONS", "TRACE"}:
            self.enforce_csrf(request)
        return super().authenticate(request)
