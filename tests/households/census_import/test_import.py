"""Census import: every error class with a file that triggers it, atomicity, idempotence,
access, the API, the background job and the command."""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import io
import zipfile

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from desapresisi.masking import mask_number
from desapresisi.models import AuditAction, AuditEntry, ChangeRecord
from households.census_import import columns, read, write
from households.census_import import jobs as import_jobs
from households.census_import.columns import household_columns, member_columns
from households.census_import.read import census_read
from households.census_import.service import census_import
from households.models import DataSource, Household, ImportJob, ImportStatus, Member
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
    point_in_village,
)
from villages.models import Region

pytestmark = pytest.mark.django_db

HH_HEADERS = [column.name for column in household_columns()]
M_HEADERS = [column.name for column in member_columns()]


def household(kk="6409010101250001", village=PENAJAM_KELURAHAN, seed=1, **changes) -> dict:
    point = point_in_village(village, seed)
    row = dict.fromkeys(HH_HEADERS, "")
    row.update(
        no_kk=kk,
        kode_desa=village,
        dusun="Lingkungan I",
        rw="001",
        rt="002",
        alamat="Jl. Uji",
        lintang=f"{point.y:.6f}",
        bujur=f"{point.x:.6f}",
        tanggal_survei="2025-10-15",
        fasilitas_bab="1",
        jenis_kloset="1",
        pembuangan_tinja="1",
        sumber_air_minum="3",
        lantai="2",
        dinding="1",
        atap="3",
        penerangan="1",
        bahan_bakar_memasak="4",
        desil_kesejahteraan="6",
        desil_sumber="DTSEN",
        desil_tahun="2025",
        penerima_pkh="0",
        penerima_bpnt="0",
        penerima_blt_dd="0",
        penerima_pbi_jk="1",
    )
    row.update(changes)
    return row


def member(kk="6409010101250001", serial=1, sex=1, birth=dt.date(1985, 3, 9), head=True, **ch):
    village = ch.pop("village", PENAJAM_KELURAHAN)
    row = dict.fromkeys(M_HEADERS, "")
    row.update(
        no_kk=kk,
        nik=nik_for(village, birth, sex, serial),
        nama=f"Warga Impor {serial}",
        jenis_kelamin=str(sex),
        tanggal_lahir=birth.isoformat(),
        hubungan_keluarga="1" if head else "4",
        partisipasi_sekolah="3",
        jenjang_pendidikan="13",
        ijazah_tertinggi="13",
        disabilitas="0",
        pekerjaan="Nelayan",
    )
    row.update(ch)
    return row


def family(kk="6409010101250001", base=1, village=PENAJAM_KELURAHAN, seed=1):
    return (
        [household(kk, village=village, seed=seed)],
        [
            member(kk, base, village=village),
            member(kk, base + 1, sex=2, birth=dt.date(2012, 7, 21), head=False, village=village),
        ],
    )


def xlsx(households, members, *, numeric_nik=False) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, headers, rows in (
        ("rumah_tangga", HH_HEADERS, households),
        ("anggota", M_HEADERS, members),
    ):
        sheet = workbook.create_sheet(title)
        sheet.append(headers)
        for row in rows:
            values = [row.get(h, "") for h in headers]
            if numeric_nik and "nik" in headers:
                index = headers.index("nik")
                values[index] = float(values[index])
            sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(headers, rows, *, delimiter=",", encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headers])
    return buffer.getvalue().encode(encoding)


def run(households, members, *, user=None, dry_run=False, missing="keep", **kwargs):
    sheets = census_read(name="sensus.xlsx", data=xlsx(households, members, **kwargs))
    return census_import(sheets=sheets, user=user, dry_run=dry_run, missing_members=missing)


def messages(result, column=None):
    return [e.message for e in result.errors if column is None or e.column == column]


# --- happy path, idempotence, atomicity ------------------------------------------------------


def test_dry_run_previews_counts_and_writes_nothing():
    households, members = family()
    result = run(households, members, dry_run=True)
    assert result.ok, messages(result)
    assert result.counts["households"] == {"total": 1, "rejected": 0, "new": 1, "updated": 0,
                                           "unchanged": 0, "warnings": 0}  # fmt: skip
    assert result.counts["members"]["new"] == 2
    assert not result.committed
    assert Household.objects.count() == 0 and Member.objects.count() == 0


