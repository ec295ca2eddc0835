"""Make tenants and people the way clients do: keys, KDF and backups made with
`protocol/` (as the browser does), accounts created through the real actions.
"""

import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.actions import check_create_tenant, check_signup, do_create_invite
from accounts.models import Role, Tenant, User
from protocol import IdentityKeys, b64u_encode, make_identity_bundle
from protocol.accounts import (
    BackupPurpose,
    RecoveryCode,
    derive_password_keys,
    invite_token_hash,
    new_kdf_params,
    new_recovery_code,
    recovery_keys,
    wrap_identity_keys,
)

PASSWORD = "correct horse battery staple"


@dataclass
class SignupPayload:
    body: dict[str, Any]
    keys: IdentityKeys = field(repr=False)
    recovery: RecoveryCode = field(repr=False)
    auth_key: bytes = field(repr=False)


def signup_payload(
    tenant_slug: str,
    username: str,
    *,
    password: str = PASSWORD,
    email: str = "",
    keys: IdentityKeys | None = None,
    invite_token: bytes | None = None,
) -> SignupPayload:
    """The body a browser posts to /api/auth/signup."""
    keys = keys or IdentityKeys.generate()
    kdf = new_kdf_params()
    password_keys = derive_password_keys(password, kdf)
    recovery = new_recovery_code()
    recovery_password_keys = recovery_keys(recovery.secret)
    bundle = make_identity_bundle(
        keys, tenant=tenant_slug, user=username, created=int(time.time() * 1000)
    )
    body: dict[str, Any] = {
        "username": username,
        "email": email,
        "kdf": kdf.to_json(),
        "auth_key": b64u_encode(password_keys.auth_key),
        "identity_bundle": bundle.to_json(),
        "wrapped_keys": wrap_identity_keys(
            keys,
            password_keys.wrap_key,
            purpose=BackupPurpose.KEY_BACKUP,
            tenant=tenant_slug,
            user=username,
        ).to_json(),
        "recovery": {
            "auth_key": b64u_encode(recovery_password_keys.auth_key),
            "wrapped_keys": wrap_identity_keys(
                keys,
                recovery_password_keys.wrap_key,
                purpose=BackupPurpose.RECOVERY_BACKUP,
                tenant=tenant_slug,
                user=username,
            ).to_json(),
        },
    }
    if invite_token is not None:
        body["invite_token"] = b64u_encode(invite_token)
    return SignupPayload(body, keys, recovery, password_keys.auth_key)


def make_tenant(slug: str, name: str, policy: str, domains: list[str] | None = None) -> Tenant:
    return check_create_tenant(slug=slug, name=name, policy=policy, allowed_domains=domains)


def make_invite_token(
    tenant: Tenant, *, role: str = Role.MEMBER, created_by: User | None = None, days: int = 7
) -> bytes:
    token = secrets.token_bytes(32)
    do_create_invite(
        tenant,
        created_by=created_by,
        token_hash=invite_token_hash(token),
        role=role,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return token


@dataclass
class Person:
    user: User
    password: str
    signup: SignupPayload


def make_person(
    tenant: Tenant, username: str, *, role: str = Role.MEMBER, email: str = ""
) -> Person:
    """An active person with the given role, who joined through an invite."""
    token = make_invite_token(tenant, role=role)
    payload = signup_payload(
        tenant.slug, username, email=email or f"{username}@example.org", invite_token=token
    )
    result = check_signup(tenant, payload.body, base_url=f"http://{tenant.slug}.localhost")
    return Person(result.user, PASSWORD, payload)
