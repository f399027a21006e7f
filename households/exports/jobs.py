"""Export jobs: a large XLSX is built by the background worker, kept for a while, then
deleted.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks import task

from desapresisi import audit
from desapresisi.access import can_export_named, can_unmask, disclosure_for
from desapresisi.errors import Gone, InvalidInput, NotAllowed, NotReady
from desapresisi.i18n import Message, MessageError
from desapresisi.models import AuditAction

from ..jobs import Heartbeat, lease_fields
from ..models import ExportJob, ExportStatus
from .service import export_queryset, named_rows_written, named_workbook_write

logger = logging.getLogger(__name__)


# --- export jobs ---------------------------------------------------------------------------

PROGRESS_EVERY_ROWS = 1000


class ExportRefused(MessageError):
    """The owner may no longer have what the job was asked for (the rights are checked
    again when it runs); the message says why (stored as its msgid, translated when
    shown)."""


def export_job_create(
    *, user, kind: str, query, unmasked: bool, language: str, rows: int
) -> ExportJob:
    """A queued export job for `user`; `query` is the request's query parameters."""
    filters = {key: query.getlist(key) for key in query if key != "unmask"}
    return ExportJob.objects.create(
        user=user,
        kind=kind,
        format="xlsx",
        query=filters,
        unmasked=unmasked,
        language=language,
        rows=rows,
    )


def export_job_start(*, job: ExportJob) -> None:

    export_task.enqueue(job_id=job.pk)


def _refusal(exc: ExportRefused | InvalidInput) -> Message:
    """A refusal for the job's owner, kept as a msgid. Refused filters (a right withdrawn
    since the request) are named `field: message` per field, their messages written in
    the job's language, which is active while it runs."""
    if isinstance(exc, ExportRefused):
        return exc.message
    parts = []
    for field, messages in exc.fields.items():
        messages = messages if isinstance(messages, list | tuple) else [messages]
        parts.append(f"{field}: {' '.join(str(message) for message in messages)}")
    return Message(
        gettext_noop("Filter ekspor ini tidak lagi berlaku bagi pemiliknya: %(reasons)s"),
        reasons="; ".join(parts),
    )


def _job_failed(job_id: int, message: Message) -> None:
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportStatus.FAILED,
        error=message.msgid,
        error_params=message.params,
        finished=timezone.now(),
    )


def export_job_run(*, job_id: int) -> None:
    """Build a job's workbook into EXPORT_ROOT with its progress, in the worker.

    The owner's role, access scope and right to unmask are those of now, not of the
    request: a right withdrawn meanwhile fails the job instead of being used."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started=timezone.now(), **lease_fields()
    )
    if not claimed:
        return  # already run (a task delivered twice) or given up on by the cleaner
    with Heartbeat(ExportJob, job_id):
        _export_job_build(job_id)


def _export_job_build(job_id: int) -> None:
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    user = job.user
    partial: Path | None = None
    try:
        if not can_export_named(user):
            raise ExportRefused(gettext_noop("Pemilik tidak lagi berhak mengekspor data bernama."))
        try:
            disclosure = disclosure_for(user, unmask_requested=job.unmasked)
        except PermissionError:
            audit.record(
                action=AuditAction.ACCESS_DENIED,
                user=user,
                filters={"job": job.pk},
                detail=f"unmask (export job {job.pk})",
            )
            raise ExportRefused(
                gettext_noop("Pemilik tidak lagi berhak membuka NIK/KK; minta ekspor tanpa unmask.")
            ) from None
        # Built in the language the job was asked in (a refused filter's reasons too).
        with translation.override(job.language):
            query = MultiValueDict({key: list(values) for key, values in job.query.items()})
            queryset = export_queryset(kind=job.kind, user=user, query=query)
            total = 0
            done = 0

            def on_total(rows: int) -> None:
                nonlocal total
                total = rows
                ExportJob.objects.filter(pk=job.pk).update(progress_total=total)

            def on_row() -> None:
                nonlocal done
                done += 1
                if done % PROGRESS_EVERY_ROWS == 0:
                    ExportJob.objects.filter(pk=job.pk).update(
                        progress_rows=done,
                        progress_total=total,
                        progress_percent=min(99, 100 * done // max(total, 1)),
                    )

            root = Path(settings.EXPORT_ROOT)
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = f"ekspor-{job.pk}-{secrets.token_hex(8)}.xlsx"
            # Written under another name first: a crash leaves a .part for the cleaner,
            # never a truncated file that looks finished.
            partial = root / f"{name}.part"
            named_workbook_write(
                kind=job.kind,
                user=user,
                queryset=queryset,
                disclosure=disclosure,
                language=job.language,
                query_string=urlencode(job.query, doseq=True),
                target=partial,
                on_total=on_total,
                on_row=on_row,
            )
        os.replace(partial, root / name)
        partial = None
    except (ExportRefused, InvalidInput) as exc:
        _job_failed(job.pk, _refusal(exc))
        return
    except Exception as exc:
        _job_failed(
            job.pk,
            Message(
                gettext_noop("Kesalahan tak terduga; tidak ada berkas. (%(error)s)"),
                error=type(exc).__name__,
            ),
        )
        raise
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        finished=now,
        expires=now + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS),
        file_name=name,
        file_size=(root / name).stat().st_size,
        progress_rows=total,
        progress_total=total,
        progress_percent=100,
    )
    # Every finished job also sweeps: expired files go even where no cron runs the cleaner.
    export_files_clean()


def export_file_delete(*, job: ExportJob, status: str = ExportStatus.EXPIRED) -> None:
    """Remove a job's file and record that it is gone."""
    if job.path is not None:
        job.path.unlink(missing_ok=True)
    ExportJob.objects.filter(pk=job.pk).update(status=status, file_name="", file_size=0)
    job.status, job.file_name, job.file_size = status, "", 0


