"""Read paths for accounts. Every query that can be tenant-scoped is."""

from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import AccountState, AuthFailure, Invite, Tenant, User
from rooms.models import ChainHead


def tenant_for_slug(slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def tenant_on_bare_domain() -> Tenant | None:
    return Tenant.objects.filter(serves_bare_domain=True).first()


def user_by_username(tenant: Tenant, username: str) -> User | None:
    return (
        User.objects.filter(tenant=tenant, username=username)
        .select_related("tenant", "identity", "key_backup")
        .first()
    )


def pending_signups(tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(tenant=tenant, state=AccountState.PENDING_APPROVAL)


def users_of(tenant: Tenant) -> QuerySet[User]:
    return User.objects.filter(tenant=tenant)


def invites_of(tenant: Tenant) -> QuerySet[Invite]:
    return Invite.objects.filter(tenant=tenant).order_by("-created_at")


def invite_by_token_hash(tenant: Tenant, token_hash: bytes) -> Invite | None:
    return Invite.objects.filter(tenant=tenant, token_hash=token_hash).first()


def recent_failures(
    tenant: Tenant, *, since: datetime, username: str, address: str | None
) -> tuple[int, int, datetime | None]:
    """Failures for this account and this address since `since`, and the oldest one."""
    failures = AuthFailure.objects.filter(tenant=tenant, created_at__gte=since)
    by_account = failures.filter(username=username)
    by_address = failures.filter(address=address) if address else failures.none()
    oldest = (
        (by_account | by_address)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return by_account.count(), by_address.count(), oldest


def tenant_url(tenant: Tenant) -> str:
    """The address people open for this tenant (no trailing slash)."""
    host = (
        settings.PIPO_DOMAIN
        if tenant.serves_bare_domain
        else (f"{tenant.slug}.{settings.PIPO_DOMAIN}")
    )
    port = f":{settings.PIPO_PUBLIC_PORT}" if settings.PIPO_PUBLIC_PORT else ""
    return f"{settings.PIPO_PUBLIC_SCHEME}://{host}{port}"


def tenant_has_chain(tenant: Tenant) -> bool:
    """True once the tenant's genesis is stored."""
    return ChainHead.objects.filter(tenant=tenant, seq__gte=0).exists()
