"""`manage.py gc_uploads`: delete uploads not finished within PIPO_UPLOAD_MAX_AGE_S.

Removes each expired upload's row and .part file, and .part files that have
no upload, and prints what it removed. Finished files are never touched.
Server processes run the same collection every PIPO_UPLOAD_GC_INTERVAL_S
(files/collector.py); this command is for cron, or to run it now.
"""

from typing import Any

from django.core.management.base import BaseCommand

from files.actions import do_gc_uploads


class Command(BaseCommand):
    help = "Delete unfinished uploads older than PIPO_UPLOAD_MAX_AGE_S and stray .part files."

    def handle(self, *args: Any, **options: Any) -> None:
        collected = do_gc_uploads()
        for upload in collected.removed:
            started = f"{upload.created_at:%Y-%m-%d %H:%M:%S} UTC"
            self.stdout.write(
                f"removed upload {upload.id} (tenant {upload.tenant_id}, started {started}, "
                f"{upload.received_bytes} bytes received)"
            )
        for path in collected.strays:
            self.stdout.write(f"removed stray {path}")
        self.stdout.write(
            f"{len(collected.removed)} expired upload(s), {len(collected.strays)} stray "
            f".part file(s) removed."
        )
