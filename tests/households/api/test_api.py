"""The households, members, indicators and codebook endpoints of /api/v1/."""

import datetime as dt
import inspect
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.gdal import DataSource
from django.core.management import call_command

from demo.generator import households_generate
from households.api import households as api
from households.indicators.rollup import indicators_refresh
from households.models import Household, Indicator, IndicatorValue
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def staff(personas, as_user):
    """An SKPD analyst of all of PPU."""
    return as_user(personas["analyst"])


def all_pages(client, url):
    """Follow the cursor through every page; return every row."""
    rows = []
    while url:
        body = client.get(url).json()
        rows += body["results"]
        url = body["next"]
    return rows


def ids(client, query):
    return {row["id"] for row in all_pages(client, f"{API}/households/?{query}&page_size=1000")}


# --- authentication and errors ----------------------------------------------------------


def test_token_is_issued_for_valid_credentials_and_acts_with_the_users_role(client, personas):
    response = client.post(
        f"{API}/auth/token/", {"username": "analis-waru", "password": "x-test-pass-1"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get(f"{API}/households/").status_code in (401, 403)
    authorised = client.get(f"{API}/households/", HTTP_AUTHORIZATION=f"Token {token}")
    assert authorised.status_code == 200
    # The token carries the user's area: an analyst of Waru sees no household of Penajam.
    HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    rows = client.get(f"{API}/households/", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert rows["results"] == []


def test_wrong_password_gets_no_token_and_the_error_format(client):
    get_user_model().objects.create_user("integrasi", password="x-test-pass-1")
    response = client.post(f"{API}/auth/token/", {"username": "integrasi", "password": "salah"})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400
    assert "fields" in response.json()["error"]


def test_anonymous_request_for_households_is_refused_in_the_error_format(client):
    response = client.get(f"{API}/households/")
    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) >= {"status", "code", "message"}


def test_unknown_api_path_answers_json_404(client):
    response = client.get(f"{API}/tidak-ada/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_unknown_household_is_404_in_the_error_format(staff):
    response = staff.get(f"{API}/households/999999999/")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == 404


def test_account_without_a_role_is_told_it_has_none(client, personas):
    HouseholdFactory()
    client.force_login(personas["norole"])
    for path in ("households/", "members/"):
        response = client.get(f"{API}/{path}")
        assert response.status_code == 403
        assert "peran" in response.json()["error"]["message"]


def test_root_lists_the_collections(client):
    body = client.get(f"{API}/").json()
    assert {"regions", "households", "members", "indicators", "indicator_values"} <= set(body)


# --- household list ---------------------------------------------------------------------


@pytest.fixture
def households():
    rows = {
        "kel_ok": HouseholdFactory(region_id=PENAJAM_KELURAHAN),
        "kel_no_latrine": HouseholdFactory(
            region_id=PENAJAM_KELURAHAN, fasilitas_bab=6, jenis_kloset=None, pembuangan_tinja=None,
            desil_kesejahteraan=2, penerima_pkh=True,
        ),
        "desa_poor": HouseholdFactory(
            region_id=BABULU_DESA, desil_kesejahteraan=1, lantai=8, sumber_air_minum=9,
        ),
        "desa_ok": HouseholdFactory(
            region_id=BABULU_DESA, desil_kesejahteraan=None, desil_sumber=""
        ),
    }  # fmt: skip
    MemberFactory(
        household=rows["desa_poor"], tanggal_lahir=dt.date(2012, 1, 1), partisipasi_sekolah=3,
        jenjang_pendidikan=3, ijazah_tertinggi=3,
    )  # fmt: skip
    return {name: household.pk for name, household in rows.items()}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("region=64.09", {"kel_ok", "kel_no_latrine", "desa_poor", "desa_ok"}),
        ("region=64.09.01", {"kel_ok", "kel_no_latrine"}),
        (f"region={BABULU_DESA}", {"desa_poor", "desa_ok"}),
        ("fasilitas_bab=6", {"kel_no_latrine"}),
        ("fasilitas_bab__in=1,6", {"kel_ok", "kel_no_latrine", "desa_poor", "desa_ok"}),
        ("sumber_air_minum=9", {"desa_poor"}),
        ("lantai=8", {"desa_poor"}),
        ("tangga_sanitasi=0", {"kel_no_latrine"}),
        ("tangga_sanitasi__gte=3", {"kel_ok", "desa_poor", "desa_ok"}),
        ("tangga_sanitasi__in=0,1", {"kel_no_latrine"}),
        ("air_minum_layak=false", {"desa_poor"}),
        ("rumah_tidak_layak_huni=true", {"desa_poor"}),
        ("desil_kesejahteraan=1", {"desa_poor"}),
        ("desil_kesejahteraan__lte=4", {"desa_poor", "kel_no_latrine"}),
        ("desil_kesejahteraan__isnull=true", {"desa_ok"}),
        ("has_ats=true", {"desa_poor"}),
        ("jumlah_ats__gte=1", {"desa_poor"}),
        ("jumlah_anggota__gte=2", {"desa_poor"}),
        ("penerima_pkh=true", {"kel_no_latrine"}),
        ("indicator=tanpa_jamban", {"kel_no_latrine"}),
        ("indicator=rtlh&region=64.09.03", {"desa_poor"}),
    ],
)
def test_household_filters(staff, households, query, expected):
    assert ids(staff, query) == {households[name] for name in expected}


def test_bbox_filter_keeps_points_inside_the_box(staff, households):
    point = Household.objects.get(pk=households["desa_poor"]).lokasi
    box = f"{point.x - 0.0001},{point.y - 0.0001},{point.x + 0.0001},{point.y + 0.0001}"
    assert households["desa_poor"] in ids(staff, f"bbox={box}")
    assert ids(staff, "bbox=100,-5,101,-4") == set()


@pytest.mark.parametrize(
    "query, field",
    [
        ("fasilitas_bab=9", "fasilitas_bab"),
        ("region=64.9", "region"),
        ("bbox=1,2,3", "bbox"),
        ("indicator=tidak_ada", "indicator"),
        ("indicator=ats_7_18", "indicator"),  # counts members, not households
        # A yes/no filter with another value was dropped silently: every household came back.
        ("penerima_pkh=mungkin", "penerima_pkh"),
        ("air_minum_layak=ya", "air_minum_layak"),
        ("has_location=2x", "has_location"),
    ],
)
def test_bad_filter_values_name_the_field(staff, query, field):
    response = staff.get(f"{API}/households/?{query}")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False), ("True", True)])
