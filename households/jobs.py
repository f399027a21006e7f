"""Leases of import and export jobs: a job whose process died is noticed, failed and may
be retried, and uploads (personal data) do not outlive their retention.

A process that starts a job claims it (QUEUED -> RUNNING) with its name (host:pid) and a
lease of JOB_LEASE_SECONDS, which a heartbeat thread renews through a connection of its
own, so it is renewed even while the import's single transaction runs a long statement.
A job is dead when its lease lapsed, or at once when its process is gone from this host
(a SIGKILL, the OOM killer, a gunicorn timeout). Whoever looks next marks it failed: the
worker at start-up, the job status and list endpoints, and `manage.py clean_exports`
(run it every few minutes from a systemd timer or cron). Its partial export file is
removed; an import's upload is kept for IMPORT_UPLOAD_RETENTION_HOURS so that its owner
can retry, then deleted, as is the upload of a dry run nobody committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from .models import UPLOAD_RELEASED, ExportJob, ExportStatus, ImportJob, ImportStatus

logger = logging.getLogger(__name__)

# Stored as the Indonesian msgid and translated when shown (desapresisi/i18n.py), so a
# job failed by the worker reads in the language of whoever looks at it.
IMPORT_DIED = gettext_noop(
    "Pekerjaan terhenti: proses di latar belakang mati sebelum selesai, dan tidak ada yang "
    "disimpan. Berkasnya masih disimpan sementara; Anda dapat mencoba lagi."
)
EXPORT_DIED = gettext_noop(
    "Pekerjaan terhenti: proses di latar belakang mati sebelum berkasnya selesai dibuat. "
    "Anda dapat mencoba lagi."
)
UPLOAD_EXPIRED = gettext_noop(
    "Berkas unggahan sudah dihapus karena melewati batas waktu penyimpanan; unggah ulang berkasnya."
)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def lease_fields(*, now: dt.datetime | None = None) -> dict:
    """The fields a process sets when it claims a job."""
    now = now or timezone.now()
    return {
        "lease_until": now + dt.timedelta(seconds=settings.JOB_LEASE_SECONDS),
        "worker": worker_name(),
        "attempts": F("attempts") + 1,
    }


class Heartbeat:
    """Renews a running job's lease from a thread until the block ends.

    The thread opens its own connection (a Django connection belongs to the thread that
    made it) only when the first renewal is due, so the many jobs that end within a
    fraction of the lease never open one. SKIP LOCKED: a caller's transaction that holds
    the job row must not block the heartbeat (the lease is then simply not renewed)."""

    def __init__(self, model: type[models.Model], job_id: int):
        self.table = model._meta.db_table
        self.job_id = job_id
        self.interval = settings.JOB_LEASE_SECONDS / 4
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"lease-{self.table}-{job_id}")

    def __enter__(self) -> Heartbeat:
        self.thread.daemon = True  # never keeps a dying process alive
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        connection = None
        try:
            while not self.stop.wait(self.interval):
                try:
                    if connection is None:
                        connection = connections.create_connection(DEFAULT_DB_ALIAS)
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {self.table} SET lease_until = now() + %s "  # noqa: S608 - model table
                            f"WHERE id = (SELECT id FROM {self.table} WHERE id = %s "
                            "AND status = %s FOR UPDATE SKIP LOCKED)",
                            [
                                dt.timedelta(seconds=settings.JOB_LEASE_SECONDS),
                                self.job_id,
                                ImportStatus.RUNNING,
                            ],
                        )
                except DatabaseError:
                    # Tried again at the next beat; if the database stays away the lease
                    # lapses and the job is failed, which is the truth by then.
                    logger.warning("lease of %s %s not renewed", self.table, self.job_id)
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()


def _process_gone(worker: str) -> bool:
    """True when `worker` (host:pid) names a process of this host that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    try:  # a killed child its parent has not reaped yet is a zombie: dead all the same
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def is_dead(job: ImportJob | ExportJob, *, now: dt.datetime | None = None) -> bool:
    if job.status != ImportStatus.RUNNING:  # the same value for both kinds of job
        return False
    if job.lease_until is not None and job.lease_until < (now or timezone.now()):
        return True
    return bool(job.worker) and _process_gone(job.worker)


