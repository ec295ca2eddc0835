"""The trust chain as stored, and the state materialised from it.

`ChainLink` rows are the chain itself (append-only, exactly as signed).
`ChainHead` is the row an appender locks. `ChainMember`, `Room` and
`RoomMember` are the current state derived from the chain by
protocol/chain.py: what every authorization decision reads. Only
`rooms.actions` writes any of them, in the transaction that appends a link.
"""

from typing import Any, ClassVar

from django.db import models

from accounts.models import Tenant


class ChainLink(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="chain_links")
    seq = models.PositiveIntegerField()
    link = models.JSONField()
    hash = models.BinaryField(max_length=32)
    type = models.CharField(max_length=16)
    signer = models.BinaryField(max_length=32)
    ts = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="chain_seq_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.seq}"


class ChainHead(models.Model):
    """One per tenant: locked FOR UPDATE so that one link is appended at a time."""

    tenant = models.OneToOneField(
        Tenant, on_delete=models.PROTECT, primary_key=True, related_name="chain_head"
    )
    seq = models.IntegerField(default=-1)
    hash = models.BinaryField(max_length=32, null=True)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class ChainMember(models.Model):
    """A current member of the tenant, as the verified chain says."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    username = models.CharField(max_length=64)
    sign_pub = models.BinaryField(max_length=32)
    box_pub = models.BinaryField(max_length=32)
    role = models.CharField(max_length=8)
    how = models.CharField(max_length=16)
    admitted_seq = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "username"], name="chain_member_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.username} ({self.role})"


class Room(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    room_id = models.CharField(max_length=36)
    kind = models.CharField(max_length=8)
    history = models.CharField(max_length=8)
    created_seq = models.PositiveIntegerField()

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "room_id"], name="room_id_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.room_id}"


class RoomMember(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="members")
    username = models.CharField(max_length=64)
    role = models.CharField(max_length=8)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "room", "username"], name="room_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.username} in {self.room_id}"


class GenesisAnchor(models.Model):
    """A root admin's OpenPGP clearsignature over the genesis, verified on attach."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    fingerprint = models.CharField(max_length=64)
    certificate = models.TextField()
    clearsigned = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "fingerprint"], name="anchor_per_key"),
        ]

    def __str__(self) -> str:
        return f"PGP anchor {self.fingerprint}"
