"""Exports: read back with pandas, openpyxl and GDAL; masking, rights and audit; the round
trip through the importer; indicator tables and the village profile PDF."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from django.contrib.gis.gdal import DataSource
from openpyxl import load_workbook

from desapresisi.masking import mask_number
from desapresisi.models import AuditAction, AuditEntry
from households.imports import census_import, census_read
from households.indicators import indicators_refresh
from households.models import Household
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
    assert frame["no_kk"].str.fullmatch(r"\d{6}\*{6}\d{4}").all()
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
    layer = DataSource(str(path))[0]
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