def test_yes_no_filters_read_true_and_false(staff, households, value, expected):
    rows = all_pages(staff, f"{API}/households/?penerima_pkh={value}")
    assert rows and {row["penerima_pkh"] for row in rows} == {expected}


def test_cursor_pagination_walks_every_row_once(staff, households):
    first = staff.get(f"{API}/households/?page_size=3").json()
    assert len(first["results"]) == 3
    assert first["next"]
    rows = all_pages(staff, f"{API}/households/?page_size=3")
    assert sorted(row["id"] for row in rows) == sorted(households.values())


def test_ordering_by_household_size(staff, households):
    rows = staff.get(f"{API}/households/?ordering=-jumlah_anggota").json()["results"]
    assert rows[0]["id"] == households["desa_poor"]


def test_household_row_carries_answers_derived_fields_and_location(staff, households):
    row = staff.get(f"{API}/households/?region={BABULU_DESA}&desil_kesejahteraan=1").json()
    row = row["results"][0]
    assert row["region"] == BABULU_DESA
    assert row["rumah_tidak_layak_huni"] is True
    assert row["jumlah_anggota"] == 2 and row["jumlah_ats"] == 1
    assert len(row["lokasi"]) == 2


def test_household_detail_includes_its_members(staff, households):
    body = staff.get(f"{API}/households/{households['desa_poor']}/").json()
    assert len(body["members"]) == 2
    assert body["members"][0]["hubungan_keluarga"] == 1
    assert body["members"][1]["umur"] == 13  # at the survey date, 2025-10-15


def test_household_geojson_is_a_feature_collection_gdal_reads(staff, households, tmp_path):
    response = staff.get(f"{API}/households/?format=geojson&region=64.09")
    assert response["Content-Type"].startswith("application/geo+json")
    path = Path(tmp_path) / "households.geojson"
    path.write_bytes(response.content)
    layer = DataSource(str(path))[0]
    assert len(layer) == 4
    assert layer.geom_type.name == "Point"
    assert "jumlah_anggota" in layer.fields


# --- members ----------------------------------------------------------------------------


@pytest.fixture
def family():
    household = HouseholdFactory(region_id=BABULU_DESA, tanggal_survei=dt.date(2025, 10, 15))
    children = {
        "nine_never": MemberFactory(household=household, tanggal_lahir=dt.date(2016, 5, 1),
                                    partisipasi_sekolah=1, jenjang_pendidikan=None,
                                    ijazah_tertinggi=None, jenis_kelamin=2),
        "fourteen_in": MemberFactory(household=household, tanggal_lahir=dt.date(2011, 5, 1),
                                     partisipasi_sekolah=2, jenjang_pendidikan=8,
                                     ijazah_tertinggi=3),
        "eighteen_out": MemberFactory(household=household, tanggal_lahir=dt.date(2007, 9, 1),
                                      partisipasi_sekolah=3, jenjang_pendidikan=13,
                                      ijazah_tertinggi=8),
    }  # fmt: skip
    return {name: member.pk for name, member in children.items()}


def member_ids(client, query):
    return {row["id"] for row in all_pages(client, f"{API}/members/?{query}&page_size=1000")}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("age_min=7&age_max=12", {"nine_never"}),
        ("age_min=13&age_max=18", {"fourteen_in", "eighteen_out"}),
        # a year later the 18-year-old has left the band and the nine-year-old is ten
        ("age_min=7&age_max=18&age_at=2026-10-15", {"nine_never", "fourteen_in"}),
        ("partisipasi_sekolah__in=1,3&age_max=18", {"nine_never", "eighteen_out"}),
        ("jenis_kelamin=2&age_max=18", {"nine_never"}),
        ("indicator=ats_7_18", {"nine_never", "eighteen_out"}),
        ("indicator=putus_sekolah_7_18", {"eighteen_out"}),
        ("region=64.09.01&age_max=18", set()),
    ],
)
def test_member_filters(staff, family, query, expected):
    assert member_ids(staff, query) == {family[name] for name in expected}


