"""The XLSX import of intervention status: every row checked, all or nothing, each
refused row named with its column."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from households.models import Household
from programmes.models import Intervention
from programmes.services import target_list_freeze
from tests.factories import BABULU_DESA, ProgrammeFactory
from tests.programmes.test_services import no_latrine, team  # noqa: F401

pytestmark = pytest.mark.django_db


def status_sheet(rows) -> SimpleUploadedFile:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("status.xlsx", buffer.getvalue())


@pytest.fixture
def three(team):  # noqa: F811
    no_latrine(), no_latrine(), no_latrine(BABULU_DESA)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    target_list_freeze(
        actor=team["admin"], programme=programme, households=Household.objects.all(), criteria={}
    )
    return list(Intervention.objects.order_by("pk"))


def post(client, rows):
    return client.post("/api/v1/interventions/import/", {"file": status_sheet(rows)})


def test_import_applies_every_row(team, three, as_user):  # noqa: F811
    first, second, _ = three
    response = post(
        as_user(team["analyst"]),
        [
            ["id", "status", "catatan"],
            [first.pk, "disetujui", "rapat desa"],
            [second.pk, "ditolak", ""],
        ],
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"changed": 2}
    first.refresh_from_db()
    assert first.status == "disetujui" and first.events.last().note == "rapat desa"


def test_bad_rows_are_named_and_nothing_is_written(team, three, as_user):  # noqa: F811
    first, second, other = three
    response = post(
        as_user(team["operator_a"]),
        [
            ["id", "status", "kemajuan"],
            [first.pk, "disetujui", ""],  # an operator may not approve
            [second.pk, "selesai", "x"],  # not from diusulkan, and a bad progress
            [other.pk, "disetujui", ""],  # another village: unknown
            ["abc", "disetujui", ""],
        ],
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"baris 2, status", "baris 3, status", "baris 4, id", "baris 5, id"}
    assert set(Intervention.objects.values_list("status", flat=True)) == {"diusulkan"}
    assert not Intervention.objects.filter(events__to_status="disetujui").exists()


def test_file_problems_are_named(team, three, as_user):  # noqa: F811
    client = as_user(team["analyst"])
    assert list(post(client, [["id", "warna"]]).json()["error"]["fields"]) == ["file"]
    assert list(post(client, [["nomor"]]).json()["error"]["fields"]) == ["file"]
    bad = client.post(
        "/api/v1/interventions/import/", {"file": SimpleUploadedFile("x.xlsx", b"not a zip")}
    )
    assert bad.status_code == 400 and "file" in bad.json()["error"]["fields"]
    assert as_user(team["official"]).post("/api/v1/interventions/import/", {}).status_code == 403
