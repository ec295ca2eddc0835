"""The websocket Origin must be the very host the socket connects to.

Channels' AllowedHostsOriginValidator only checks the Origin against
ALLOWED_HOSTS, which admits every tenant subdomain: a page on tenant B could
then open a socket to tenant A, and the browser would attach the visitor's
tenant-A cookies. Comparing Origin with Host closes that.
"""

from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier

Scope = dict[str, Any]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            text: str = value.decode("latin-1")
            return text
    return None


def origin_matches_host(origin: str | None, host: str | None) -> bool:
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return False
    return parts.netloc.lower() == host.strip().lower()


class SameHostOriginValidator:
    """ASGI middleware: deny websockets whose Origin is not their Host."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_matches_host(
            _header(scope, b"origin"), _header(scope, b"host")
        ):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)
