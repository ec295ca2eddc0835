"""Encrypted files: one row per upload, the same row once it is a stored file.

The bytes live on disk, never in the database: `DATA_DIR/uploads/<id>.part`
while the upload runs, then `<tenant id>/<id>` in the `pipo_files` storage
(files.store). The server knows the room, the uploader, the ciphertext
stream's size and the times; never a name, a type, a key or plaintext
(docs/PROTOCOL.md §8). Only `files.actions` writes these rows.
"""

import uuid
from typing import Any, ClassVar

from django.db import models

from accounts.models import Tenant
from rooms.models import Room


class UploadState(models.TextChoices):
    UPLOADING = "uploading"
    COMPLETE = "complete"


class EncryptedFile(models.Model):
    # The upload id is the file id (chosen by the server at upload_start).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT)
    # PROTECT: a row owns bytes on disk, which a cascade would orphan (rooms
    # are never deleted: the chain is append-only).
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="files")
    uploader = models.CharField(max_length=64)
    # The ciphertext stream's size (§8.1); it fixes the chunk count and the
    # length of every chunk.
    stream_size = models.PositiveBigIntegerField()
    chunk_count = models.PositiveIntegerField()
    # Progress: the chunks recorded so far are 0 .. next_chunk - 1, which are
    # the first received_bytes bytes of the .part file.
    next_chunk = models.PositiveIntegerField(default=0)
    received_bytes = models.PositiveBigIntegerField(default=0)
    state = models.CharField(
        max_length=16, choices=UploadState.choices, default=UploadState.UPLOADING
    )
    # The socket the upload is open on (set by upload_start / upload_resume):
    # a chunk or a finish from any other socket changes nothing.
    holder = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes: ClassVar[list[Any]] = [
            # The quota: the sum of a tenant's stream sizes.
            models.Index(fields=["tenant", "state"], name="file_tenant_state"),
            # gc_uploads: old uploads.
            models.Index(fields=["state", "created_at"], name="file_state_created"),
        ]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=models.Q(next_chunk__lte=models.F("chunk_count")),
                name="file_progress_within_chunks",
            ),
            models.CheckConstraint(
                condition=models.Q(received_bytes__lte=models.F("stream_size")),
                name="file_progress_within_size",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["uploading", "complete"]),
                name="file_state_known",
            ),
        ]

    def __str__(self) -> str:
        return f"file {self.id} ({self.state})"
