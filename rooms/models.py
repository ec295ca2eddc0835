"""The trust chain as stored, and the state materialised from it.

`ChainLink` rows are the chain itself (append-only, exactly as signed).
`ChainHead` is the row an appender locks. `ChainMember`, `Room` and
`RoomMember` are the current state derived from the chain by
protocol/chain.py: what every authorization decision reads. Only
`rooms.actions` writes any of them, in the transaction that appends a link.

`RoomEpoch`, `EpochShare` and `Message` are what the relay stores for rooms
(docs/PROTOCOL.md §7): records, shares and envelopes exactly as their
signers made them, written only by `rooms.message_actions`.
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
    # The room's message counter: the seq of its newest message (0: none).
    # Incremented under this row's lock, in the transaction that inserts the
    # message, so seqs are gap-free with any number of workers.
    last_seq = models.PositiveBigIntegerField(default=0)
    # The current epoch (-1: none yet), and whether it must be replaced before
    # the next message because a member left the room or the tenant since.
    epoch = models.IntegerField(default=-1)
    rekey_required = models.BooleanField(default=False)

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
    # The room's current epoch when this member joined: with history
    # "joined", no older epoch is ever shared with them.
    joined_epoch = models.IntegerField(default=0)

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


class RoomEpoch(models.Model):
    """An epoch record (§7.1), as received, and how many messages used it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="epochs")
    epoch = models.PositiveIntegerField()
    creator = models.CharField(max_length=64)
    record = models.JSONField()
    ts = models.BigIntegerField()
    message_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "room", "epoch"], name="room_epoch_once"),
        ]

    def __str__(self) -> str:
        return f"epoch {self.epoch} of {self.room_id}"


class EpochShare(models.Model):
    """An epoch share (§7.2), as received: an epoch key for one more person."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="epoch_shares")
    epoch = models.PositiveIntegerField()
    username = models.CharField(max_length=64)
    by = models.CharField(max_length=64)
    share = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["tenant", "room", "epoch", "username"], name="epoch_share_once"
            ),
        ]

    def __str__(self) -> str:
        return f"epoch {self.epoch} of {self.room_id} for {self.username}"


class Message(models.Model):
    """A stored envelope (§7.3) in its canonical wire form; `seq` counts from 1 per room."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveBigIntegerField()
    message_id = models.CharField(max_length=36)
    sender = models.CharField(max_length=64)
    epoch = models.PositiveIntegerField()
    ts = models.BigIntegerField()
    envelope = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["tenant", "room", "seq"], name="message_seq_per_room"),
            models.UniqueConstraint(fields=["tenant", "message_id"], name="message_id_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"message {self.seq} of {self.room_id}"