def _partial_files(job_id: int) -> list[Path]:
    root = Path(settings.EXPORT_ROOT)
    return list(root.glob(f"ekspor-{job_id}-*.part")) if root.is_dir() else []


def _fail_dead_import(job: ImportJob, now: dt.datetime) -> bool:
    # Conditional on the same run: a retry that claimed the job meanwhile is left alone.
    return bool(
        ImportJob.objects.filter(
            pk=job.pk, status=ImportStatus.RUNNING, worker=job.worker, attempts=job.attempts
        ).update(
            status=ImportStatus.FAILED,
            message=IMPORT_DIED,
            message_params={},
            progress_phase="",
            lease_until=None,
            finished=now,
        )
    )


def _fail_dead_export(job: ExportJob, now: dt.datetime) -> bool:
    failed = ExportJob.objects.filter(
        pk=job.pk, status=ExportStatus.RUNNING, worker=job.worker, attempts=job.attempts
    ).update(
        status=ExportStatus.FAILED,
        error=EXPORT_DIED,
        error_params={},
        lease_until=None,
        finished=now,
    )
    if failed:
        for path in _partial_files(job.pk):
            path.unlink(missing_ok=True)
    return bool(failed)


def _upload_expired(job: ImportJob, now: dt.datetime) -> bool:
    keep = dt.timedelta(hours=settings.IMPORT_UPLOAD_RETENTION_HOURS)
    if job.status in (ImportStatus.VALIDATED, ImportStatus.FAILED):
        # Jobs from before `finished` existed count from their last update.
        return (job.finished or job.updated) <= now - keep
    # Queued and never run (its task was lost): the upload goes all the same.
    return job.status == ImportStatus.QUEUED and job.created <= now - keep


def _expire_upload(job: ImportJob) -> bool:
    return bool(
        ImportJob.objects.filter(pk=job.pk, status=job.status).update(
            status=ImportStatus.EXPIRED,
            **UPLOAD_RELEASED,
            message=UPLOAD_EXPIRED,
            message_params={},
        )
    )


def import_job_check(*, job: ImportJob, now: dt.datetime | None = None) -> ImportJob:
    """The job as it really is: failed if its process died, expired past its retention.
    Cheap when nothing is due (no query), so every status request can afford it."""
    now = now or timezone.now()
    changed = (is_dead(job, now=now) and _fail_dead_import(job, now)) or (
        _upload_expired(job, now) and _expire_upload(job)
    )
    if changed:
        job.refresh_from_db(
            fields=["status", "message", "message_params", "progress_phase", "finished"]
        )
    return job


def export_job_check(*, job: ExportJob, now: dt.datetime | None = None) -> ExportJob:
    now = now or timezone.now()
    if is_dead(job, now=now) and _fail_dead_export(job, now):
        job.refresh_from_db(fields=["status", "error", "error_params", "finished"])
    return job


def jobs_recover(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Fail every job whose process died and delete every upload past its retention."""
    now = now or timezone.now()
    keep = dt.timedelta(hours=settings.IMPORT_UPLOAD_RETENTION_HOURS)
    imports = ImportJob.objects.all()
    counts = {"imports_failed": 0, "exports_failed": 0, "uploads_expired": 0}
    for job in imports.filter(status=ImportStatus.RUNNING):
        counts["imports_failed"] += is_dead(job, now=now) and _fail_dead_import(job, now)
    for job in ExportJob.objects.filter(status=ExportStatus.RUNNING):
        counts["exports_failed"] += is_dead(job, now=now) and _fail_dead_export(job, now)
    ended = [ImportStatus.VALIDATED, ImportStatus.FAILED]
    due = imports.filter(
        models.Q(status__in=ended, finished__lte=now - keep)
        | models.Q(status__in=ended, finished__isnull=True, updated__lte=now - keep)
        | models.Q(status=ImportStatus.QUEUED, created__lte=now - keep)
    )
    for job in due:
        counts["uploads_expired"] += _expire_upload(job)
    # A rejected file is dropped when it is rejected; this catches older ones.
    counts["uploads_expired"] += imports.filter(
        status=ImportStatus.REJECTED, file_oid__isnull=False
    ).update(**UPLOAD_RELEASED)
    if any(counts.values()):
        logger.warning("jobs recovered: %s", counts)
    return counts
