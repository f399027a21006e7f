"""Job lifecycle: dead jobs are failed by whoever looks next, failed jobs are retried by
their owner or an administrator only, uploads and partial files do not outlive their
use. (A real worker killed mid-import: tests/households/census_import/test_import_jobs.py.)"""

from __future__ import annotations

import datetime as dt
import io
import socket
import subprocess

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from households import jobs
from households.census_import.jobs import import_job_create, import_job_run
from households.models import (
    ExportJob,
    ExportKind,
    ExportStatus,
    Household,
    ImportJob,
    ImportStatus,
)
from tests.factories import HouseholdFactory
from tests.households.census_import.test_import import family, upload, xlsx

pytestmark = pytest.mark.django_db


def dead_pid() -> int:
    """The pid of a process of this host that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])  # noqa: S607 - coreutils
    process.wait()
    return process.pid


def running_import(user, *, worker: str, lease: dt.timedelta) -> ImportJob:
    job = import_job_create(user=user, file_name="sensus.xlsx", data=xlsx(*family()))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING,
        worker=worker,
        lease_until=timezone.now() + lease,
        attempts=1,
        progress_percent=77,
        progress_phase="stage",
    )
    return ImportJob.objects.get(pk=job.pk)


def running_export(user, *, worker: str, lease: dt.timedelta) -> ExportJob:
    return ExportJob.objects.create(
        user=user,
        kind=ExportKind.HOUSEHOLDS,
        status=ExportStatus.RUNNING,
        worker=worker,
        lease_until=timezone.now() + lease,
        attempts=1,
        started=timezone.now(),
    )


def large_objects() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_largeobject_metadata")
        return cursor.fetchone()[0]


def test_status_request_fails_a_job_whose_process_is_gone(personas, as_user):
    owner = personas["operator_a"]
    job = running_import(
        owner, worker=f"{socket.gethostname()}:{dead_pid()}", lease=dt.timedelta(minutes=5)
    )
    client = as_user(owner)
    shown = client.get(f"/api/v1/imports/{job.pk}/").json()
    assert shown["status"] == ImportStatus.FAILED
    assert shown["message"].startswith("Pekerjaan terhenti")
    assert shown["progress_phase"] == "" and shown["retry_url"].endswith(f"/{job.pk}/retry/")
    english = client.get(f"/api/v1/imports/{job.pk}/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["message"].startswith("The job stopped: the background process died")
    job.refresh_from_db()
    assert job.file_oid is not None and job.finished is not None


def test_only_jobs_whose_lease_lapsed_or_process_is_gone_are_failed(personas):
    owner = personas["operator_a"]
    minutes = dt.timedelta(minutes=5)
    live = running_import(owner, worker=jobs.worker_name(), lease=minutes)
    lapsed = running_import(owner, worker=jobs.worker_name(), lease=dt.timedelta(seconds=-1))
    elsewhere = running_import(owner, worker="other-host:1", lease=minutes)
    export = running_export(personas["analyst"], worker="other-host:2", lease=minutes)
    assert jobs.jobs_recover() == {"imports_failed": 1, "exports_failed": 0, "uploads_expired": 0}
    assert ImportJob.objects.get(pk=lapsed.pk).status == ImportStatus.FAILED
    assert ImportJob.objects.get(pk=live.pk).status == ImportStatus.RUNNING
    assert ImportJob.objects.get(pk=elsewhere.pk).status == ImportStatus.RUNNING
    assert ExportJob.objects.get(pk=export.pk).status == ExportStatus.RUNNING


def test_clean_exports_fails_jobs_whose_lease_lapsed_and_removes_their_partial_file(
    personas, settings
):
    lapsed = dt.timedelta(seconds=-1)
    imported = running_import(personas["operator_a"], worker="other-host:11", lease=lapsed)
    export = running_export(personas["analyst"], worker="other-host:12", lease=lapsed)
    other = running_export(personas["analyst"], worker="other-host:13", lease=dt.timedelta(hours=1))
    settings.EXPORT_ROOT.mkdir(parents=True)
    partial = settings.EXPORT_ROOT / f"ekspor-{export.pk}-0123abcd.xlsx.part"
    partial.write_bytes(b"half a workbook")
    still_written = settings.EXPORT_ROOT / f"ekspor-{other.pk}-4567cdef.xlsx.part"
    still_written.write_bytes(b"being written")
    out = io.StringIO()
    call_command("clean_exports", stdout=out)
    assert "dead jobs failed: 1 imports, 1 exports" in out.getvalue()
    imported.refresh_from_db()
    assert imported.status == ImportStatus.FAILED and imported.message == jobs.IMPORT_DIED
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and export.error == jobs.EXPORT_DIED
    assert not partial.exists() and still_written.exists()
    assert ExportJob.objects.get(pk=other.pk).status == ExportStatus.RUNNING


def test_import_retry_is_for_the_owner_or_an_administrator_and_failed_jobs_only(personas, as_user):
    job = running_import(personas["operator_a"], worker="other-host:3", lease=-dt.timedelta(1))
    url = f"/api/v1/imports/{job.pk}/retry/"
    assert as_user(None).post(url).status_code in (401, 403)
    assert as_user(personas["analyst"]).post(url).status_code == 403  # may not import
    assert as_user(personas["operator_b"]).post(url).status_code == 404
    # The operator's own upload, retried by an administrator, runs with the operator's rights.
    retried = as_user(personas["admin"]).post(url)
    assert retried.status_code == 200 and retried.json()["status"] == ImportStatus.VALIDATED
    again = as_user(personas["operator_a"]).post(url)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_ready"
    assert "gagal" in again.json()["error"]["message"]


def test_export_retry_runs_the_job_again_for_its_owner(personas, as_user, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    HouseholdFactory()
    analyst = personas["analyst"]
    job = running_export(analyst, worker="other-host:4", lease=dt.timedelta(seconds=-1))
    url = f"/api/v1/exports/jobs/{job.pk}/retry/"
    assert as_user(personas["analyst_waru"]).post(url).status_code == 404
    assert as_user(personas["official"]).post(url).status_code == 403
    client = as_user(analyst)
    failed = client.get(f"/api/v1/exports/jobs/{job.pk}/").json()
    assert failed["status"] == ExportStatus.FAILED and failed["retry_url"] == url
    retried = client.post(url)
    assert retried.status_code == 202
    assert retried.json()["status"] == ExportStatus.DONE and retried.json()["error"] == ""
    assert client.get(retried.json()["download_url"]).status_code == 200
    assert client.post(url).status_code == 409  # done: nothing to retry
    assert ExportJob.objects.get(pk=job.pk).attempts == 2


def test_uploads_are_deleted_past_their_retention(personas, as_user, settings):
    owner = personas["operator_a"]
    client = as_user(owner)
    preview = upload(client, xlsx(*family())).json()
    assert preview["status"] == ImportStatus.VALIDATED
    failed = running_import(owner, worker="other-host:5", lease=dt.timedelta(seconds=-1))
    jobs.jobs_recover()
    queued = import_job_create(user=owner, file_name="lost.xlsx", data=xlsx(*family()))
    later = timezone.now() + dt.timedelta(hours=settings.IMPORT_UPLOAD_RETENTION_HOURS, minutes=1)
    assert jobs.jobs_recover() == {"imports_failed": 0, "exports_failed": 0, "uploads_expired": 0}
    ImportJob.objects.update(finished=timezone.now() - (later - timezone.now()))
    ImportJob.objects.filter(pk=queued.pk).update(created=timezone.now() - (later - timezone.now()))
    # A status request deletes the upload it finds past its time...
    shown = client.get(preview["url"]).json()
    assert shown["status"] == ImportStatus.EXPIRED and "unggah ulang" in shown["message"]
    commit = client.post(preview["url"], {"action": "commit"}, content_type="application/json")
    assert commit.status_code == 400 and not Household.objects.exists()
    # ...and the cleaner deletes the others.
    assert jobs.jobs_recover() == {"imports_failed": 0, "exports_failed": 0, "uploads_expired": 2}
    assert not ImportJob.objects.filter(file_oid__isnull=False).exists()
    assert large_objects() == 0  # the trigger unlinked every expired upload
    assert set(ImportJob.objects.values_list("status", flat=True)) == {ImportStatus.EXPIRED}
    retry = client.post(f"/api/v1/imports/{failed.pk}/retry/")
    assert retry.status_code == 409 and "unggah ulang" in retry.json()["error"]["message"]


def test_rejected_upload_is_deleted_at_once(personas, as_user):
    households, members = family()
    households[0]["lantai"] = "99"
    job = upload(as_user(personas["operator_a"]), xlsx(households, members)).json()
    assert job["status"] == ImportStatus.REJECTED and job["retry_url"] is None
    stored = ImportJob.objects.get(pk=job["id"])
    assert stored.file_oid is None and stored.members_file_oid is None
    assert large_objects() == 0


def test_a_job_runs_once_even_when_its_task_is_delivered_twice(personas):
    job = import_job_create(user=personas["operator_a"], file_name="s.xlsx", data=xlsx(*family()))
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and job.attempts == 1
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED and job.attempts == 1


def test_pages_offer_a_retry_button(personas, as_user):
    page = as_user(personas["operator_a"]).get("/impor/").content.decode()
    assert 'id="import-retry"' in page
    exports = as_user(personas["analyst"]).get("/ekspor/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in exports
