"""Import progress while the write transaction runs, seen from another session, a crash
inside that transaction, and two concurrent commits of one dry run.

These tests need committed data (another connection must see the job row), so they use
the transactional database, whose teardown empties every table: the PPU regions are put
back before each test and after the module, for whatever test this worker runs next.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from households import imports
from households.io_models import ImportStatus
from households.models import Household, Member
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.test_imports import family, xlsx

pytestmark = pytest.mark.django_db(transaction=True)


def _load_regions() -> None:
    from villages.models import Region

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
    job = imports.import_job_create(
        user=None, file_name="sensus.xlsx", data=xlsx(*family()), dry_run=False
    )
    seen = []
    upsert_members = imports._upsert_members

    def watched(cursor):
        assert connection.in_atomic_block  # households upserted, nothing committed yet
        seen.append(outside(PROGRESS_SQL, [job.pk]))
        return upsert_members(cursor)

    monkeypatch.setattr(imports, "_upsert_members", watched)
    imports.import_job_run(job_id=job.pk)
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
    job = imports.import_job_create(
        user=None, file_name="sensus.xlsx", data=xlsx(*family()), dry_run=False
    )
    seen = []

    def boom(cursor):
        seen.append(outside(PROGRESS_SQL, [job.pk]))
        raise RuntimeError("crash after the household upsert")

    monkeypatch.setattr(imports, "_upsert_members", boom)
    with pytest.raises(RuntimeError):
        imports.import_job_run(job_id=job.pk)
    assert seen[0][:3] == (ImportStatus.RUNNING, "upsert", 1)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "nothing was saved" in job.message and "RuntimeError" in job.message
    assert list(Household.objects.values_list("pk", flat=True)) == [existing.pk]
    assert Member.objects.exclude(household=existing).count() == 0


def _waiting_on_locks() -> int:
    return outside(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'",
        [],
    )[0]


def test_two_concurrent_commits_of_one_dry_run_run_it_once_and_the_second_gets_409(personas):
    import threading
    import time

    from django.test import Client

    from desapresisi.models import AuditAction, AuditEntry

    operator = personas["operator_a"]
    job = imports.import_job_create(user=operator, file_name="sensus.xlsx", data=xlsx(*family()))
    imports.import_job_run(job_id=job.pk)
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