def test_commit_writes_imported_rows_with_derived_fields():
    households, members = family()
    result = run(households, members)
    assert result.committed, messages(result)
    stored = Household.objects.get(no_kk="6409010101250001")
    assert stored.sumber_data == DataSource.IMPORT
    assert stored.jumlah_anggota == 2
    assert stored.tangga_sanitasi is not None
    assert stored.lokasi is not None


def test_reimporting_the_same_file_changes_nothing():
    households, members = family()
    run(households, members)
    versions = list(Household.objects.values_list("versi", flat=True))
    history = ChangeRecord.objects.count()
    again = run(households, members)
    assert again.committed
    assert again.counts["households"]["unchanged"] == 1
    assert again.counts["households"]["new"] == again.counts["households"]["updated"] == 0
    assert again.counts["members"]["unchanged"] == 2
    assert list(Household.objects.values_list("versi", flat=True)) == versions
    assert ChangeRecord.objects.count() == history
    assert Member.objects.count() == 2


def test_same_kk_is_an_update():
    households, members = family()
    run(households, members)
    households[0]["lantai"] = "8"
    result = run(households, members)
    assert result.counts["households"]["updated"] == 1
    stored = Household.objects.get()
    assert stored.lantai == 8 and stored.rumah_tidak_layak_huni is True and stored.versi == 2


def test_failure_in_the_middle_changes_no_row(monkeypatch):
    households, members = family()

    def boom(cursor):
        raise RuntimeError("crash after the household upsert")

    monkeypatch.setattr(write, "_upsert_members", boom)
    with pytest.raises(RuntimeError):
        run(households, members)
    assert Household.objects.count() == 0 and Member.objects.count() == 0


def test_any_error_means_nothing_is_written():
    households, members = family()
    more_h, more_m = family("6409010101250002", base=10, seed=2)
    more_h[0]["lantai"] = "99"
    result = run(households + more_h, members + more_m)
    assert not result.committed
    assert result.counts["households"]["rejected"] == 1
    assert Household.objects.count() == 0


# --- identity numbers --------------------------------------------------------------------


def test_nik_mangled_by_excel_into_a_number_is_rejected_with_the_reason():
    households, members = family()
    result = run(households, members, numeric_nik=True)
    assert not result.committed
    assert any("Excel" in m and "Teks" in m for m in messages(result, "nik"))


def test_scientific_notation_and_lost_leading_zeros_are_named():
    households, members = family()
    members[0]["nik"] = "6.40901E+15"
    members[1]["nik"] = members[1]["nik"][1:]
    result = run(households, members)
    found = messages(result, "nik")
    assert any("notasi ilmiah" in m for m in found)
    assert any("15 digit" in m and "0 di depan" in m for m in found)


def warnings_of(result, column=None):
    return [w for w in result.warnings if column is None or w.column == column]


def test_nik_issued_in_another_kecamatan_is_a_warning_and_the_row_is_written():
    households, members = family()
    # Born in Balikpapan, registered there, now living in Penajam.
    members[1]["nik"] = nik_for("64.71.01", dt.date(2012, 7, 21), 2, 5)
    result = run(households, members)
    assert result.committed, messages(result)
    assert result.errors == []
    (warning,) = warnings_of(result, "nik")
    assert (warning.sheet, warning.row) == ("anggota", 3)
    assert warning.value == mask_number(members[1]["nik"])
    assert warning.value.startswith("647101*") and warning.value.endswith("*0005")
    assert "Balikpapan Timur, Kota Balikpapan" in warning.message
    assert "kecamatan lain" in warning.message
    with translation.override("en"):
        assert "another kecamatan" in warning.message  # translated when read
        assert "Balikpapan Timur, Kota Balikpapan" in warning.message
    assert result.counts["members"]["warnings"] == 1
    assert Member.objects.filter(nik=members[1]["nik"]).exists()


def test_nik_prefix_missing_from_the_current_list_is_a_warning_not_a_lost_record():
    # 64.04 left Kalimantan Timur for Kalimantan Utara (65) in 2012: NIKs issued there
    # before carry 6404.., a code today's list no longer has.
    households, members = family()
    members[1]["nik"] = nik_for("64.04.01", dt.date(2012, 7, 21), 2, 5)
    result = run(households, members)
    assert result.committed, messages(result)
    (warning,) = warnings_of(result, "nik")
    assert "640401" in warning.message and "Kemendagri" in warning.message
    assert Member.objects.filter(nik=members[1]["nik"]).exists()


