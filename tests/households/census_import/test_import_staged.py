"""A validated dry run keeps its staging rows; its commit loads them instead of reading and
checking the file again, and still checks them against the database as it is then."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from desapresisi.i18n import Message
from households.census_import import jobs as import_jobs
from households.census_import import read, validate
from households.models import Household, ImportJob, ImportStatus, Member
from households.services import village_write_check
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

from .test_import import family, member, run, upload, xlsx

pytestmark = pytest.mark.django_db


def objects() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid::bigint FROM pg_largeobject_metadata")
        return {row[0] for row in cursor.fetchall()}


def commit(client, job):
    return client.post(job["url"], {"action": "commit"}, content_type="application/json")


def two_families():
    first, first_members = family()
    second, second_members = family(kk="6409010101250002", base=11, seed=2)
    return first + second, first_members + second_members


@pytest.fixture
def file_never_read(monkeypatch):
    """Fails the test if anything reads a census file from here on."""

    def refuse(**kwargs):
        raise AssertionError("the commit read the file again")

    def arm():
        monkeypatch.setattr(import_jobs, "census_read", refuse)
        monkeypatch.setattr(read, "census_read", refuse)

    return arm


def test_commit_loads_the_dry_runs_rows_instead_of_reading_the_file(
    personas, as_user, file_never_read
):
    client = as_user(personas["operator_a"])
    before = objects()
    job = upload(client, xlsx(*two_families())).json()
    assert job["status"] == ImportStatus.VALIDATED, job
    stored = ImportJob.objects.get(pk=job["id"])
    assert stored.staged_oid and stored.staged_members_oid
    assert objects() - before == {
        stored.file_oid,
        stored.members_file_oid,
        stored.staged_oid,
        stored.staged_members_oid,
    } - {None}
    assert stored.options["staged_signature"]
    assert Household.objects.count() == 0
    file_never_read()
    done = commit(client, job).json()
    assert done["status"] == ImportStatus.DONE, done
    assert done["counts"]["households"]["new"] == 2
    assert done["counts"]["members"]["new"] == 4
    assert done["counts"] == {**job["counts"], "households": done["counts"]["households"]}
    assert Household.objects.count() == 2 and Member.objects.count() == 4
    head = Member.objects.get(nik=two_families()[1][0]["nik"])
    assert (head.nama, head.tanggal_lahir, head.household.no_kk) == (
        "Warga Impor 1", dt.date(1985, 3, 9), "6409010101250001",
    )  # fmt: skip
    household = Household.objects.get(no_kk="6409010101250002")
    assert household.region_id == PENAJAM_KELURAHAN and household.lokasi is not None
    # Committed: the upload and the kept rows are gone.
    assert objects() == before
    assert ImportJob.objects.filter(pk=job["id"], staged_oid__isnull=True).exists()


def test_commit_checks_kept_rows_against_the_database_as_it_is_now(
    personas, as_user, file_never_read
):
    client = as_user(personas["operator_a"])
    households, members = two_families()
    job = upload(client, xlsx(households, members)).json()
    assert job["status"] == ImportStatus.VALIDATED, job
    # Meanwhile an operator registered the second family's child in another household.
    other = HouseholdFactory(region_id=PENAJAM_KELURAHAN, no_kk="6409010101259999")
    MemberFactory(household=other, nik=members[3]["nik"])
    file_never_read()
    rejected = commit(client, job).json()
    assert rejected["status"] == ImportStatus.REJECTED, rejected
    (error,) = rejected["errors"]
    assert (error["sheet"], error["row"], error["column"]) == ("anggota", 5, "nik")
    assert "sudah terdaftar di KK lain" in error["message"]
    assert Household.objects.count() == 1  # only the other one: nothing was written
    assert ImportJob.objects.filter(pk=job["id"], staged_oid__isnull=True).exists()


def test_commit_refuses_a_village_locked_since_the_dry_run(personas, as_user, file_never_read):
    client = as_user(personas["operator_a"])
    job = upload(client, xlsx(*two_families())).json()
    assert job["status"] == ImportStatus.VALIDATED, job

    def locked(sender, region_code, **kwargs):
        return Message("Desa %(code)s terkunci.", code=region_code)

    village_write_check.connect(locked, dispatch_uid="test-locked")
    try:
        file_never_read()
        rejected = commit(client, job).json()
    finally:
        village_write_check.disconnect(dispatch_uid="test-locked")
    assert rejected["status"] == ImportStatus.REJECTED
    assert [(e["row"], e["column"]) for e in rejected["errors"]] == [
        (2, "kode_desa"),
        (3, "kode_desa"),
    ]
    assert rejected["errors"][0]["message"] == f"Desa {PENAJAM_KELURAHAN} terkunci."
    assert Household.objects.count() == 0


def test_commit_refuses_a_village_the_uploader_lost_rights_to(personas, as_user, monkeypatch):
    client = as_user(personas["operator_a"])
    job = upload(client, xlsx(*two_families())).json()
    assert job["status"] == ImportStatus.VALIDATED, job
    monkeypatch.setattr(validate, "can_import", lambda user, code: False)
    rejected = commit(client, job).json()
    assert rejected["status"] == ImportStatus.REJECTED
    assert {e["column"] for e in rejected["errors"]} == {"kode_desa"}
    assert "tidak berhak" in rejected["errors"][0]["message"]
    assert Household.objects.count() == 0


def test_rows_kept_by_other_code_are_not_trusted(personas, as_user, monkeypatch):
    """A deploy between the dry run and its commit that changed the staging tables: the
    commit reads and checks the file again."""
    client = as_user(personas["operator_a"])
    job = upload(client, xlsx(*two_families())).json()
    monkeypatch.setattr(import_jobs, "staging_signature", lambda: "another-version")
    reads = []
    real = import_jobs.census_read
    monkeypatch.setattr(
        import_jobs, "census_read", lambda **kwargs: reads.append(1) or real(**kwargs)
    )
    done = commit(client, job).json()
    assert done["status"] == ImportStatus.DONE and reads == [1]
    assert Household.objects.count() == 2


def test_a_dry_run_with_errors_or_warnings_only(personas, as_user):
    client = as_user(personas["operator_a"])
    households, members = two_families()
    households[1]["lantai"] = "99"
    rejected = upload(client, xlsx(households, members)).json()
    assert rejected["status"] == ImportStatus.REJECTED
    assert not ImportJob.objects.filter(pk=rejected["id"], staged_oid__isnull=False).exists()
    # Warnings do not block keeping the rows; the commit reports the dry run's warnings.
    households, members = two_families()
    members[1]["nik"] = members[1]["nik"][:4] + "03" + members[1]["nik"][6:]
    job = upload(client, xlsx(households, members)).json()
    assert job["status"] == ImportStatus.VALIDATED and job["warning_count"] == 1, job
    assert ImportJob.objects.get(pk=job["id"]).staged_oid is not None
    done = commit(client, job).json()
    assert done["status"] == ImportStatus.DONE
    assert done["warning_count"] == 1 and done["warnings"] == job["warnings"]
    assert done["counts"]["members"]["warnings"] == 1


@pytest.mark.parametrize("missing", ["keep", "remove"])
def test_a_dry_runs_counts_are_what_its_commit_writes(personas, missing):
    """The dry run counts without writing; the commit writes: the same counts, for new,
    changed and unchanged households and members, a point moved, a head changed and a
    member left out of the file."""
    households, members = two_families()
    assert run(households, members).committed
    households[0]["lantai"] = "3"  # changed
    households[1]["lintang"] = f"{float(households[1]['lintang']) + 0.0001:.6f}"  # moved
    third, third_members = family(kk="6409010101250003", base=21, seed=3)
    households += third  # new
    members[1]["hubungan_keluarga"] = "1"  # the child becomes the head ...
    members[0]["hubungan_keluarga"] = "4"  # ... and the old head a member
    members[2]["nama"] = "Nama Baru"  # changed
    del members[3]  # left out of the file
    members += [*third_members, member("6409010101250002", 19, head=False)]  # new
    preview = run(households, members, dry_run=True, missing=missing)
    assert preview.ok, [str(e.message) for e in preview.errors]
    assert Household.objects.count() == 2 and Member.objects.count() == 4
    done = run(households, members, missing=missing)
    assert done.committed, [str(e.message) for e in done.errors]
    assert preview.counts == done.counts
    assert done.counts["households"] == {
        **done.counts["households"], "new": 1, "updated": 2, "unchanged": 0,
    }  # fmt: skip
    assert done.counts["members"]["new"] == 3
    assert done.counts["members"]["updated"] == 3
    assert done.counts["members"]["removed"] == (1 if missing == "remove" else 0)
