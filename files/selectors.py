"""Read paths for uploads and files (tenant-scoped).

`access_file` is the one authorization step for downloads: a file that does
not exist, is not complete, belongs to another tenant, or whose room the
user is not in now all raise the same `not_found`.
"""

import datetime
import uuid

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Tenant
from files.errors import NOT_FOUND, FileError
from files.models import EncryptedFile, UploadState
from rooms.models import RoomMember


def upload_cutoff(now: datetime.datetime | None = None) -> datetime.datetime:
    """Uploads started before this are expired: refused, then collected."""
    return (now or timezone.now()) - datetime.timedelta(seconds=settings.PIPO_UPLOAD_MAX_AGE_S)


def parse_file_id(text: str) -> uuid.UUID | None:
    """A lower-case UUID in its canonical form, else None."""
    try:
        value = uuid.UUID(text)
    except ValueError:
        return None
    return value if str(value) == text else None


def tenant_usage(tenant: Tenant, *, now: datetime.datetime | None = None) -> int:
    """The stream bytes the tenant keeps: stored files and unexpired uploads.

    Call it under the tenant's row lock (files.actions) to act on the answer.
    """
    total = (
        EncryptedFile.objects.filter(tenant=tenant)
        .filter(Q(state=UploadState.COMPLETE) | Q(created_at__gte=upload_cutoff(now)))
        .aggregate(total=Sum("stream_size"))["total"]
    )
    return int(total or 0)


def is_in_room(tenant: Tenant, room_pk: int, username: str) -> bool:
    return RoomMember.objects.filter(tenant=tenant, room_id=room_pk, username=username).exists()


def access_file(tenant: Tenant, username: str, file_id: str) -> EncryptedFile:
    """A complete file of this tenant whose room `username` is in now; else not_found."""
    parsed = parse_file_id(file_id)
    found = (
        None
        if parsed is None
        else EncryptedFile.objects.filter(
            tenant=tenant,
            id=parsed,
            state=UploadState.COMPLETE,
            room__members__tenant=tenant,
            room__members__username=username,
        ).first()
    )
    if found is None:
        raise FileError(NOT_FOUND, "Not found.")
    return found