def test_nik_prefix_that_is_no_province_code_is_an_error():
    households, members = family()
    members[1]["nik"] = nik_for("99.09.01", dt.date(2012, 7, 21), 2, 5)
    result = run(households, members)
    assert not result.committed
    assert any("990901" in m and "provinsi" in m for m in messages(result, "nik"))
    assert Member.objects.count() == 0


def test_kk_issued_in_another_kecamatan_is_a_warning():
    kk = "6409030101250001"  # Babulu's family card, the household now in Penajam
    households, members = family(kk)
    result = run(households, members)
    assert result.committed, messages(result)
    (warning,) = warnings_of(result, "no_kk")
    assert (warning.sheet, warning.row, warning.value) == ("rumah_tangga", 2, mask_number(kk))
    assert "64.09.01" in warning.message and "Babulu" in warning.message
    assert result.counts["households"]["warnings"] == 1


def test_kk_prefix_that_is_no_kecamatan_code_is_an_error():
    households, members = family("9909010101250001")
    result = run(households, members)
    assert not result.committed
    assert any("990901" in m and "Kemendagri" in m for m in messages(result, "no_kk"))


def test_birth_date_and_sex_must_match_the_nik():
    households, members = family()
    members[1]["tanggal_lahir"] = "2012-07-22"
    result = run(households, members)
    assert any("tidak cocok dengan NIK" in m for m in messages(result, "tanggal_lahir"))
    households, members = family()
    members[1]["jenis_kelamin"] = "1"
    result = run(households, members)
    assert any("+40" in m for m in messages(result))


def test_implausible_birth_date():
    households, members = family()
    members[0]["tanggal_lahir"] = "2030-01-01"
    result = run(households, members)
    assert any("tidak masuk akal" in m for m in messages(result, "tanggal_lahir"))


# --- codes and skip rules ------------------------------------------------------------------


def test_codes_must_be_in_the_codebook():
    households, members = family()
    households[0]["lantai"] = "99"
    members[0]["hubungan_keluarga"] = "77"
    result = run(households, members)
    assert any("kodebook" in m for m in messages(result, "lantai"))
    assert any("kodebook" in m for m in messages(result, "hubungan_keluarga"))


def test_skip_rules_toilet_type_and_school_level():
    households, members = family()
    households[0]["fasilitas_bab"] = "5"
    members[1]["partisipasi_sekolah"] = "1"
    result = run(households, members)
    assert any("309a" in m for m in messages(result, "jenis_kloset"))
    assert any("412" in m for m in messages(result, "jenjang_pendidikan"))


@pytest.mark.parametrize("heads", [0, 2])
def test_exactly_one_head_per_household(heads):
    households, members = family()
    members[0]["hubungan_keluarga"] = "1" if heads else "4"
    members[1]["hubungan_keluarga"] = "1" if heads == 2 else "4"
    result = run(households, members)
    assert any(f"(ada {heads})" in m for m in messages(result))


# --- locations -----------------------------------------------------------------------------


def test_swapped_latitude_and_longitude_are_detected():
    households, members = family()
    row = households[0]
    row["lintang"], row["bujur"] = row["bujur"], row["lintang"]
    result = run(households, members)
    assert any("tertukar" in m for m in messages(result, "lintang"))


def test_point_outside_the_village_is_rejected():
    households, members = family()
    point = point_in_village(BABULU_DESA, 3)
    households[0].update(lintang=f"{point.y:.6f}", bujur=f"{point.x:.6f}")
    result = run(households, members)
    assert any("di luar desa" in m for m in messages(result, "lintang"))


# --- duplicates and stored data --------------------------------------------------------------


def test_duplicates_within_the_file():
    households, members = family()
    result = run(households * 2, [*members, members[1]])
    assert any("No. KK ganda" in m for m in messages(result, "no_kk"))
    assert any("NIK ganda" in m for m in messages(result, "nik"))


def test_nik_registered_in_another_household_is_an_error():
    other = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    stored = MemberFactory(household=other)
    households, members = family()
    members[1].update(
        nik=stored.nik,
        tanggal_lahir=stored.tanggal_lahir.isoformat(),
        jenis_kelamin="1",
    )
    result = run(households, members)
    assert any("KK lain" in m for m in messages(result, "nik"))


