"""Health of a running portal, for the reverse proxy and the monitor.

`health_report()` answers, without any personal data, whether the portal can do its work:
the database answers, a background worker has shown a sign of life recently (each worker
process runs a `Heartbeat` thread), the task queue is moving, the export directory has room,
and the newest backup is recent. The worker's heartbeat is what makes a stopped worker show
up within a minute: its row stops being renewed and turns stale after
HEALTH_WORKER_MAX_AGE_SECONDS.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from .models import WorkerHeartbeat

logger = logging.getLogger(__name__)

OK, FAIL, NOT_CONFIGURED = "ok", "fail", "not_configured"


class Heartbeat(threading.Thread):
    """Renews this worker process's heartbeat row every `interval` seconds until stopped.

    A thread of its own (with its own database connection), so a long task does not stop
    the beat; `busy()`/`idle()` record since when the worker has been running a task, so
    a task that hangs shows in the report too."""

    def __init__(self, worker_id: str, *, interval: float | None = None) -> None:
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id[:64]
        self.interval = interval or settings.WORKER_HEARTBEAT_SECONDS
        self.started_at = timezone.now()
        self._busy_since = None
        self._stop = threading.Event()

    def busy(self) -> None:
        self._busy_since = timezone.now()

    def idle(self) -> None:
        self._busy_since = None

    def beat(self) -> None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "host": socket.gethostname()[:255],
                "pid": os.getpid(),
                "started_at": self.started_at,
                "seen_at": timezone.now(),
                "busy_since": self._busy_since,
            },
        )

    def run(self) -> None:
        try:
            while not self._stop.is_set():
                close_old_connections()
                try:
                    self.beat()
                except DatabaseError:
                    # The database may be restarting: the next beat tries again, and a
                    # heartbeat that stays stale is exactly what the monitor should see.
                    logger.warning("worker heartbeat could not be written", exc_info=True)
                self._stop.wait(self.interval)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop.set()


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return {"status": FAIL}
    return {"status": OK}


def _worker(now) -> dict:
    limit = settings.HEALTH_WORKER_MAX_AGE_SECONDS
    beats = list(WorkerHeartbeat.objects.values_list("seen_at", "busy_since"))
    fresh = [(seen, busy) for seen, busy in beats if (now - seen).total_seconds() <= limit]
    newest = max((seen for seen, _busy in beats), default=None)
    answer = {
        "status": OK if fresh else FAIL,
        "workers": len(fresh),
        "max_age_seconds": limit,
        "last_seen_seconds": round((now - newest).total_seconds(), 1) if newest else None,
    }
    busy = [busy for _seen, busy in fresh if busy is not None]
    if busy:
        answer["longest_task_seconds"] = round((now - min(busy)).total_seconds(), 1)
    return answer


def _queue(now) -> dict:
    # The task queue of django-tasks-db: how many tasks wait, and for how long the oldest.
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    oldest = waiting.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
    wait = (now - oldest).total_seconds() if oldest else 0.0
    limit = settings.HEALTH_QUEUE_MAX_WAIT_SECONDS
    return {
        "status": OK if wait <= limit else FAIL,
        "depth": waiting.count(),
        "oldest_wait_seconds": round(wait, 1),
        "max_wait_seconds": limit,
    }


def _export_disk() -> dict:
    root = Path(settings.EXPORT_ROOT)
    probe = root if root.exists() else root.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    free_mb = usage.free // (1024 * 1024)
    limit = settings.HEALTH_MIN_FREE_MB
    return {
        "status": OK if free_mb >= limit else FAIL,
        "free_mb": free_mb,
        "free_percent": round(100 * usage.free / usage.total, 1) if usage.total else 0.0,
        "min_free_mb": limit,
    }


def _backup() -> dict:
    """The backup job touches BACKUP_STATUS_FILE after each successful backup; its age
    is the age of the newest backup."""
    path = settings.BACKUP_STATUS_FILE
    if not path:
        return {"status": NOT_CONFIGURED}
    limit = settings.HEALTH_BACKUP_MAX_AGE_HOURS
    try:
        age_hours = (time.time() - Path(path).stat().st_mtime) / 3600
    except OSError:
        return {"status": FAIL, "age_hours": None, "max_age_hours": limit}
    return {
        "status": OK if age_hours <= limit else FAIL,
        "age_hours": round(age_hours, 2),
        "max_age_hours": limit,
    }


def health_report() -> dict:
    """Every check with its figures, and `healthy`: all checks ok (a backup that is not
    configured counts as a failure only in production)."""
    now = timezone.now()
    checks = {"database": _database()}
    if checks["database"]["status"] == OK:
        checks["worker"] = _worker(now)
        checks["queue"] = _queue(now)
    checks["export_disk"] = _export_disk()
    checks["backup"] = _backup()

    def failing(name: str, check: dict) -> bool:
        if check["status"] == NOT_CONFIGURED:
            return bool(settings.PRODUCTION)
        return check["status"] != OK

    failed = sorted(name for name, check in checks.items() if failing(name, check))
    return {"healthy": not failed, "failed": failed, "checks": checks}
