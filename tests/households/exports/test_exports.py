"""Exports: read back with pandas, openpyxl and GDAL; masking, rights and audit; the round
trip through the importer; indicator tables and the village profile PDF; large XLSX files
as background jobs (scope and rights re-applied when they run, owner-only downloads,
expiry)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import re
import time
import zlib
from urllib.parse import urlencode

import pandas as pd
import pytest
from django.contrib.gis.gdal import DataSource as GdalDataSource
from django.core.management import call_command
from django.utils import timezone, translation
from openpyxl import load_workbook
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from desapresisi import audit
from desapresisi.i18n import shown
from desapresisi.masking import mask_number
from desapresisi.models import AccessProfile, AuditAction, AuditEntry
from desapresisi.throttling import PortalRateThrottle
from households.census_import.read import census_read
from households.census_import.service import census_import
from households.exports import rows as export_rows
from households.exports.jobs import export_files_clean, export_job_run
from households.exports.pdf import _header_lines
from households.filters import HouseholdFilter, MemberFilter
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, ExportJob, ExportStatus, Household, Indicator, Member
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(personas):
    households = [HouseholdFactory(region_id=PENAJAM_KELURAHAN) for _ in range(3)]
    households.append(HouseholdFactory(region_id=BABULU_DESA, fasilitas_bab=5, jenis_kloset=None))
    MemberFactory(household=households[0], nama="Anak Uji")
    return {"households": households, "personas": personas}


@pytest.fixture
def rolled_up(data):
    """The same data with its indicator values (the full rollup takes seconds)."""
    indicators_refresh(full=True)
    return data


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_households_csv_reads_back_masked_with_labels(data, as_user):
    client = as_user(data["personas"]["analyst"])
    response = client.get(f"/api/v1/exports/households.csv?region={PENAJAM_KELURAHAN}")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    frame = pd.read_csv(io.BytesIO(body(response)), dtype=str, encoding="utf-8-sig")
    assert len(frame) == 3
    assert set(frame["kode_desa"]) == {PENAJAM_KELURAHAN}
    assert frame["no_kk"].str.fullmatch(r"\d{6}\*[A-Z]{4}\*\d{4}").all()
    assert frame["fasilitas_bab_label"].notna().all()
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.rows == 3 and entry.filters == {"region": [PENAJAM_KELURAHAN]}


def test_every_list_filter_applies_to_exports(data, as_user):
    client = as_user(data["personas"]["analyst"])
    response = client.get("/api/v1/exports/households.csv?fasilitas_bab=5")
    frame = pd.read_csv(io.BytesIO(body(response)), dtype=str, encoding="utf-8-sig")
    assert list(frame["kode_desa"]) == [BABULU_DESA]
    members = client.get("/api/v1/exports/members.csv?hubungan_keluarga=4")
    frame = pd.read_csv(io.BytesIO(body(members)), dtype=str, encoding="utf-8-sig")
    assert list(frame["nama"]) == ["Anak Uji"]


def test_labels_follow_the_language(data, as_user):
    client = as_user(data["personas"]["analyst"])
    indonesian = body(client.get("/api/v1/exports/households.csv?fasilitas_bab=5")).decode()
    english = body(
        client.get("/api/v1/exports/households.csv?fasilitas_bab=5", HTTP_ACCEPT_LANGUAGE="en")
    ).decode()
    assert indonesian != english


def test_xlsx_is_a_real_workbook_with_summary_members_and_codebook(data, as_user):
    client = as_user(data["personas"]["analyst"])
    response = client.get("/api/v1/exports/households.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    assert workbook.sheetnames == ["ringkasan", "rumah_tangga", "anggota", "kodebook"]
    rows = list(workbook["rumah_tangga"].iter_rows(values_only=True))
    assert len(rows) == 1 + 4
    assert len(list(workbook["anggota"].iter_rows(values_only=True))) == 1 + 5


def test_geojson_opens_in_gdal(data, as_user, tmp_path):
    client = as_user(data["personas"]["analyst"])
    response = client.get("/api/v1/exports/households.geojson")
    assert response["Content-Type"] == "application/geo+json"
    path = tmp_path / "rumah_tangga.geojson"
    path.write_bytes(body(response))
    layer = GdalDataSource(str(path))[0]
    assert layer.num_feat == 4
    assert layer.srs.srid == 4326
    assert layer.geom_type.name == "Point"
    members = client.get("/api/v1/exports/members.geojson")
    assert len(json.loads(body(members))["features"]) == 5


def test_unmask_needs_the_right(data, as_user):
    household = data["households"][0]
    analyst = as_user(data["personas"]["analyst"])
    text = body(analyst.get("/api/v1/exports/households.csv?unmask=true")).decode()
    assert household.no_kk in text
    assert AuditEntry.objects.filter(action=AuditAction.UNMASK).exists()
    waru = as_user(data["personas"]["analyst_waru"])
    assert waru.get("/api/v1/exports/households.csv?unmask=true").status_code == 403


@pytest.mark.parametrize("role", ["official", "operator_a", "norole", None])
@pytest.mark.parametrize("kind", ["households", "members"])
def test_named_exports_only_for_administrators_and_analysts(data, as_user, role, kind):
    client = as_user(data["personas"][role] if role else None)
    for fmt in ("csv", "xlsx", "geojson"):
        assert client.get(f"/api/v1/exports/{kind}.{fmt}").status_code in (401, 403)
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_analyst_exports_stay_in_their_area(data, as_user):
    client = as_user(data["personas"]["analyst_waru"])
    frame = pd.read_csv(io.BytesIO(body(client.get("/api/v1/exports/households.csv"))), dtype=str)
    assert len(frame) == 0


def test_round_trip_export_then_import_changes_nothing(data, as_user):
    client = as_user(data["personas"]["admin"])
    exported = body(client.get("/api/v1/exports/households.xlsx?unmask=true"))
    versions = dict(Household.objects.values_list("no_kk", "versi"))
    result = census_import(
        sheets=census_read(name="ekspor.xlsx", data=exported),
        user=data["personas"]["admin"],
        dry_run=False,
    )
    assert result.errors == []
    assert result.counts["households"]["unchanged"] == 4
    assert result.counts["households"]["updated"] == 0
    assert result.counts["members"]["unchanged"] == 5
    assert dict(Household.objects.values_list("no_kk", "versi")) == versions


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_formula_like_text_survives_export_and_import_unchanged(data, as_user, fmt):
    """The export's leading quote against formula injection is removed again on import:
    an address typed as `=...` or an occupation of `-` comes back as it was."""
    household = Household.objects.order_by("pk").first()
    Household.objects.filter(pk=household.pk).update(alamat='=HYPERLINK("http://x")')
    Member.objects.filter(household=household).update(pekerjaan="-")
    client = as_user(data["personas"]["admin"])
    if fmt == "xlsx":
        sheets = census_read(
            name="ekspor.xlsx",
            data=body(client.get("/api/v1/exports/households.xlsx?unmask=true")),
        )
    else:
        households = body(client.get("/api/v1/exports/households.csv?unmask=true"))
        members = body(client.get("/api/v1/exports/members.csv?unmask=true"))
        assert b"'=HYPERLINK" in households and b"'-" in members
        sheets = census_read(name="ekspor.csv", data=households, members_data=members)
    versions = dict(Household.objects.values_list("no_kk", "versi"))
    result = census_import(sheets=sheets, user=data["personas"]["admin"], dry_run=False)
    assert result.errors == []
    assert result.counts["households"]["updated"] == 0
    assert result.counts["members"]["updated"] == 0
    assert dict(Household.objects.values_list("no_kk", "versi")) == versions
    assert Household.objects.get(pk=household.pk).alamat == '=HYPERLINK("http://x")'
    assert set(Member.objects.filter(household=household).values_list("pekerjaan", flat=True)) == {
        "-"
    }


def test_indicator_tables_as_csv_and_xlsx(rolled_up, client, as_user):
    data = rolled_up
    url = "/api/v1/exports/indicators.{}?indicator=jumlah_rumah_tangga,babs&level=desa&parent=64.09"
    public = pd.read_csv(io.BytesIO(client.get(url.format("csv")).content), encoding="utf-8-sig")
    assert set(public["suppressed"]) == {True}
    assert public["numerator"].isna().all()
    analyst = as_user(data["personas"]["analyst"])
    frame = pd.read_csv(io.BytesIO(analyst.get(url.format("csv")).content), encoding="utf-8-sig")
    counts = frame[frame["indicator"] == "jumlah_rumah_tangga"].set_index("area_code")
    assert counts.loc[PENAJAM_KELURAHAN, "numerator"] == 3
    workbook = load_workbook(io.BytesIO(body(analyst.get(url.format("xlsx")))))
    assert workbook.sheetnames == ["ringkasan", "indikator"]
    assert client.get(url.format("pdf")).status_code == 404


def test_village_profile_pdf_is_public_and_one_page(rolled_up, client):
    response = client.get(f"/api/v1/exports/village-profile/{PENAJAM_KELURAHAN}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response.content.count(b"/Type /Page\n") + response.content.count(b"/Type /Page ") <= 1
    assert client.get("/api/v1/exports/village-profile/64.09.01.pdf").status_code == 404


# --- the members workbook ------------------------------------------------------------------


def test_members_xlsx_has_the_households_of_its_members(data, as_user):
    client = as_user(data["personas"]["analyst"])
    response = client.get("/api/v1/exports/members.xlsx?hubungan_keluarga=4")
    workbook = load_workbook(io.BytesIO(body(response)), read_only=True)
    assert workbook.sheetnames == ["ringkasan", "rumah_tangga", "anggota", "kodebook"]
    households = list(workbook["rumah_tangga"].iter_rows(values_only=True))
    members = list(workbook["anggota"].iter_rows(values_only=True))
    assert len(households) == 1 + 1 and len(members) == 1 + 1
    kk = households[1][households[0].index("no_kk")]
    assert kk == mask_number(data["households"][0].no_kk)
    assert members[1][members[0].index("no_kk")] == kk


def test_members_xlsx_households_sheet_keeps_to_the_scope(data, as_user):
    client = as_user(data["personas"]["analyst_waru"])
    workbook = load_workbook(io.BytesIO(body(client.get("/api/v1/exports/members.xlsx"))))
    assert workbook["rumah_tangga"].max_row == 1 and workbook["anggota"].max_row == 1


# --- large XLSX exports as background jobs ---------------------------------------------------


@pytest.fixture
def jobs_now(settings):
    """Exports of more than 2 rows become jobs, run at once by the immediate backend."""
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_large_xlsx_export_is_a_job_with_progress_then_a_download(
    data, as_user, jobs_now, settings
):
    client = as_user(data["personas"]["analyst"])
    response = client.get(f"/api/v1/exports/households.xlsx?region={PENAJAM_KELURAHAN}")
    assert response.status_code == 202
    job = response.json()
    assert response["Location"] == job["url"]
    assert job["status"] == ExportStatus.DONE and job["rows"] == 3
    assert job["progress_percent"] == 100 and job["progress_rows"] == job["progress_total"] == 3 + 4
    assert job["query"] == {"region": [PENAJAM_KELURAHAN]} and job["unmasked"] is False
    assert client.get(job["url"]).json()["download_url"] == job["download_url"]
    download = client.get(job["download_url"])
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    workbook = load_workbook(io.BytesIO(body(download)), read_only=True)
    assert workbook.sheetnames == ["ringkasan", "rumah_tangga", "anggota", "kodebook"]
    rows = list(workbook["rumah_tangga"].iter_rows(values_only=True))
    assert len(rows) == 1 + 3
    assert all("*" in row[rows[0].index("no_kk")] for row in rows[1:])
    details = list(
        AuditEntry.objects.filter(action=AuditAction.EXPORT).values_list("detail", flat=True)
    )
    assert any("job" in d and "download" not in d for d in details)
    assert any("download" in d for d in details)
    stored = ExportJob.objects.get(pk=job["id"])
    assert stored.path.parent == settings.EXPORT_ROOT and stored.path.exists()


def test_small_xlsx_export_stays_in_the_request(data, as_user, jobs_now):
    client = as_user(data["personas"]["analyst"])
    response = client.get(f"/api/v1/exports/households.xlsx?region={BABULU_DESA}")
    assert response.status_code == 200 and not ExportJob.objects.exists()


def test_browser_asking_for_a_large_export_is_sent_to_the_export_page(data, as_user, jobs_now):
    client = as_user(data["personas"]["analyst"])
    response = client.get("/api/v1/exports/members.xlsx", HTTP_ACCEPT="text/html,*/*")
    job = ExportJob.objects.get()
    assert response.status_code == 303
    assert response["Location"] == f"/ekspor/?job={job.pk}"
    page = client.get(response["Location"]).content.decode()
    assert 'id="export-config"' in page and "/api/v1/exports/jobs/" in page


def test_export_job_is_only_for_its_owner_or_an_administrator(data, as_user, jobs_now):
    personas = data["personas"]
    job = as_user(personas["analyst"]).get("/api/v1/exports/households.xlsx").json()
    other = as_user(personas["analyst_waru"])
    assert other.get(job["url"]).status_code == 404
    assert other.get(job["download_url"]).status_code == 404
    assert other.get("/api/v1/exports/jobs/").json() == []
    assert as_user(personas["official"]).get(job["download_url"]).status_code == 403
    admin = as_user(personas["admin"])
    assert admin.get(job["download_url"]).status_code == 200
    assert [row["id"] for row in admin.get("/api/v1/exports/jobs/").json()] == [job["id"]]


def test_background_export_is_written_in_the_language_it_was_asked_in(data, as_user, settings):
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 2  # queued in the database backend, not run yet
    client = as_user(data["personas"]["analyst"])
    job = client.get("/api/v1/exports/households.xlsx", HTTP_ACCEPT_LANGUAGE="en").json()
    assert job["status"] == ExportStatus.QUEUED
    export_job_run(job_id=job["id"])  # as the worker runs it, in the default language
    done = client.get(job["url"]).json()
    workbook = load_workbook(io.BytesIO(body(client.get(done["download_url"]))), read_only=True)
    summary = [list(line) for line in workbook["ringkasan"].iter_rows(values_only=True)]
    assert summary[0] == ["Desa Presisi", "households export"]
    assert ["by", "analis-uji"] in summary and ["filter", "(no filter)"] in summary


def test_export_job_applies_the_scope_and_unmask_right_of_when_it_runs(data, as_user, settings):
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 2  # queued in the database backend, not run yet
    analyst = data["personas"]["analyst"]
    client = as_user(analyst)
    masked = client.get("/api/v1/exports/households.xlsx").json()
    unmasked = client.get("/api/v1/exports/households.xlsx?unmask=true").json()
    assert masked["status"] == unmasked["status"] == ExportStatus.QUEUED
    assert unmasked["unmasked"] is True and unmasked["download_url"] is None
    assert client.get(f"{masked['url']}download/").status_code == 409
    # Meanwhile the analyst is moved to Babulu and loses the right to unmask.
    AccessProfile.objects.filter(user=analyst).update(areas=["64.09.03"], can_unmask=False)
    export_job_run(job_id=masked["id"])
    export_job_run(job_id=unmasked["id"])
    refused = client.get(unmasked["url"]).json()
    assert refused["status"] == ExportStatus.FAILED and "unmask" in refused["error"]
    assert refused["error"].startswith("Pemilik tidak lagi berhak membuka NIK/KK")
    english = client.get(unmasked["url"], HTTP_ACCEPT_LANGUAGE="en").json()["error"]
    assert english.startswith("The owner may no longer unmask NIK/KK")
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_DENIED).exists()
    done = client.get(masked["url"]).json()
    workbook = load_workbook(io.BytesIO(body(client.get(done["download_url"]))), read_only=True)
    villages = [row[1] for row in workbook["rumah_tangga"].iter_rows(min_row=2, values_only=True)]
    assert villages == [BABULU_DESA]


def test_unmasked_file_needs_the_right_at_download_too(data, as_user, jobs_now):
    analyst = data["personas"]["analyst"]
    client = as_user(analyst)
    job = client.get("/api/v1/exports/households.xlsx?unmask=true").json()
    assert job["status"] == ExportStatus.DONE
    AccessProfile.objects.filter(user=analyst).update(can_unmask=False)
    assert as_user(analyst).get(job["download_url"]).status_code == 403
    assert as_user(data["personas"]["admin"]).get(job["download_url"]).status_code == 200
    assert AuditEntry.objects.filter(action=AuditAction.UNMASK).count() == 2  # asked, admin
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_DENIED).count() == 1


def test_expired_files_are_refused_and_cleaned(data, as_user, jobs_now, settings):
    client = as_user(data["personas"]["analyst"])
    first = client.get("/api/v1/exports/households.xlsx").json()
    second = client.get("/api/v1/exports/members.xlsx").json()
    path = ExportJob.objects.get(pk=first["id"]).path
    orphan = settings.EXPORT_ROOT / "ekspor-999-dead.xlsx.part"
    orphan.write_bytes(b"half a workbook")
    old = time.time() - 2 * 3600 * settings.EXPORT_RETENTION_HOURS
    os.utime(orphan, (old, old))
    later = timezone.now() + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS, minutes=1)
    ExportJob.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    stuck = ExportJob.objects.create(user=data["personas"]["analyst"], kind="anggota")
    ExportJob.objects.filter(pk=stuck.pk).update(
        created=timezone.now() - 2 * (later - timezone.now())
    )
    response = client.get(first["download_url"])
    assert response.status_code == 410 and not path.exists()
    assert client.get(first["url"]).json()["status"] == ExportStatus.EXPIRED
    out = io.StringIO()
    call_command("clean_exports", stdout=out)
    assert "expired 1, abandoned 1, orphaned files 1" in out.getvalue()
    stuck.refresh_from_db()
    assert stuck.status == ExportStatus.FAILED and "Tidak selesai" in stuck.error
    with translation.override("en"):  # stored as its msgid, translated when read
        assert "Not finished in time" in shown(stuck.error, stuck.error_params)
    assert not orphan.exists() and not list(settings.EXPORT_ROOT.iterdir())
    assert ExportJob.objects.get(pk=second["id"]).status == ExportStatus.EXPIRED
    assert export_files_clean(now=later) == {"expired": 0, "abandoned": 0, "orphans": 0}


def test_export_page_lists_jobs_for_exporters_only(data, as_user):
    analyst = as_user(data["personas"]["analyst"]).get("/ekspor/").content.decode()
    assert 'id="export-jobs"' in analyst and "js/exports.js" in analyst
    official = as_user(data["personas"]["official"]).get("/ekspor/").content.decode()
    assert 'id="export-jobs"' not in official and "analis SKPD" in official


# --- harmless input never answers 5xx (issue 11, item 8) -------------------------------------

NAMED_EXPORTS = [
    f"/api/v1/exports/{kind}.{fmt}"
    for kind in ("households", "members")
    for fmt in ("csv", "xlsx", "geojson")
]
LISTS = ["/api/v1/households/", "/api/v1/members/"]
HUGE = "99999999999999999999"  # beyond bigint


def empty_export(url: str, response) -> None:
    """A header-only file of the format asked for."""
    assert response.status_code == 200, body(response)[:300]
    content = body(response)
    members = "/members." in url
    headers = export_rows.member_headers() if members else export_rows.household_headers()
    if url.endswith(".csv"):
        lines = content.decode("utf-8-sig").splitlines()
        assert lines == [",".join(headers)]
    elif url.endswith(".xlsx"):
        workbook = load_workbook(io.BytesIO(content), read_only=True)
        for sheet, sheet_headers in (
            ("rumah_tangga", export_rows.household_headers()),
            ("anggota", export_rows.member_headers()),
        ):
            assert list(workbook[sheet].iter_rows(values_only=True)) == [tuple(sheet_headers)]
    else:
        assert json.loads(content) == {"type": "FeatureCollection", "features": []}


HOUSEHOLD_NEVER = [
    "tangga_sanitasi__lte=-1",
    f"tangga_sanitasi={HUGE}",
    f"tangga_sanitasi__in=-1,{HUGE}",
    f"jumlah_anggota={HUGE}",
    f"jumlah_anggota__lte=-{HUGE}",
    f"jumlah_ats__gte={HUGE}",
]
MEMBER_NEVER = [f"age_min={HUGE}", f"age_max=-{HUGE}"]


def never_matching():
    """Each filter that can never match, with every URL of the list it belongs to."""
    for url in NAMED_EXPORTS + LISTS:
        for query in MEMBER_NEVER if "members" in url else HOUSEHOLD_NEVER:
            yield url, query


@pytest.mark.parametrize(("url", "query"), list(never_matching()))
def test_filters_that_cannot_match_give_an_empty_answer(data, as_user, url, query):
    client = as_user(data["personas"]["analyst"])
    client.raise_request_exception = False
    response = client.get(f"{url}?{query}")
    if url in LISTS:
        assert response.status_code == 200 and response.json()["results"] == []
    else:
        empty_export(url, response)


EVERY_EXPORT = [
    *NAMED_EXPORTS,
    "/api/v1/exports/indicators.csv",
    "/api/v1/exports/indicators.xlsx",
    f"/api/v1/exports/village-profile/{PENAJAM_KELURAHAN}.pdf",
    "/api/v1/exports/jobs/",
]


@pytest.mark.parametrize("url", [*EVERY_EXPORT, *LISTS, "/ekspor/", "/"])
@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("alamat=a%00b", "alamat"),  # not a filter at all: the audit entry still copies it
        ("region=64.09%00", "region"),
        ("fasilitas_bab=1%00", "fasilitas_bab"),
        ("x%00y=1", "x\\u0000y"),
    ],
)
def test_nul_in_any_query_parameter_is_a_400_naming_it(data, as_user, url, query, named):
    client = as_user(data["personas"]["analyst"])
    client.raise_request_exception = False
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == 400 and error["code"] == "invalid"
    assert list(error["fields"]) == [named]
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("url", ["/masuk/", "/api/v1/auth/token/"])
@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_nul_in_a_form_field_is_a_400_naming_it(personas, client, url, encoding):
    client.raise_request_exception = False
    fields = {"username": "analis-uji\x00", "password": "x"}
    if encoding == "urlencoded":
        response = client.post(
            url, urlencode(fields), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post(url, fields)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["username"]


def test_audit_record_never_fails_on_nul(personas, rf):
    request = rf.get("/api/v1/exports/households.csv", {"alamat": "a\x00b"})
    request.user = personas["analyst"]
    entry = audit.record(
        action=AuditAction.EXPORT,
        request=request,
        filters={"k\x00": ["v\x00"]},
        detail="d\x00",
    )
    entry.refresh_from_db()
    assert entry.filters == {"k\ufffd": ["v\ufffd"]} and entry.detail == "d\ufffd"
    assert audit.record(action=AuditAction.EXPORT, request=request).filters == {
        "alamat": ["a\ufffdb"]
    }


@pytest.mark.parametrize("sign", ["", "-"])
@pytest.mark.parametrize("kind", ["households", "members"])
def test_out_of_range_numbers_in_any_filter_are_a_400_or_empty(
    data, as_user, kind, sign, monkeypatch
):
    """Every filter of the list, given a number beyond bigint: a 400 naming that filter,
    or an answer (empty when the filter is numeric, see the test above); never a 5xx."""

    # About 200 requests in a row: above the exports' hourly rate, which is not tested here.
    monkeypatch.setattr(
        PortalRateThrottle, "THROTTLE_RATES", dict.fromkeys(("api", "exports"), "10000/hour")
    )

    filterset = HouseholdFilter if kind == "households" else MemberFilter
    client = as_user(data["personas"]["analyst"])
    client.raise_request_exception = False
    urls = [f"/api/v1/exports/{kind}.{fmt}" for fmt in ("csv", "xlsx", "geojson")]
    for name in filterset.base_filters:
        for url in [*urls, f"/api/v1/{kind}/"]:
            response = client.get(url, {name: f"{sign}{HUGE}"})
            assert response.status_code in (200, 400), (name, url, response.status_code)
            body(response)  # a streamed file fails while it is read, not before
            if response.status_code == 400:
                assert name in response.json()["error"]["fields"], (name, url)


# --- formula injection (issue 11, item 4) ------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://contoh.example/x","klik")'
DANGEROUS = {HYPERLINK, "@SUM(1)", "+1", "-2", "\t=1"}


@pytest.fixture
def formulas(data):
    home = HouseholdFactory(region_id=BABULU_DESA, alamat=HYPERLINK, dusun="-2")
    MemberFactory(household=home, nama="@SUM(1)", pekerjaan="+1", hubungan_keluarga=3)
    MemberFactory(household=home, nama="\t=1", pekerjaan="-2", hubungan_keluarga=4)
    return data


def assert_no_formula(workbook) -> list:
    """Every cell of every sheet: never a formula, never text a spreadsheet would run."""
    values = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(export_rows.FORMULA_STARTS), cell.value
                values.append(cell.value)
    return values


@pytest.mark.parametrize("kind", ["households", "members"])
def test_xlsx_export_writes_formula_text_as_neutral_strings(formulas, as_user, kind):
    client = as_user(formulas["personas"]["analyst"])
    # The query string itself starts with "=": it is echoed on the summary sheet.
    response = client.get(f"/api/v1/exports/{kind}.xlsx?=cmd&region=64.09.03")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(body(response)))
    values = assert_no_formula(workbook)
    assert {"'" + text for text in DANGEROUS} <= set(values)
    assert "'=cmd&region=64.09.03" in values
    households = workbook["rumah_tangga"]
    header = [cell.value for cell in households[1]]
    latitudes = [row[header.index("lintang")] for row in households.iter_rows(min_row=2)]
    assert latitudes and all(c.data_type == "n" and c.value < 0 for c in latitudes)


@pytest.mark.parametrize("kind", ["households", "members"])
def test_csv_export_bytes_carry_no_formula(formulas, as_user, kind):
    client = as_user(formulas["personas"]["analyst"])
    content = body(client.get(f"/api/v1/exports/{kind}.csv?region=64.09.03"))
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    cells = [value for row in rows[1:] for value in row]
    for value in cells:
        if value.startswith(export_rows.FORMULA_STARTS):
            float(value)  # a number (a negative coordinate) may; text never does
    expected = {HYPERLINK, "-2"} if kind == "households" else {"@SUM(1)", "+1", "\t=1", "-2"}
    assert {"'" + text for text in expected} <= set(cells)
    assert b"\n=HYPERLINK" not in content and b",=HYPERLINK" not in content


def test_indicator_tables_neutralise_formula_names(rolled_up, as_user):
    Indicator.objects.filter(code="babs").update(name_id="=1+1", name_en="-evil")
    client = as_user(rolled_up["personas"]["analyst"])
    url = "/api/v1/exports/indicators.{}?=cmd&indicator=babs&level=desa&parent=64.09"
    text = body(client.get(url.format("csv"))).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert {row[rows[0].index("indicator_name")] for row in rows[1:]} == {"'=1+1"}
    workbook = load_workbook(io.BytesIO(body(client.get(url.format("xlsx")))))
    values = assert_no_formula(workbook)
    assert "'=1+1" in values and "'=cmd&indicator=babs&level=desa&parent=64.09" in values


# --- XLSX speed and the synchronous limit (issue 11, item 9) -----------------------------------


def test_xlsx_sync_limit_counts_every_row_written(data, as_user, settings):
    """3 households bring 4 members: 7 rows written, over a limit of 5, so a job."""
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 5
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client = as_user(data["personas"]["analyst"])
    response = client.get(f"/api/v1/exports/households.xlsx?region={PENAJAM_KELURAHAN}")
    assert response.status_code == 202
    assert response.json()["progress_total"] == 3 + 4
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 7
    response = client.get(f"/api/v1/exports/households.xlsx?region={PENAJAM_KELURAHAN}")
    assert response.status_code == 200


def test_xlsx_cells_keep_their_type_and_any_character(data, as_user):
    """Text stays text (NIK/KK digits included), numbers numbers, dates ISO text; XML's
    special characters and a stray control character (openpyxl refused it: a 500) too."""
    home = data["households"][0]
    Household.objects.filter(pk=home.pk).update(alamat='Jl. A&B <5> \x01 "x"  ', dusun=" I")
    client = as_user(data["personas"]["admin"])
    response = client.get(f"/api/v1/exports/households.xlsx?unmask=true&no_kk={home.no_kk}")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(body(response)))
    sheet = workbook["rumah_tangga"]
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["alamat"].value == 'Jl. A&B <5> _x0001_ "x"  ' and row["dusun"].value == " I"
    assert row["no_kk"].data_type == "s" and row["no_kk"].value == home.no_kk
    assert row["kode_desa"].value == PENAJAM_KELURAHAN
    assert (
        row["fasilitas_bab"].data_type == "n" and row["fasilitas_bab"].value == home.fasilitas_bab
    )
    assert row["tanggal_survei"].value == home.tanggal_survei.isoformat()
    assert row["bujur"].value == pytest.approx(home.lokasi.x, abs=1e-12)
    assert row["penerima_pkh"].value in (0, 1)
    summary = [[cell.value for cell in line] for line in workbook["ringkasan"].iter_rows()]
    assert summary[0] == ["Desa Presisi", "ekspor rumah tangga"]
    english = client.get(
        f"/api/v1/exports/households.xlsx?no_kk={home.no_kk}", HTTP_ACCEPT_LANGUAGE="en"
    )
    english_book = load_workbook(io.BytesIO(body(english)))
    english_summary = [[c.value for c in line] for line in english_book["ringkasan"].iter_rows()]
    assert english_summary[0] == ["Desa Presisi", "households export"]
    assert ["NIK/KK", "masked"] in english_summary
    codebook = list(workbook["kodebook"].iter_rows(values_only=True))
    assert codebook[0] == ("variabel", "kode", "label_id", "label_en", "sumber")
    assert len(codebook) == 1 + sum(1 for _ in export_rows.codebook_rows())


# --- the village profile PDF (issue 11, small item) ---------------------------------------------


def pdf_strings(content: bytes) -> list[str]:
    """The text strings a PDF draws (`(...) Tj`), from its content streams (reportlab
    writes them ASCII85- and Flate-encoded)."""

    strings = []
    for head, stream in re.findall(rb"(<<[^>]*>>)\s*stream\r?\n(.*?)\s*endstream", content, re.S):
        if b"ASCII85Decode" in head:
            stream = base64.a85decode(stream.strip().removesuffix(b"~>"), ignorechars=b" \t\r\n")
        if b"FlateDecode" in head:
            stream = zlib.decompress(stream)
        for raw in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", stream):
            text = re.sub(rb"\\([()\\])", rb"\1", raw).decode("latin-1")
            strings.append(text)
    return strings


@pytest.mark.parametrize("language", ["id", "en"])
def test_village_profile_names_its_indicators_and_labels_synthetic_data(
    rolled_up, client, language
):

    Household.objects.filter(region_id=PENAJAM_KELURAHAN).update(sumber_data=DataSource.SYNTHETIC)
    label = (
        "Data demo sintetis - bukan data nyata"
        if language == "id"
        else ("Synthetic demo data - not real data")
    )
    url = "/api/v1/exports/village-profile/{}.pdf"
    synthetic = pdf_strings(
        client.get(url.format(PENAJAM_KELURAHAN), HTTP_ACCEPT_LANGUAGE=language).content
    )
    assert label in synthetic  # the banner under the title
    title = "Village profile" if language == "en" else "Profil desa/kelurahan"
    assert any(text.startswith(f"{title}: ") for text in synthetic)
    footer = "aggregates only" if language == "en" else "hanya data agregat"
    assert any(footer in text for text in synthetic)
    assert any(text.endswith(f" - {label}") for text in synthetic)  # and the footer
    real = pdf_strings(client.get(url.format(BABULU_DESA), HTTP_ACCEPT_LANGUAGE=language).content)
    assert not any(label in text for text in real)
    chart = Indicator.objects.filter(code__in=["tanpa_jamban", "babs", "air_minum_layak"])
    for indicator in chart:
        assert indicator.name(language) in synthetic  # in the table
        assert indicator.code not in synthetic  # the chart's labels are names, not codes
        first_words = indicator.name(language).split()[0]
        assert sum(text.startswith(first_words) for text in synthetic) >= 2  # table and chart


@pytest.mark.parametrize(
    "name", ["Tanjung Tengah", "Kabupaten Penajam Paser Utara", "Kelurahan Nipah-Nipah Lama Sekali"]
)
def test_village_profile_column_headers_fit_their_columns(name):
    pdf = canvas.Canvas(io.BytesIO())
    lines = _header_lines(pdf, name, 36 * mm, "Helvetica-Bold", 8)
    assert 1 <= len(lines) <= 2
    assert all(pdf.stringWidth(line, "Helvetica-Bold", 8) <= 36 * mm for line in lines)
    assert " ".join(lines).startswith(name.split()[0])