def test_missing_members_are_reported_and_kept_or_removed_on_request():
    households, members = family()
    run(households, members)
    kept = run(households, members[:1])
    assert kept.counts["members"]["missing"] == 1
    assert kept.missing_members[0]["nik"] == mask_number(members[1]["nik"])
    assert Member.objects.count() == 2
    removed = run(households, members[:1], missing="remove")
    assert removed.counts["members"]["removed"] == 1
    assert Member.objects.count() == 1


# --- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", ";")]
)
def test_csv_encodings_and_delimiters_are_detected(encoding, delimiter):
    households, members = family()
    members[0]["nama"] = "Désirée Sitompul"
    sheets = census_read(
        name="rumah_tangga.csv",
        data=csv_bytes(HH_HEADERS, households, delimiter=delimiter, encoding=encoding),
        members_data=csv_bytes(M_HEADERS, members, delimiter=delimiter, encoding=encoding),
    )
    result = census_import(sheets=sheets, user=None, dry_run=False)
    assert result.committed, messages(result)
    assert Member.objects.filter(nama="Désirée Sitompul").exists()


def test_missing_headers_are_named():
    households, _members = family()
    for row in households:
        row.pop("tanggal_survei")
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheet = workbook.create_sheet("rumah_tangga")
    headers = [h for h in HH_HEADERS if h != "tanggal_survei"]
    sheet.append(headers)
    sheet.append([households[0][h] for h in headers])
    sheet = workbook.create_sheet("anggota")
    sheet.append(M_HEADERS)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = census_import(sheets=census_read(name="x.xlsx", data=buffer.getvalue()))
    assert any("tanggal_survei" in m for m in messages(result))


# --- access, API, jobs, command ----------------------------------------------------------------


def test_operator_b_cannot_import_into_village_a(personas):
    households, members = family()
    result = run(households, members, user=personas["operator_b"])
    assert not result.committed
    assert any("tidak berhak" in m for m in messages(result, "kode_desa"))
    assert Household.objects.count() == 0


def test_operator_imports_into_own_village(personas):
    households, members = family()
    result = run(households, members, user=personas["operator_a"])
    assert result.committed, messages(result)


def upload(client, data, **fields):
    body = {"file": _named(data, "sensus.xlsx"), **fields}
    return client.post("/api/v1/imports/", body)


def _named(data: bytes, name: str):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def test_api_dry_run_then_commit_and_audit(personas, as_user):
    client = as_user(personas["operator_a"])
    response = upload(client, xlsx(*family()))
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == ImportStatus.VALIDATED and job["dry_run"]
    assert job["counts"]["households"]["new"] == 1
    assert Household.objects.count() == 0
    committed = client.post(job["url"], {"action": "commit"}, content_type="application/json")
    assert committed.status_code == 200
    assert committed.json()["status"] == ImportStatus.DONE
    assert Household.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT).count() == 2
    assert client.get("/api/v1/imports/").json()[0]["id"] == job["id"]


def test_api_rejected_file_lists_row_errors(personas, as_user):
    households, members = family()
    households[0]["lantai"] = "99"
    client = as_user(personas["operator_a"])
    job = upload(client, xlsx(households, members), dry_run="false").json()
    assert job["status"] == ImportStatus.REJECTED
    error = job["errors"][0]
    assert error["sheet"] == "rumah_tangga" and error["row"] == 2 and error["column"] == "lantai"
    assert error["message"].startswith("Kode tidak ada di kodebook lantai (boleh: 1, 2,")
    # Stored as its msgid: the same job reads in the language of whoever asks.
    english = client.get(job["url"], HTTP_ACCEPT_LANGUAGE="en").json()["errors"][0]
    assert english == {**error, "message": english["message"]}
    assert english["message"].startswith("Code not in the codebook of lantai (allowed: 1, 2,")


