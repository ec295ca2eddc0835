"""ASGI entry point: HTTP through Django, websockets through the relay.

Websockets pass these gates before a consumer sees them: the Origin must be
an allowed host, it must be the very host the socket connects to (so a page
of one tenant cannot open a socket to another with the visitor's cookies),
the tenant is resolved from the host, and the session is loaded.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models (consumers, auth).
django_asgi_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from accounts.tenancy import TenantASGIMiddleware  # noqa: E402
from relay.origin import SameHostOriginValidator  # noqa: E402
from relay.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_application,
        "websocket": AllowedHostsOriginValidator(
            SameHostOriginValidator(
                TenantASGIMiddleware(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
            )
        ),
    }
)
