"""The server process's own run of `gc_uploads`, every PIPO_UPLOAD_GC_INTERVAL_S.

The first upload socket a server process accepts starts one daemon thread
that collects expired uploads at once and then every interval (0 turns it
off; `manage.py gc_uploads` from cron does the same job). A process that
never accepts an upload socket starts nothing: another process, or cron,
collects for it. With several processes each runs its own; the collection is
safe to run concurrently (files.actions.do_gc_uploads). Expired uploads are
refused and left out of the quota from the moment they expire, so how late
the collection comes only decides when their disk space comes back.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import connections

from files.actions import do_gc_uploads

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_thread: threading.Thread | None = None


def start_collector() -> None:
    """Start this process's collector thread, unless it runs or is turned off."""
    global _thread
    interval = settings.PIPO_UPLOAD_GC_INTERVAL_S
    if interval <= 0:
        return
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _thread = threading.Thread(
            target=_collect_forever, args=(interval,), name="pipo-gc-uploads", daemon=True
        )
        _thread.start()


def _collect_forever(interval: int) -> None:
    while True:
        try:
            do_gc_uploads()
        except Exception:
            logger.exception("files: collecting expired uploads failed")
        finally:
            connections.close_all()  # this thread's; idle for an interval now
        time.sleep(interval)
