"""Signed chain links for tests, made as a client would make them."""

import time
from typing import Any

from accounts.models import Tenant
from protocol import IdentityKeys
from protocol.chain import Link, sign_link
from rooms.actions import tenant_server_key
from rooms.models import ChainHead


def now_ms() -> int:
    return int(time.time() * 1000)


def next_link(tenant: Tenant, type: str, body: dict[str, Any], seed: bytes) -> Link:
    """A link that extends the tenant's current head."""
    head = ChainHead.objects.filter(tenant=tenant).first()
    seq = head.seq + 1 if head else 0
    prev = bytes(head.hash) if head and head.hash else None
    return sign_link(
        tenant=tenant.slug, seq=seq, prev=prev, ts=now_ms(), type=type, body=body, seed=seed
    )


def genesis_for(
    tenant: Tenant,
    root_bundle: dict[str, Any],
    root: IdentityKeys,
    *,
    mode: str,
    domains: list[str] | None = None,
) -> Link:
    return sign_link(
        tenant=tenant.slug,
        seq=0,
        prev=None,
        ts=now_ms(),
        type="genesis",
        body={
            "roots": [root_bundle],
            "policy": {"mode": mode, "domains": domains or []},
            "server_key": tenant_server_key(tenant),
        },
        seed=root.sign_seed,
    )
