"""The field catalogue (households.schema): every model field has a category, the
projections give the field lists every path used before, the history triggers leave out
what the catalogue says, and a new coded question needs a model field, a migration and a
codebook row, nothing else (issue 12)."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection, models
from openpyxl import Workbook, load_workbook

from desapresisi.models import ChangeRecord
from households import codebook as cb
from households import schema
from households.indicators.spec import validate_spec
from households.models import Household, ImportStatus, Member
from households.models.households import coded
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, nik_for, point_in_village

# --- helpers: a field added to a model at run time, and taken away again --------------------


def _remove_field(model, field) -> None:
    model._meta.local_fields.remove(field)
    for attribute in (field.attname, f"get_{field.name}_display"):
        if attribute in model.__dict__:
            delattr(model, attribute)
    model._meta.apps.clear_cache()  # expires every model's field caches


@contextlib.contextmanager
def field_added(model, name: str, field, *, in_database: bool):
    """`field` on `model` as if it were declared there; with `in_database`, its column is
    added too, inside the test's transaction (rolled back with it)."""
    field.contribute_to_class(model, name)
    try:
        if in_database:
            with connection.schema_editor() as editor:
                editor.add_field(model, field)
        yield field
    finally:
        _remove_field(model, field)


def test_every_model_field_has_a_category():
    assert schema.uncategorised() == []
    for unit, model in schema.MODELS.items():
        names = {entry.name for entry in schema.catalogue(unit) if entry.stored}
        assert names == {field.name for field in model._meta.concrete_fields}


def test_a_field_without_category_fails_the_check():
    with field_added(Member, "catatan_uji", models.CharField(max_length=20), in_database=False):
        assert schema.uncategorised() == ["member.catatan_uji"]
        errors = schema.catalogue_check()
        assert [error.id for error in errors] == ["households.E001"]
        assert "member.catatan_uji" in errors[0].msg
        # Uncategorised means nowhere: not shown, not exported, not imported.
        assert "catatan_uji" not in schema.api_values(schema.MEMBER)
        assert "catatan_uji" not in schema.export_headers(schema.MEMBER)
        assert "catatan_uji" not in schema.editable(schema.MEMBER)
    assert schema.uncategorised() == []