def test_api_preview_lists_warnings_apart_from_errors_and_commits(personas, as_user):
    households, members = family()
    members[1]["nik"] = nik_for(BABULU_DESA, dt.date(2012, 7, 21), 2, 5)
    client = as_user(personas["operator_a"])
    job = upload(client, xlsx(households, members)).json()
    assert job["status"] == ImportStatus.VALIDATED
    assert job["errors"] == [] and job["error_count"] == 0
    assert job["warning_count"] == 1 and job["counts"]["members"]["warnings"] == 1
    warning = job["warnings"][0]
    assert warning["sheet"] == "anggota" and warning["row"] == 3 and warning["column"] == "nik"
    assert warning["value"].startswith("640903") and "kecamatan lain" in warning["message"]
    english = client.get(job["url"], HTTP_ACCEPT_LANGUAGE="en").json()["warnings"][0]
    assert "issued in another kecamatan (640903: Babulu" in english["message"]
    committed = client.post(job["url"], {"action": "commit"}, content_type="application/json")
    assert committed.json()["status"] == ImportStatus.DONE
    assert Member.objects.count() == 2


@pytest.mark.parametrize("role", ["analyst", "official", "norole"])
def test_only_administrators_and_operators_upload(personas, as_user, role):
    response = upload(as_user(personas[role]), xlsx(*family()))
    assert response.status_code == 403


def test_upload_size_limit_gives_413(personas, as_user, settings):
    settings.IMPORT_MAX_BYTES = 1000
    response = upload(as_user(personas["admin"]), xlsx(*family()))
    assert response.status_code == 413
    assert "MB" in response.json()["error"]["message"]


