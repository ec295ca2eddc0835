"""Websocket close codes the relay uses, each named once (4000-4999).

A socket refused after the handshake is accepted and closed at once with one
of these, so that the client can tell why (a refused handshake is only an
HTTP 403 to a browser). Clients do not reconnect after 4401, 4403 or 4404
until something changes (a sign-in); after 4429 they wait and retry.
"""

# Not signed in (or signed in to another tenant).
SIGNED_OUT = 4401
# Signed in, but not a current member of the tenant's trust chain (never
# admitted, or removed: a removal link closes the member's open sockets too).
NOT_A_MEMBER = 4403
# The host names no tenant (the client should not retry).
NO_TENANT = 4404
# Too many new connections from this address: retry after the error frame's
# retry_after_ms.
RATE_LIMITED = 4429