def test_projections_give_the_lists_every_path_used():
    """The field lists as they were typed by hand before the catalogue (issue 12)."""
    answers = [
        "fasilitas_bab", "jenis_kloset", "pembuangan_tinja", "tangki_septik_disedot",
        "sumber_air_minum", "jarak_sumber_air_tinja", "sumber_air_mandi", "kepemilikan_rumah",
        "lantai", "dinding", "atap", "penerangan", "bahan_bakar_memasak", "desil_kesejahteraan",
        "desil_sumber", "desil_tahun", "penerima_pkh", "penerima_bpnt", "penerima_blt_dd",
        "penerima_pbi_jk",
    ]  # fmt: skip
    derived = [
        "tangga_sanitasi", "air_minum_layak", "rumah_tidak_layak_huni", "jumlah_anggota",
        "jumlah_ats",
    ]  # fmt: skip
    place = ["dusun", "rw", "rt", "alamat"]
    member_answers = [
        "hubungan_keluarga", "partisipasi_sekolah", "jenjang_pendidikan", "ijazah_tertinggi",
        "disabilitas", "pekerjaan",
    ]  # fmt: skip
    household_api = [
        "id", "no_kk", "region_id", *place, "lokasi", "tanggal_survei", *answers,
        "sumber_data", *derived, "versi",
    ]  # fmt: skip
    # Life events (issue 13): shown, exported, in the history; written by the event service only.
    member_status = ["status_anggota", "tanggal_status", "tujuan_pindah"]
    member_api = [
        "id", "household_id", "nik", "nama", "jenis_kelamin", "tanggal_lahir", "umur",
        *member_answers, *member_status, "versi",
    ]  # fmt: skip
    assert schema.api_values(schema.HOUSEHOLD) == household_api
    assert schema.api_values(schema.MEMBER) == member_api
    # The round of the last write (households.SurveyRound) is bookkeeping of the rounds:
    # neither in the API's rows nor in the files.
    assert schema.export_values(schema.HOUSEHOLD) == household_api[:-1]
    assert schema.export_values(schema.MEMBER) == member_api[:-1]
    household_staging = ["no_kk", "region_id", *place, "lokasi", "tanggal_survei", *answers]
    member_staging = ["no_kk", "nik", "nama", "jenis_kelamin", "tanggal_lahir", *member_answers]
    assert [name for name, _type in schema.staging_columns("household")] == household_staging
    assert [name for name, _type in schema.staging_columns("member")] == member_staging
    types = dict(schema.staging_columns("household"))
    assert (types["no_kk"], types["region_id"], types["lokasi"]) == (
        "varchar(16)", "varchar(13)", "geometry(POINT,4326)",
    )  # fmt: skip
    assert (types["fasilitas_bab"], types["penerima_pkh"]) == ("smallint", "boolean")

    def labelled(names):
        coded_names = set(schema.coded("household")) | set(schema.coded("member"))
        return [h for n in names for h in ([n, f"{n}_label"] if n in coded_names else [n])]

    assert schema.export_headers("household") == [
        *labelled(["no_kk", "kode_desa", *place, "lintang", "bujur", "tanggal_survei", *answers]),
        "tangga_sanitasi", "tangga_sanitasi_label", "air_minum_layak",
        "rumah_tidak_layak_huni", "jumlah_anggota", "jumlah_ats", "sumber_data", "id",
    ]  # fmt: skip
    assert schema.export_headers("member") == [
        *labelled(["no_kk", *member_staging[1:]]), "umur",
        "status_anggota", "status_anggota_label", "tanggal_status", "tujuan_pindah",
        "kode_desa", "id", "household_id",
    ]  # fmt: skip
    columns = {
        c.name: c for c in schema.sheet_columns("household") + schema.sheet_columns("member")
    }
    assert {name for name, c in columns.items() if c.required} == {
        "no_kk", "kode_desa", "tanggal_survei", "nik", "nama", "jenis_kelamin", "tanggal_lahir",
        "hubungan_keluarga",
    }  # fmt: skip
    assert (columns["sumber_air_mandi"].variable, columns["jenjang_pendidikan"].exclude) == (
        "sumber_air_minum", (23,),
    )  # fmt: skip
    assert schema.editable("household") == set(household_staging) - {"no_kk", "region_id"}
    assert schema.editable("member") == set(member_staging) - {"no_kk", "nik"}
    assert schema.spec_fields("household") == (
        set(answers) - {"desil_sumber"} | set(derived) | {"sumber_data", "tanggal_survei"}
    )
    assert schema.spec_fields("member") == set(member_answers) - {"pekerjaan"} | {
        "jenis_kelamin", "umur", "status_anggota", "tanggal_status",
    }  # fmt: skip
    assert schema.summable("household") == {"jumlah_anggota", "jumlah_ats"}
    assert schema.summable("member") == set()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("unit", "function"),
    [
        ("household", "households_household_history_ins"),
        ("household", "households_household_history_upd"),
        ("household", "households_household_history_del"),
        ("member", "households_member_history_ins"),
        ("member", "households_member_history_upd"),
        ("member", "households_member_history_del"),
    ],
)
def test_history_triggers_leave_out_what_the_catalogue_says(unit, function):
    """The triggers diff every column but a list: that list is the catalogue's columns
    without history (derived values, timestamps, the version), so a new column is in the
    history with no trigger edit."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef(%s::regproc)", [function])
        definition = cursor.fetchone()[0]
    lists = re.findall(r"to_jsonb\(\w+\) - ARRAY\[([^\]]*)\]", definition)
    assert lists, definition
    for found in lists:
        assert set(re.findall(r"'(\w+)'", found)) == schema.history_excluded(unit)


# --- A new coded household question: model field, migration, codebook row; nothing else ----

QUESTION = "penampungan_air_hujan"
CODES = {1: ("Ada, berfungsi", "Yes, working"), 2: ("Tidak ada", "None")}


@pytest.fixture
def new_question(db):
    """As a developer would add it: a codebook variable, `coded(...)` on Household and
    the column its migration would add (here inside the test's transaction)."""
    book = cb.codebook()
    book[QUESTION] = tuple(
        cb.Code(QUESTION, code, label_id, label_en, "Uji")
        for code, (label_id, label_en) in CODES.items()
    )
    try:
        field = coded(QUESTION, "penampungan air hujan (uji)")
        with field_added(Household, QUESTION, field, in_database=True):
            yield field
    finally:
        del book[QUESTION]


def _csv(response) -> list[dict]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _sheet(content: bytes, title: str) -> list[dict]:
    rows = list(load_workbook(io.BytesIO(content), read_only=True)[title].values)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def _census_file(template: bytes, household: dict, members: list[dict]) -> bytes:
    """A census workbook with the template's sheets and headers, filled by header."""
    source = load_workbook(io.BytesIO(template), read_only=True)
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in (("rumah_tangga", [household]), ("anggota", members)):
        headers = next(source[title].values)
        sheet = workbook.create_sheet(title)
        sheet.append(headers)
        for row in rows:
            sheet.append([row.get(header, "") for header in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(client, content: bytes):
    handle = io.BytesIO(content)
    handle.name = "sensus.xlsx"
    return client.post("/api/v1/imports/", {"file": handle, "dry_run": "false"})


def test_a_new_coded_question_reaches_every_path(new_question, personas, as_user):
    assert schema.uncategorised() == []
    assert schema.field("household", QUESTION).category == schema.CODED
    validate_spec({"unit": "member", "where": {f"household__{QUESTION}": 1}})

    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, **{QUESTION: 1})
    analyst = as_user(personas["analyst"])

    # The API: list and detail, in the catalogue's place (before the version).
    listed = analyst.get(f"/api/v1/households/?region={PENAJAM_KELURAHAN}").json()["results"]
    assert listed[0][QUESTION] == 1
    keys = list(listed[0])
    assert keys.index(QUESTION) == keys.index("versi") - 1
    detail = analyst.get(f"/api/v1/households/{household.pk}/").json()
    assert detail[QUESTION] == 1

    # Both export formats: the code and its label beside it, in each language.
    csv_rows = _csv(analyst.get("/api/v1/exports/households.csv", HTTP_ACCEPT_LANGUAGE="en"))
    assert (csv_rows[0][QUESTION], csv_rows[0][f"{QUESTION}_label"]) == ("1", "Yes, working")
    xlsx = analyst.get("/api/v1/exports/households.xlsx")
    assert xlsx.status_code == 200, xlsx.content[:300]
    content = b"".join(xlsx.streaming_content) if xlsx.streaming else xlsx.content
    sheet_row = _sheet(content, "rumah_tangga")[0]
    assert (sheet_row[QUESTION], sheet_row[f"{QUESTION}_label"]) == (1, "Ada, berfungsi")
    assert any(row["variabel"] == QUESTION for row in _sheet(content, "kodebook"))

    # The import template has the column; a file with it stores it (and checks its codes).
    operator = as_user(personas["operator_a"])
    template = operator.get("/api/v1/imports/template.xlsx")
    assert template.status_code == 200
    assert QUESTION in next(load_workbook(io.BytesIO(template.content))["rumah_tangga"].values)
    kk = "6409010101259901"
    point = point_in_village(PENAJAM_KELURAHAN, 7)
    row = {
        "no_kk": kk, "kode_desa": PENAJAM_KELURAHAN, "tanggal_survei": "2025-10-15",
        "lintang": point.y, "bujur": point.x, QUESTION: "9",
    }  # fmt: skip
    head = {
        "no_kk": kk, "nik": nik_for(PENAJAM_KELURAHAN, dt.date(1980, 1, 2), 1, 9901),
        "nama": "Warga Hujan", "jenis_kelamin": "1", "tanggal_lahir": "1980-01-02",
        "hubungan_keluarga": "1",
    }  # fmt: skip
    refused = _upload(operator, _census_file(template.content, row, [head])).json()
    assert [error["column"] for error in refused["errors"]] == [QUESTION], refused
    assert not Household.objects.filter(no_kk=kk).exists()
    stored = _upload(operator, _census_file(template.content, {**row, QUESTION: "2"}, [head]))
    assert stored.json()["status"] == ImportStatus.DONE, stored.json()
    imported = Household.objects.get(no_kk=kk)
    assert getattr(imported, QUESTION) == 2
    inserted = ChangeRecord.objects.get(table="household", row_id=imported.pk, action="insert")
    assert inserted.changes[QUESTION] == [None, 2]

    # An operator's edit, and the history keeps old and new.
    url = f"/api/v1/households/{household.pk}/"
    version = operator.get(url).json()["versi"]
    edited = operator.patch(url, {QUESTION: 2, "versi": version}, content_type="application/json")
    assert edited.status_code == 200, edited.json()
    assert edited.json()[QUESTION] == 2
    record = ChangeRecord.objects.get(table="household", row_id=household.pk, action="update")
    assert record.changes == {QUESTION: [1, 2]}


def test_the_new_question_is_gone_after_its_test(db):
    """Nothing of the run-time field outlives its test (the other tests see the models)."""
    assert QUESTION not in {field.name for field in Household._meta.get_fields()}
    assert QUESTION not in cb.codebook()
    assert QUESTION not in schema.api_values("household")
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, "households_household")
    assert QUESTION not in {column.name for column in columns}