def test_large_file_runs_as_a_background_job(personas, as_user, settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr(import_jobs, "SYNC_MAX_BYTES", 10)
    response = upload(as_user(personas["admin"]), xlsx(*family()), dry_run="false")
    assert response.status_code == 202
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == ImportStatus.DONE and job.progress_percent == 100
    assert job.file_oid is None
    assert Household.objects.count() == 1


def test_template_has_both_sheets_and_the_codebook(client):
    response = client.get("/api/v1/imports/template.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    assert {"rumah_tangga", "anggota", "kodebook"} <= set(workbook.sheetnames)
    assert [c.value for c in workbook["anggota"][1]] == M_HEADERS


def test_empty_template_is_rejected_not_validated(client):
    template = client.get("/api/v1/imports/template.xlsx").content
    result = census_import(sheets=census_read(name="templat.xlsx", data=template))
    assert any("tidak berisi data" in m for m in messages(result))


def test_import_page_has_a_form_with_csrf(personas, as_user):
    anonymous = as_user(None).get("/impor/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/masuk/")
    body = as_user(personas["operator_a"]).get("/impor/").content.decode()
    assert "csrfmiddlewaretoken" in body and 'id="import-config"' in body


def test_command_imports_xlsx_and_csv(tmp_path):
    households, members = family()
    path = tmp_path / "sensus.xlsx"
    path.write_bytes(xlsx(households, members))
    out = io.StringIO()
    call_command("import_census", str(path), "--dry-run", stdout=out)
    assert Household.objects.count() == 0 and "new" in out.getvalue()
    hh, mm = tmp_path / "rt.csv", tmp_path / "ang.csv"
    hh.write_bytes(csv_bytes(HH_HEADERS, households))
    mm.write_bytes(csv_bytes(M_HEADERS, members))
    call_command("import_census", str(hh), "--members", str(mm), stdout=out)
    assert Household.objects.count() == 1
    assert AuditEntry.objects.filter(action=AuditAction.IMPORT).exists()


# --- records of other villages (issue 11, items 1 and 2) ----------------------------------------

NEUTRAL = "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."


def _village_b_families():
    """Two stored households of desa B: one whose No. KK the file names, one whose member's
    NIK it reuses; each with members the file never mentions."""
    named = HouseholdFactory(region_id=BABULU_DESA, head__nama="Rahasia Kepala Satu")
    MemberFactory(household=named, nama="Rahasia Anak Satu", jenis_kelamin=2)
    other = HouseholdFactory(region_id=BABULU_DESA, head__nama="Rahasia Kepala Dua")
    reused = MemberFactory(household=other, nama="Rahasia Anak Dua")
    return named, other, reused


def test_operator_upload_naming_other_village_records_returns_nothing_about_them(personas, as_user):
    named, other, reused = _village_b_families()
    hidden_members = list(Member.objects.filter(household__in=[named, other]))
    # Desa A's own family, one member of which carries the NIK stored in B's second family,
    # and desa B's first No. KK declared as a household of A with a new head only.
    households, members = family()
    members[1].update(nik=reused.nik, tanggal_lahir=reused.tanggal_lahir.isoformat(),
                      jenis_kelamin="1")  # fmt: skip
    households.append(household(named.no_kk, seed=2))
    members.append(member(named.no_kk, 30))
    client = as_user(personas["operator_a"])
    answer = upload(client, xlsx(households, members)).json()
    job = ImportJob.objects.get(pk=answer["id"])

    stored_row = {
        "errors": job.errors, "warnings": job.warnings, "counts": job.counts,
        "missing_members": job.missing_members, "message": job.message,
    }  # fmt: skip
    audit_rows = list(AuditEntry.objects.values("filters", "detail"))
    forbidden = [BABULU_DESA, Region.objects.get(code=BABULU_DESA).name, mask_number(other.no_kk)]
    for stored in hidden_members:
        forbidden.append(stored.nama)
        if stored.nik != reused.nik:  # the file itself names this one
            forbidden.append(mask_number(stored.nik))
    for text in (str(answer), str(stored_row), str(audit_rows)):
        for secret in forbidden:
            assert secret not in text, (secret, text)
    for source in (answer, stored_row):
        assert source["missing_members"] == []
        assert source["counts"]["members"]["missing"] == 0
        assert source["counts"]["households"] == {
            "total": 2, "rejected": 1, "new": 1, "updated": 0, "unchanged": 0,
            # from the digits typed: B's No. KK was issued in Babulu, not in Penajam
            "warnings": 1,
        }  # fmt: skip
        assert source["counts"]["members"]["rejected"] == 1
        assert source["counts"]["members"]["updated"] == 0
        assert source["message"] == ""
    assert job.status == ImportStatus.REJECTED
    problems = {(e["sheet"], e["row"], e["column"]): e for e in answer["errors"]}
    assert problems[("rumah_tangga", 3, "no_kk")]["message"] == NEUTRAL
    assert problems[("anggota", 3, "nik")]["message"] == NEUTRAL
    assert problems[("anggota", 3, "nik")]["value"] == mask_number(reused.nik)
    assert Member.objects.get(pk=reused.pk).household_id == other.pk


def test_number_registered_outside_the_callers_area_is_one_neutral_audited_message(personas):
    named, _other, reused = _village_b_families()
    households, members = family()
    members[1].update(nik=reused.nik, tanggal_lahir=reused.tanggal_lahir.isoformat(),
                      jenis_kelamin="1")  # fmt: skip
    households.append(household(named.no_kk, seed=2))
    members.append(member(named.no_kk, 30))
    result = run(households, members, user=personas["operator_a"], dry_run=True)
    neutral = [e for e in result.errors if e.message == NEUTRAL]
    assert [(e.sheet, e.row, e.column) for e in neutral] == [
        ("rumah_tangga", 3, "no_kk"),
        ("anggota", 3, "nik"),
    ]
    assert not any("KK lain" in m or "desa 64" in m for m in messages(result))
    denied = AuditEntry.objects.get(action=AuditAction.ACCESS_DENIED)
    assert denied.user == personas["operator_a"] and denied.rows == 2
    assert denied.filters == {"import_rows": [
        {"sheet": "rumah_tangga", "row": 3, "column": "no_kk"},
        {"sheet": "anggota", "row": 3, "column": "nik"},
    ]}  # fmt: skip


@pytest.mark.parametrize("caller", ["admin", None])
def test_callers_with_rights_in_both_villages_keep_the_precise_message(personas, caller):
    _named, other, reused = _village_b_families()
    households, members = family()
    members[1].update(nik=reused.nik, tanggal_lahir=reused.tanggal_lahir.isoformat(),
                      jenis_kelamin="1")  # fmt: skip
    result = run(households, members, user=personas.get(caller), dry_run=True)
    (error,) = [e for e in result.errors if e.column == "nik"]
    assert "KK lain" in error.message and mask_number(other.no_kk) in error.message
    assert not AuditEntry.objects.filter(action=AuditAction.ACCESS_DENIED).exists()


def test_operator_sees_missing_members_of_own_village_only(personas):
    own = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    MemberFactory(household=own, nama="Anggota Sendiri")
    households = [household(own.no_kk)]
    members = [member(own.no_kk, 40)]
    result = run(households, members, user=personas["operator_a"], dry_run=True, missing="remove")
    assert sorted(m["nama"] for m in result.missing_members) == sorted(
        Member.objects.filter(household=own).values_list("nama", flat=True)
    )
    assert result.counts["members"]["missing"] == 2


# --- smaller import findings of issue 11 ----------------------------------------------------


def _workbook_without(hh_dropped=(), m_dropped=()) -> bytes:
    households, members = family()
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, headers, rows, dropped in (
        ("rumah_tangga", HH_HEADERS, households, hh_dropped),
        ("anggota", M_HEADERS, members, m_dropped),
    ):
        kept = [h for h in headers if h not in dropped]
        sheet = workbook.create_sheet(title)
        sheet.append(kept)
        for row in rows:
            sheet.append([row[h] for h in kept])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_missing_optional_columns_read_as_empty():
    data = _workbook_without(
        hh_dropped=("lantai", "alamat", "penerima_pkh"), m_dropped=("pekerjaan",)
    )
    result = census_import(sheets=census_read(name="x.xlsx", data=data), dry_run=False)
    assert result.committed, messages(result)
    stored = Household.objects.get()
    assert stored.lantai is None and stored.alamat == "" and stored.penerima_pkh is False
    assert set(Member.objects.values_list("pekerjaan", flat=True)) == {""}


def test_missing_required_column_is_named_as_required_and_only_it():
    data = _workbook_without(hh_dropped=("tanggal_survei", "lantai"))
    result = census_import(sheets=census_read(name="x.xlsx", data=data))
    (error,) = result.errors
    assert (error.sheet, error.row, error.column) == ("rumah_tangga", 1, "tanggal_survei")
    assert "wajib" in error.message and "lantai" not in error.message


def test_head_with_an_invalid_nik_gives_one_error_with_its_row_and_no_full_kk():
    households, members = family()
    members[0]["nik"] = "64090109038"
    result = run(households, members, dry_run=True)
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("anggota", 2, "nik")]
    assert result.errors[0].value == mask_number("64090109038")
    assert all("6409010101250001" not in str(e.as_dict()) for e in result.errors)


def test_identity_numbers_in_numeric_cells_are_masked_in_messages_and_values():
    households, members = family()
    result = run(households, members, numeric_nik=True, dry_run=True)
    errors = [e for e in result.errors if e.column == "nik"]
    assert len(errors) == 2 == len(result.errors)
    for error, row in zip(errors, members, strict=True):
        assert row["nik"] not in error.message and row["nik"] not in error.value
        assert error.value == mask_number(row["nik"])
        assert error.value in error.message


def test_label_typed_instead_of_a_code_lists_the_valid_codes_with_labels():
    households, members = family()
    households[0]["kepemilikan_rumah"] = "Milik sendiri"
    result = run(households, members, dry_run=True)
    (message,) = messages(result, "kepemilikan_rumah")
    assert "1 = Milik sendiri" in message and "2 = " in message


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_a_warning_with_row_and_column():
    households, members = family()
    households[0]["alamat"] = '=HYPERLINK("http://x","klik")'
    members[1]["nama"] = "@SUM(1+1)"
    members[0]["pekerjaan"] = "-"  # a lone dash means "none"
    # CSV: in an XLSX written by openpyxl a text beginning with "=" becomes a formula cell.
    sheets = census_read(
        name="rt.csv",
        data=csv_bytes(HH_HEADERS, households),
        members_data=csv_bytes(M_HEADERS, members),
    )
    result = census_import(sheets=sheets, dry_run=False)
    assert result.committed, messages(result)
    found = [(w.sheet, w.row, w.column) for w in result.warnings]
    assert found == [("rumah_tangga", 2, "alamat"), ("anggota", 3, "nama")]
    assert all("rumus" in w.message for w in result.warnings)


# --- limits: memory of small files (issue 11, item 5) -------------------------------------------


def _csv_pair(households, members) -> list:
    return census_read(
        name="rt.csv",
        data=csv_bytes(HH_HEADERS, households),
        members_data=csv_bytes(M_HEADERS, members),
    )


def test_headers_are_checked_before_any_row_is_read():
    households, members = family()
    headers = [h for h in HH_HEADERS if h != "tanggal_survei"]
    sheets = census_read(
        name="rt.csv",
        data=csv_bytes(headers, households * 50),
        members_data=csv_bytes(M_HEADERS, members),
    )
    result = census_import(sheets=sheets)
    assert [e.column for e in result.errors] == ["tanggal_survei"]
    assert result.counts["households"]["total"] == 0
    assert all(inspect.getgeneratorstate(s.rows) == inspect.GEN_CREATED for s in sheets)


def test_row_limit_is_a_file_error_naming_the_limit(settings):
    settings.IMPORT_MAX_ROWS = 3
    households, members = [], []
    for index in range(4):
        kk = f"64090101012500{index + 1:02d}"
        h, m = family(kk, base=10 * index + 1, seed=index + 1)
        households += h
        members += m
    sheets = _csv_pair(households, members)
    with pytest.raises(columns.ImportFileError, match="3") as caught:
        census_import(sheets=sheets, dry_run=False)
    assert "rumah_tangga" in str(caught.value) and "batas" in str(caught.value)
    assert Household.objects.count() == 0


def test_xlsx_declaring_more_rows_than_the_limit_is_refused_before_reading(settings):
    settings.IMPORT_MAX_ROWS = 1
    with pytest.raises(columns.ImportFileError, match="anggota"):
        census_read(name="x.xlsx", data=xlsx(*family()))


def test_overlong_cell_is_a_file_error_naming_row_column_and_limit(settings):
    settings.IMPORT_MAX_CELL_CHARS = 50
    households, members = family()
    members[1]["pekerjaan"] = "x" * 51
    for sheets in (
        _csv_pair(households, members),
        [*census_read(name="x.xlsx", data=xlsx(households, members))],
    ):
        with pytest.raises(columns.ImportFileError) as caught:
            census_import(sheets=sheets)
        message = str(caught.value)
        assert "anggota" in message and "baris 3" in message and "pekerjaan" in message
        assert "50" in message


def _with_part(data: bytes, name: str, payload: bytes) -> bytes:
    """The workbook with one more part, compressed as a zip bomb would be."""

    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == name:
                content = payload
            target.writestr(info.filename, content)
        if name not in source.namelist():
            target.writestr(name, payload)
    return buffer.getvalue()


def test_xlsx_with_one_huge_shared_string_is_refused_before_openpyxl_reads_it(settings):
    settings.IMPORT_MAX_SHARED_STRINGS_BYTES = 1024 * 1024
    huge = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>' + b"A" * (2 * 1024 * 1024) + b"</t></si></sst>"
    )
    data = _with_part(xlsx(*family()), "xl/sharedStrings.xml", huge)
    assert len(data) < 64 * 1024  # small on the wire
    with pytest.raises(columns.ImportFileError, match="sharedStrings"):
        census_read(name="x.xlsx", data=data)


