"""Read paths for the trust chain and the state derived from it (tenant-scoped)."""

from django.db.models import QuerySet

from accounts.models import RootEnrolment, Tenant
from rooms.models import ChainHead, ChainLink, ChainMember, GenesisAnchor, Room

CHAIN_PAGE = 1000


def chain_head(tenant: Tenant) -> ChainHead | None:
    return ChainHead.objects.filter(tenant=tenant).first()


def chain_links_after(tenant: Tenant, after: int, *, limit: int = CHAIN_PAGE) -> list[ChainLink]:
    return list(ChainLink.objects.filter(tenant=tenant, seq__gt=after).order_by("seq")[:limit])


def all_chain_links(tenant: Tenant) -> QuerySet[ChainLink]:
    return ChainLink.objects.filter(tenant=tenant).order_by("seq")


def genesis_link(tenant: Tenant) -> ChainLink | None:
    return ChainLink.objects.filter(tenant=tenant, seq=0).first()


def chain_member(tenant: Tenant, username: str) -> ChainMember | None:
    return ChainMember.objects.filter(tenant=tenant, username=username).first()


def chain_members(tenant: Tenant) -> QuerySet[ChainMember]:
    return ChainMember.objects.filter(tenant=tenant).order_by("username")


def rooms_of(tenant: Tenant) -> QuerySet[Room]:
    return Room.objects.filter(tenant=tenant).prefetch_related("members")


def genesis_anchors(tenant: Tenant) -> QuerySet[GenesisAnchor]:
    return GenesisAnchor.objects.filter(tenant=tenant).order_by("fingerprint")


def root_seats(tenant: Tenant) -> list[RootEnrolment]:
    """The seats of a multi-root genesis in order, with their people."""
    return list(
        RootEnrolment.objects.filter(tenant=tenant).select_related("user").order_by("position")
    )
