"""Uploads kept as large objects (households/uploads.py): written and read back a chunk
at a time, byte for byte, and unlinked by the database when the job lets go of them."""

from __future__ import annotations

import io

import pytest
from django.db import connection

from households import uploads
from households.census_import.jobs import import_job_create
from households.models import ImportJob

pytestmark = pytest.mark.django_db


def objects() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid::bigint FROM pg_largeobject_metadata")
        return {row[0] for row in cursor.fetchall()}


def test_a_file_goes_in_and_out_chunk_by_chunk(monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK", 1000)
    data = bytes(range(256)) * 40 + b"tail"  # 10,244 bytes: 11 chunks, the last short
    oid, size = uploads.upload_store(io.BytesIO(data))
    assert size == len(data) and oid in objects()
    with uploads.upload_open(oid) as handle:
        assert handle.read() == data
    assert uploads.upload_bytes(oid) == data
    assert uploads.upload_store(b"")[1] == 0
    with uploads.upload_open(None) as nothing:
        assert nothing is None


def test_the_database_unlinks_an_upload_when_its_job_lets_go(personas):
    before = objects()
    job = import_job_create(
        user=personas["admin"], file_name="a.csv", data=b"a\n1\n", members_data=b"b\n2\n"
    )
    kept = objects() - before
    assert kept == {job.file_oid, job.members_file_oid}
    assert job.work_bytes == 8
    # Another field changes: the objects stay.
    ImportJob.objects.filter(pk=job.pk).update(progress_percent=50)
    assert objects() - before == kept
    # The members' file cleared: that object goes, the other stays.
    ImportJob.objects.filter(pk=job.pk).update(members_file_oid=None)
    assert objects() - before == {job.file_oid}
    ImportJob.objects.filter(pk=job.pk).delete()
    assert objects() == before