def export_is_expired(*, job: ExportJob, now: dt.datetime | None = None) -> bool:
    if job.status == ExportStatus.EXPIRED:
        return True
    if job.status != ExportStatus.DONE:
        return False
    missing = job.path is None or not job.path.exists()
    return missing or (job.expires is not None and job.expires <= (now or timezone.now()))


def export_files_clean(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete export files past their expiry, give up on jobs that never finished, and
    remove files no finished job names (a worker that died while writing)."""
    now = now or timezone.now()
    retention = dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, expires__lte=now):
        export_file_delete(job=job)
        expired += 1
    abandoned = ExportJob.objects.filter(
        status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING], created__lte=now - retention
    ).update(
        status=ExportStatus.FAILED,
        finished=now,
        error=gettext_noop("Tidak selesai dalam batas waktu; minta ekspor lagi."),
        error_params={},
    )
    orphans = 0
    root = Path(settings.EXPORT_ROOT)
    if root.is_dir():
        kept = set(
            ExportJob.objects.filter(status=ExportStatus.DONE).values_list("file_name", flat=True)
        )
        cutoff = time.time() - retention.total_seconds()
        for path in root.iterdir():
            if path.is_file() and path.name not in kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                orphans += 1
    if expired or abandoned or orphans:
        logger.info(
            "export files cleaned: %s expired, %s abandoned, %s orphaned",
            expired,
            abandoned,
            orphans,
        )
    return {"expired": expired, "abandoned": abandoned, "orphans": orphans}


# --- the workflow the API's export endpoints run (audit trail included) --------------------


def named_export_begin(
    *, kind: str, fmt: str, user, query, disclosure, language: str, request=None
) -> tuple[QuerySet, int, ExportJob | None]:
    """Start a named-record export: the caller's rows, whether an XLSX is too large for the
    request (then an export job, started here), and the audit trail (the export and any
    unmasking). `request`, when there is one, gives the trail its address and path.
    Returns (queryset, rows, job or None: build the file now)."""
    queryset = export_queryset(kind=kind, user=user, query=query)
    count = queryset.count()
    job = None
    if fmt == "xlsx" and (
        named_rows_written(kind=kind, user=user, queryset=queryset)
        > settings.EXPORT_XLSX_SYNC_MAX_ROWS
    ):
        job = export_job_create(
            user=user,
            kind=kind,
            query=query,
            unmasked=disclosure.unmasked,
            language=language,
            rows=count,
        )
    audit.record(
        action=AuditAction.EXPORT,
        request=request,
        user=user,
        rows=count,
        detail=f"{kind}.{fmt}" + (f" (job {job.pk})" if job else ""),
    )
    if disclosure.unmasked:
        audit.record(action=AuditAction.UNMASK, request=request, user=user, rows=count)
    if job is not None:
        export_job_start(job=job)
        job.refresh_from_db()
    return queryset, count, job


def export_job_file(*, job: ExportJob, user, request=None):
    """The finished file of an export job, opened for reading, for a caller that may have it
    (the job's owner or an administrator): refused once it expired, before it is done, and
    when it is unmasked and the caller may not unmask now. Every download is audited."""
    if export_is_expired(job=job):
        export_file_delete(job=job)
        raise Gone(_("Berkas ekspor sudah kedaluwarsa dan dihapus; minta ekspor lagi."))
    if job.status != ExportStatus.DONE:
        raise NotReady(
            _("Ekspor belum siap (%(status)s, %(percent)s%%).")
            % {"status": job.get_status_display(), "percent": job.progress_percent}
        )
    if job.unmasked and not can_unmask(user):
        audit.record(action=AuditAction.ACCESS_DENIED, request=request, user=user, detail="unmask")
        raise NotAllowed(_("Anda tidak berhak membuka NIK/KK."))
    try:
        handle = job.path.open("rb")
    except FileNotFoundError:  # removed by the cleaner since the check above
        export_file_delete(job=job)
        raise Gone(_("Berkas ekspor sudah dihapus.")) from None
    filters = {**job.query, "job": [str(job.pk)]}
    audit.record(
        action=AuditAction.EXPORT,
        request=request,
        user=user,
        rows=job.rows,
        filters=filters,
        # Audit details are technical tags for whoever reads the trail, not UI text.
        detail=f"{job.kind}.{job.format} (job {job.pk}, download)",
    )
    if job.unmasked:
        audit.record(
            action=AuditAction.UNMASK, request=request, user=user, rows=job.rows, filters=filters
        )
    return handle


def export_job_retry(*, job: ExportJob, user, request=None) -> ExportJob:
    """Run a failed export job again, with its owner's rights of now (checked when it
    runs). Refused unless the job failed."""
    retried = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.FAILED).update(
        status=ExportStatus.QUEUED,
        error="",
        error_params={},
        started=None,
        finished=None,
        progress_rows=0,
        progress_percent=0,
    )
    if not retried:
        raise NotReady(_("Hanya pekerjaan yang gagal yang dapat dicoba lagi."))
    audit.record(
        action=AuditAction.EXPORT,
        request=request,
        user=user,
        rows=job.rows,
        filters={**job.query, "job": [str(job.pk)]},
        detail=f"{job.kind}.{job.format} (job {job.pk}, retry)",
    )
    export_job_start(job=job)
    job.refresh_from_db()
    return job


@task()
def export_task(job_id: int) -> None:
    """Builds an export job's file in the background worker (`manage.py db_worker`)."""
    export_job_run(job_id=job_id)
