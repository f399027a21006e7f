"""Import progress while the write transaction runs, seen from another session, a crash
inside that transaction, two concurrent commits of one dry run, and a real worker process
killed in the middle of a job.

These tests need committed data (another connection must see the job row), so they use
the transactional database, whose teardown empties every table: the PPU regions are put
back before each test and after the module, for whatever test this worker runs next.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test import Client
from django.utils import translation

from desapresisi.i18n import shown
from desapresisi.models import AuditAction, AuditEntry, ChangeRecord
from households import jobs
from households.census_import import jobs as import_jobs
from households.census_import import write
from households.census_import.jobs import import_census_task
from households.models import Household, ImportJob, ImportStatus, Member
from households.uploads import upload_bytes
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.census_import.test_import import family, xlsx
from villages.models import Region

pytestmark = pytest.mark.django_db(transaction=True)


def _load_regions() -> None:
    if not Region.objects.filter(code="64.09").exists():
        call_command("load_regions", scope="ppu", verbosity=0, stdout=io.StringIO())


@pytest.fixture(scope="module", autouse=True)
def _regions_back_after_module(django_db_setup, django_db_blocker):
    yield
    with django_db_blocker.unblock():
        _load_regions()


@pytest.fixture(autouse=True)
def _regions(transactional_db):
    _load_regions()


def outside(sql: str, params: list) -> tuple:
    """What another session (the page, the API) sees: a connection of its own."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    finally:
        other.close()


PROGRESS_SQL = (
    "SELECT status, progress_phase, progress_rows, progress_total, progress_percent, "
    "(SELECT count(*) FROM households_household) FROM households_importjob WHERE id = %s"
)


def test_progress_written_inside_the_write_transaction_is_seen_outside_it(monkeypatch):
    job = import_jobs.import_job_create(
        user=None, file_name="sensus.xlsx", data=xlsx(*family()), dry_run=False
    )
    seen = []
    upsert_members = write._upsert_members

    def watched(cursor):
        assert connection.in_atomic_block  # households upserted, nothing committed yet
        seen.append(outside(PROGRESS_SQL, [job.pk]))
        return upsert_members(cursor)

    monkeypatch.setattr(write, "_upsert_members", watched)
    import_jobs.import_job_run(job_id=job.pk)
    status, phase, rows, total, percent, households_outside = seen[0]
    assert (status, phase, rows, total) == (ImportStatus.RUNNING, "upsert", 1, 3)
    assert 80 <= percent < 96
    assert households_outside == 0
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.progress_percent == 100
    assert Household.objects.count() == 1 and Member.objects.count() == 2


def test_crash_inside_the_write_transaction_leaves_no_rows_and_a_failed_job(monkeypatch):
    with transaction.atomic():  # the one-head check runs at commit
        existing = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    job = import_jobs.import_job_create(
        user=None, file_name="sensus.xlsx", data=xlsx(*family()), dry_run=False
    )
    seen = []

    def boom(cursor):
        seen.append(outside(PROGRESS_SQL, [job.pk]))
        raise RuntimeError("crash after the household upsert")

    monkeypatch.setattr(write, "_upsert_members", boom)
    with pytest.raises(RuntimeError):
        import_jobs.import_job_run(job_id=job.pk)
    assert seen[0][:3] == (ImportStatus.RUNNING, "upsert", 1)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    shown_now = shown(job.message, job.message_params)
    assert "tidak ada yang disimpan" in shown_now and "RuntimeError" in shown_now
    with translation.override("en"):
        english = shown(job.message, job.message_params)
    assert "nothing was saved" in english and "RuntimeError" in english
    assert list(Household.objects.values_list("pk", flat=True)) == [existing.pk]
    assert Member.objects.exclude(household=existing).count() == 0


def _waiting_on_locks() -> int:
    return outside(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        [],
    )[0]


