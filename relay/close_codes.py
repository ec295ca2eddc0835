"""Websocket close codes the relay uses, each named once (4000-4999)."""

# The host names no tenant (the client should not retry).
NO_TENANT = 4404