def test_zip_bomb_is_refused_by_its_declared_uncompressed_size(settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024
    data = _with_part(xlsx(*family()), "xl/media/padding.bin", bytes(8 * 1024 * 1024))
    assert len(data) < 64 * 1024
    with pytest.raises(columns.ImportFileError, match="IMPORT_MAX_UNCOMPRESSED_BYTES"):
        census_read(name="x.xlsx", data=data)


def test_small_upload_that_inflates_beyond_the_request_bound_goes_to_the_worker(
    personas, as_user, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    inflated = _with_part(xlsx(*family()), "xl/media/padding.bin", bytes(8 * 1024 * 1024))
    assert len(inflated) < import_jobs.SYNC_MAX_BYTES < read.work_bytes(inflated)
    response = upload(as_user(personas["operator_a"]), inflated)
    assert response.status_code == 202
    assert ImportJob.objects.get(pk=response.json()["id"]).status == ImportStatus.VALIDATED
    small = upload(as_user(personas["operator_a"]), xlsx(*family()))
    assert small.status_code == 201


def test_a_file_limit_hit_while_reading_rejects_the_job_with_its_message(
    personas, as_user, settings
):
    settings.IMPORT_MAX_CELL_CHARS = 50
    households, members = family()
    households[0]["alamat"] = "x" * 51
    job = upload(as_user(personas["operator_a"]), xlsx(households, members)).json()
    assert job["status"] == ImportStatus.REJECTED
    assert "alamat" in job["message"] and "50" in job["message"]
    assert job["error_count"] == 1