def test_two_concurrent_commits_of_one_dry_run_run_it_once_and_the_second_gets_409(personas):
    operator = personas["operator_a"]
    job = import_jobs.import_job_create(
        user=operator, file_name="sensus.xlsx", data=xlsx(*family())
    )
    import_jobs.import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.VALIDATED
    answers: list[int] = []

    def commit() -> None:
        try:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(operator)
            response = client.post(
                f"/api/v1/imports/{job.pk}/", {"action": "commit"}, content_type="application/json"
            )
            answers.append(response.status_code)
        finally:
            connection.close()

    # A third session holds the job row, so that both requests are inside their commit
    # step at the same moment: each has read the job and waits to write it.
    holder = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT 1 FROM households_importjob WHERE id = %s FOR UPDATE", [job.pk])
            threads = [threading.Thread(target=commit) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 20
            while _waiting_on_locks() < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _waiting_on_locks() == 2
            cursor.execute("COMMIT")
        for thread in threads:
            thread.join(60)
    finally:
        holder.close()
    assert sorted(answers) == [200, 409]
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    commits = AuditEntry.objects.filter(action=AuditAction.IMPORT, filters__committed=True)
    assert commits.count() == 1
    assert Household.objects.count() == 1 and Member.objects.count() == 2


# --- a worker killed in the middle of a job ------------------------------------------------


def _worker() -> subprocess.Popen:
    """`manage.py db_worker` in a process of its own, on this test's database: it runs the
    queued tasks, then exits (--batch)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgis://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "JOB_LEASE_SECONDS": "2",
    }
    command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay",
               "--no-reload", "--interval", "0.1", "--verbosity", "0"]  # fmt: skip
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _wait_for(condition, *, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_killed_worker_leaves_a_failed_job_that_its_owner_retries(personas, as_user):
    owner = personas["operator_a"]
    upload = xlsx(*family())
    job = import_jobs.import_job_create(
        user=owner, file_name="sensus.xlsx", data=upload, dry_run=False
    )
    # The import must read the members; holding them locked stops it there, mid-run, for
    # as long as the test wants.
    blocker = connections.create_connection(DEFAULT_DB_ALIAS)
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute("LOCK TABLE households_member IN ACCESS EXCLUSIVE MODE")
    import_census_task.enqueue(job_id=job.pk)
    worker = _worker()
    try:
        _wait_for(
            lambda: outside(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'",
                [],
            )[0]
        )
        running = ImportJob.objects.get(pk=job.pk)
        assert running.status == ImportStatus.RUNNING and running.attempts == 1
        assert running.worker == f"{os.uname().nodename}:{worker.pid}"
        # The heartbeat renews the lease while the import waits.
        _wait_for(lambda: ImportJob.objects.get(pk=job.pk).lease_until > running.lease_until)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        blocker.rollback()
        blocker.close()
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.RUNNING  # stuck, until...

    restarted = _worker()  # ...a worker starts again: it fails the dead job first
    output = restarted.communicate(timeout=30)[0].decode()
    assert restarted.returncode == 0, output
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED and job.message == jobs.IMPORT_DIED
    assert job.lease_until is None and job.progress_phase == ""
    assert upload_bytes(job.file_oid) == upload  # kept for the retry
    assert not Household.objects.exists() and not ChangeRecord.objects.exists()

    shown = as_user(owner).get(f"/api/v1/imports/{job.pk}/").json()
    assert shown["status"] == ImportStatus.FAILED and "Anda dapat mencoba lagi" in shown["message"]
    assert shown["retry_url"] == f"/api/v1/imports/{job.pk}/retry/"
    assert as_user(personas["operator_b"]).post(shown["retry_url"]).status_code == 404
    retried = as_user(owner).post(shown["retry_url"])
    assert retried.status_code == 200, retried.content
    assert retried.json()["status"] == ImportStatus.DONE and retried.json()["retry_url"] is None
    job.refresh_from_db()
    assert job.attempts == 2 and job.file_oid is None  # the upload went with the commit
    assert Household.objects.get().region_id == PENAJAM_KELURAHAN
    assert Member.objects.count() == 2
