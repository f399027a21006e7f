"""Import jobs: progress, the background task and its start."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import ExitStack

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop, override
from django_tasks import task

from desapresisi import audit
from desapresisi.models import AuditAction

from ..jobs import Heartbeat, lease_fields
from ..models import UPLOAD_RELEASED, ImportJob, ImportStatus
from ..uploads import upload_open, upload_store
from .columns import KEEP, MAX_STORED_ERRORS, REMOVE, SYNC_MAX_BYTES, ImportFileError, RowError
from .read import census_read, work_bytes
from .service import census_import, errors_as_dicts
from .write import StagedRows, staging_signature

# --- jobs --------------------------------------------------------------------------------

# Other file formats of census data, by the job's `options["format"]`: a function
# (job, progress) -> ImportResult that reads the upload and imports it through
# `census_import`. The field tools' exports register theirs (households.fieldwork.jobs),
# so the job, its progress, its page and its API stay the same for every format.
RUNNERS: dict[str, Callable] = {}


# Share of the whole job each phase covers, in percent: validation is about half of the
# work, staging (COPY) and the upserts most of the rest.
PHASE_PERCENT = {"validate": (0, 50), "stage": (50, 80), "upsert": (80, 96), "refresh": (96, 99)}


class _JobProgress:
    """Writes a job's progress so that other sessions (the page, the API) see it at once.

    Outside the import's transaction an ordinary UPDATE does. Inside it (staging and
    upserts, which can take minutes) an UPDATE on the same connection would stay invisible
    until the commit, so it goes through a second connection of its own, in autocommit.
    SKIP LOCKED makes that write give way instead of waiting when the job row is locked by
    the importing transaction itself (a caller's outer transaction), which would deadlock.
    The data stays all-or-nothing: only the job row is written on the side."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        # A caller's own transaction (a test, a command run inside atomic) is not ours.
        self.base_depth = len(connection.atomic_blocks)
        self.side = None

    def __call__(self, done: int, total: int, phase: str) -> None:
        low, high = PHASE_PERCENT[phase]
        share = min(done / total, 1.0) if total else 1.0
        fields = {
            "progress_rows": done,
            "progress_total": total,
            "progress_percent": int(low + (high - low) * share),
            "progress_phase": phase,
        }
        if len(connection.atomic_blocks) <= self.base_depth:
            ImportJob.objects.filter(pk=self.job_id).update(**fields)
            return
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.side.cursor() as cursor:
            cursor.execute(
                """
                UPDATE households_importjob SET progress_rows = %s, progress_total = %s,
                       progress_percent = %s, progress_phase = %s, updated = now()
                WHERE id = (SELECT id FROM households_importjob WHERE id = %s
                            FOR UPDATE SKIP LOCKED)
                """,
                [*fields.values(), self.job_id],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def import_job_run(*, job_id: int) -> None:
    """Run a stored job (in the request, or in the background worker) and record the
    outcome on it, with its progress visible to pollers throughout (`_JobProgress`)."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, **lease_fields()
    )
    if not claimed:
        return  # run already (a task delivered twice), or failed or expired meanwhile
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    progress = _JobProgress(job.pk)
    try:
        # The messages' parameters (codebook labels) in the uploader's language, also in
        # the background worker; the messages themselves are translated when shown.
        with Heartbeat(ImportJob, job.pk), override(job.language):
            _import_job_execute(job, progress)
    finally:
        progress.close()


def _staged_usable(job) -> bool:
    """The commit of a dry run that kept its rows, made by this code's staging tables."""
    return (
        not job.dry_run
        and job.staged_oid is not None
        and job.staged_members_oid is not None
        and job.options.get("staged_signature") == staging_signature()
    )


def _import_file(job, progress: _JobProgress):
    """Read the upload (spooled to local files, rows read as they import) and import it;
    a dry run whose every check passed keeps its staging rows for the commit."""
    options = job.options
    with ExitStack() as files:
        data = files.enter_context(upload_open(job.file_oid))
        members = files.enter_context(upload_open(job.members_file_oid))
        staged = None
        if job.dry_run:
            staged = StagedRows(
                households=files.enter_context(tempfile.TemporaryFile(prefix="desapresisi-")),
                members=files.enter_context(tempfile.TemporaryFile(prefix="desapresisi-")),
            )
        sheets = census_read(name=job.file_name, data=data or b"", members_data=members)
        result = census_import(
            sheets=sheets,
            user=job.user,
            dry_run=job.dry_run,
            missing_members=options.get("missing_members", KEEP),
            progress=progress,
            survey_round=options.get("survey_round", ""),
            staged_out=staged,
        )
        if result.staged:
            with transaction.atomic():
                staged_oid, _size = upload_store(staged.households)
                members_oid, _size = upload_store(staged.members)
                ImportJob.objects.filter(pk=job.pk).update(
                    staged_oid=staged_oid,
                    staged_members_oid=members_oid,
                    options={**options, "staged_signature": staging_signature()},
                )
    return result


def _commit_staged(job, progress: _JobProgress):
    """Commit a dry run from the rows it kept: checked against the database again, not
    read and checked from the file again."""
    with upload_open(job.staged_oid) as households, upload_open(job.staged_members_oid) as members:
        return census_import(
            sheets=[],
            user=job.user,
            dry_run=False,
            missing_members=job.options.get("missing_members", KEEP),
            progress=progress,
            survey_round=job.options.get("survey_round", ""),
            staged_in=StagedRows(households=households, members=members),
        )


def _import_job_execute(job, progress: _JobProgress) -> None:
    try:
        runner = RUNNERS.get(job.options.get("format", ""))
        if runner is not None:
            result = runner(job, progress)
        elif _staged_usable(job):
            result = _commit_staged(job, progress)
        else:
            result = _import_file(job, progress)
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.REJECTED,
            message=exc.message.msgid,
            message_params=exc.message.params,
            errors=[RowError("", None, "", "", exc.message).as_dict()],
            error_count=1,
            progress_percent=100,
            # A rejected file is of no further use; it is personal data.
            **UPLOAD_RELEASED,
            finished=timezone.now(),
        )
        return
    except Exception as exc:
        # The upload stays (IMPORT_UPLOAD_RETENTION_HOURS) for a retry.
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            message=gettext_noop("Kesalahan tak terduga; tidak ada yang disimpan. (%(error)s)"),
            message_params={"error": type(exc).__name__},
            progress_phase="",
            finished=timezone.now(),
        )
        raise
    if result.committed:
        status = ImportStatus.DONE
    elif result.errors:
        status = ImportStatus.REJECTED
    else:
        status = ImportStatus.VALIDATED
    counts = result.counts
    warnings = {
        "warnings": errors_as_dicts(result.warnings[:MAX_STORED_ERRORS]),
        "warning_count": result.warning_count,
    }
    if result.from_staged:
        # The file's warnings are the dry run's (the commit did not read the file again).
        warnings = {"warnings": job.warnings, "warning_count": job.warning_count}
        for unit, unit_counts in counts.items():
            if "warnings" in unit_counts:
                unit_counts["warnings"] = job.counts.get(unit, {}).get("warnings", 0)
    updates = {
        "status": status,
        "counts": counts,
        "errors": errors_as_dicts(result.errors[:MAX_STORED_ERRORS]),
        "error_count": result.error_count,
        **warnings,
        "missing_members": result.missing_members[:MAX_STORED_ERRORS],
        "progress_percent": 100,
        "progress_rows": result.rows,
        "progress_total": result.rows,
        "progress_phase": "",
        "finished": timezone.now(),
    }
    if result.committed or status == ImportStatus.REJECTED:
        # Committed, the data now lives in the tables; rejected, the file must be fixed
        # and uploaded again. Either way the upload is personal data to drop.
        updates.update(UPLOAD_RELEASED)
    ImportJob.objects.filter(pk=job.pk).update(**updates)
    audit.record(
        action=AuditAction.IMPORT,
        user=job.user,
        rows=result.rows,
        filters={
            "job": job.pk,
            "dry_run": job.dry_run,
            "committed": result.committed,
            "regions": result.regions,
            **job.options,
        },
        detail=f"{job.file_name}: {status}",
    )