def test_member_detail_reports_age_at_a_reference_date(staff, family):
    url = f"{API}/members/{family['eighteen_out']}/"
    assert staff.get(url).json()["umur"] == 18
    assert staff.get(f"{url}?age_at=2030-01-01").json()["umur"] == 22


# --- indicators -------------------------------------------------------------------------


def test_indicator_definitions_are_public_and_bilingual(client):
    rows = client.get(f"{API}/indicators/").json()
    codes = {row["code"] for row in rows}
    assert {"tanpa_jamban", "babs", "ats_7_18", "desil_1_4", "rtlh"} <= codes
    detail = client.get(f"{API}/indicators/tanpa_jamban/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert detail["name_en"] == "Households without a latrine"
    assert detail["numerator"]["unit"] == "household"


def test_indicator_values_rows_have_the_documented_columns(staff, households):
    indicators_refresh(full=True)
    rows = staff.get(f"{API}/indicators/values/?indicator=tanpa_jamban,babs&area=64.09").json()
    assert {row["indicator"] for row in rows} == {"tanpa_jamban", "babs"}
    assert set(rows[0]) == {
        "indicator", "area_code", "area_name", "level", "period", "numerator", "denominator",
        "value", "suppressed", "suppression_reason", "suppression_threshold",
    }  # fmt: skip


def test_indicator_values_parent_without_level_gives_the_next_level(staff, households):
    indicators_refresh(full=True)
    rows = staff.get(f"{API}/indicators/values/?indicator=babs&parent=64.09").json()
    assert {row["level"] for row in rows} == {"kecamatan"}


@pytest.mark.parametrize(
    "query", ["indicator=tidak_ada", "indicator=babs&level=dusun", "indicator=babs&parent=64x"]
)
def test_bad_indicator_value_queries_are_400(staff, query):
    assert staff.get(f"{API}/indicators/values/?{query}").status_code == 400


@pytest.fixture
def demo_census():
    households_generate(region_code="64.09", households=700, seed=5)


def test_acceptance_desa_rows_add_up_to_the_kabupaten_for_every_indicator(staff, demo_census):
    for code in Indicator.objects.values_list("code", flat=True):
        rows = staff.get(
            f"{API}/indicators/values/?indicator={code}&level=desa&parent=64.09"
        ).json()
        assert len(rows) == 54, code
        kabupaten = staff.get(f"{API}/indicators/values/?indicator={code}&area=64.09").json()
        assert len(kabupaten) == 1
        assert sum(row["numerator"] for row in rows) == kabupaten[0]["numerator"], code
        if kabupaten[0]["denominator"] is not None:
            assert sum(row["denominator"] for row in rows) == kabupaten[0]["denominator"], code


def test_acceptance_list_returns_exactly_the_indicator_numerator(staff, demo_census):
    for indicator in Indicator.objects.all():
        if indicator.numerator.get("aggregate", "count") != "count":
            continue
        for area in ("64.09", "64.09.03"):
            value = IndicatorValue.objects.get(indicator=indicator, region_id=area, period="2025")
            collection = "households" if indicator.numerator["unit"] == "household" else "members"
            url = f"{API}/{collection}/?indicator={indicator.code}&region={area}&page_size=1000"
            assert len(all_pages(staff, url)) == value.numerator, (indicator.code, area)


def test_generation_refreshes_the_rollup(demo_census):
    row = IndicatorValue.objects.get(indicator_id="jumlah_rumah_tangga", region_id="64.09")
    assert row.numerator == 700


def test_codebook_lists_every_variable_with_both_languages(client):
    body = client.get(f"{API}/codebook/").json()
    assert body["fasilitas_bab"][5] == {
        "code": 6, "label_id": "Tidak ada fasilitas", "label_en": "No facility",
        "source": "Regsosek 2022 item 309a",
    }  # fmt: skip


# --- documentation ----------------------------------------------------------------------


def test_openapi_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in ("/api/v1/households/", "/api/v1/indicators/values/", "/api/v1/regions/"):
        assert path in text


def test_docs_page_loads_no_external_script(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    for line in response.text.splitlines():
        if "src=" in line or "href=" in line:
            assert "//cdn" not in line and "unpkg" not in line and "jsdelivr" not in line


def test_schema_endpoint_serves_json(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert json.loads(response.content)["info"]["title"] == "Desa Presisi API"


def test_no_list_endpoint_serialises_rows_through_a_model_serializer():
    # A guard on the rule of the design: list paths build rows with .values().

    source = inspect.getsource(api)
    assert "serializer_class" not in source
    assert ".values(" in inspect.getsource(api.HouseholdList.get)
