"""What the API shows of accounts: public data and ciphertext only."""

from typing import Any

from accounts.models import Tenant, User
from accounts.selectors import tenant_has_chain
from protocol import b64u_encode
from protocol.signing import sign_public_key


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "slug": tenant.slug,
        "name": tenant.name,
        "signup_policy": tenant.signup_policy,
        "allowed_domains": list(tenant.allowed_domains),
        # Whether the trust chain exists yet, and who may found it (§6.2):
        # "enrolment" (the root admins' link from create_tenant) or
        # "first_user" (a trust-on-first-use demo tenant).
        "chain_founded": tenant_has_chain(tenant),
        "founding": "first_user" if tenant.first_user_becomes_owner else "enrolment",
        # Root seats of a multi-root genesis (0: one root founds it alone),
        # and the PGP fingerprints the genesis names (§6.5, §6.8).
        "root_seats": tenant.root_enrolments.count(),
        "genesis_pgp": list(tenant.genesis_pgp),
        # The server's attestation key, as a genesis must name it (§6.2).
        "server_key": b64u_encode(sign_public_key(bytes(tenant.server_sign_seed)))
        if tenant.server_sign_seed
        else None,
    }


def user_json(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "state": user.state,
    }


def session_json(user: User) -> dict[str, Any]:
    """What a client needs to unlock its keys after login."""
    return {
        "user": user_json(user),
        "identity_bundle": user.identity.bundle,
        "wrapped_keys": user.key_backup.wrapped_keys,
    }


def recovery_json(user: User) -> dict[str, Any]:
    return {
        "user": user_json(user),
        "identity_bundle": user.identity.bundle,
        "recovery_wrapped_keys": user.key_backup.recovery_wrapped_keys,
    }