def import_job_create(
    *,
    user,
    file_name: str,
    data,
    members_data=None,
    dry_run: bool = True,
    missing_members: str = KEEP,
    language: str = "id",
    options: dict | None = None,
):
    """A job for an upload: `data` and `members_data` are bytes, Django UploadedFiles or
    binary files, stored a chunk at a time (households/uploads.py), never read whole.
    `options`: more of the job's options (a registered `format`, see RUNNERS)."""
    if missing_members not in (KEEP, REMOVE):
        raise ValueError("missing_members")
    work = work_bytes(data)
    with transaction.atomic():
        file_oid, _size = upload_store(data)
        members_oid, members_size = (
            upload_store(members_data) if members_data is not None else (None, 0)
        )
        return ImportJob.objects.create(
            user=user if user is not None and user.is_authenticated else None,
            file_name=file_name[:255],
            file_oid=file_oid,
            members_file_oid=members_oid,
            work_bytes=work + members_size,
            dry_run=dry_run,
            options={"missing_members": missing_members, **(options or {})},
            language=language,
        )


def import_job_start(*, job) -> bool:
    """Run small files now, queue large ones. Returns True when queued.

    Small by what parsing costs, not by the upload's size: a compressed XLSX of 800 KB can
    hold gigabytes, and its declared uncompressed size is the bound zipfile enforces."""
    if job.work_bytes <= SYNC_MAX_BYTES:
        import_job_run(job_id=job.pk)
        return False

    import_census_task.enqueue(job_id=job.pk)
    return True


@task()
def import_census_task(job_id: int) -> None:
    """Runs an import job in the background worker (`manage.py db_worker`)."""
    import_job_run(job_id=job_id)
