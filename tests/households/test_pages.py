import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from households.indicators.rollup import indicators_refresh
from households.models import Household, IndicatorValue
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory
from villages.models import Level, Region

pytestmark = pytest.mark.django_db


def test_home_shows_kecamatan_totals(client):
    HouseholdFactory.create_batch(3)
    response = client.get("/")
    assert response.status_code == 200
    assert "Penajam" in response.text
    assert "Rumah tangga per kecamatan" in response.text


def test_home_totals_are_read_from_the_rollup_not_counted_live(client):
    households = HouseholdFactory.create_batch(3)
    indicators_refresh(full=True)
    kecamatan = households[0].region_id[:8]
    people = sum(Household.objects.get(pk=h.pk).jumlah_anggota for h in households)
    with CaptureQueriesContext(connection) as queries:
        config = page_config(client.get("/"))
    row = next(row for row in config["kecamatan"] if row["code"] == kecamatan)
    assert (row["households"], row["members"]) == (3, people) and people >= 3
    assert config["totals"] == {"households": 3, "members": people}
    counted_live = [
        query["sql"]
        for query in queries.captured_queries
        if "households_household" in query["sql"] and "COUNT(" in query["sql"].upper()
    ]
    assert counted_live == []


def test_home_labels_synthetic_data(client):
    HouseholdFactory(sumber_data="sintetis")
    indicators_refresh()  # the label follows the stored totals, like every figure
    assert "Data demo sintetis" in client.get("/").text


def test_home_speaks_english_when_asked(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.get("/").status_code == 200


@pytest.fixture
def admin_client_local(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "x-test-pass-1")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/villages/region/?level__exact=desa&q=64.09",
        "/admin/villages/region/64.09.01.1001/change/",
        "/admin/households/household/",
        "/admin/households/household/?q=Warga",
        "/admin/households/member/",
    ],
)
def test_admin_pages_render(admin_client_local, url):
    household = HouseholdFactory()
    assert admin_client_local.get(url).status_code == 200
    assert (
        admin_client_local.get(f"/admin/households/household/{household.pk}/change/").status_code
        == 200
    )


def test_admin_lists_54_ppu_villages(admin_client_local):
    response = admin_client_local.get("/admin/villages/region/?level__exact=desa&q=64.09.")
    assert response.context["cl"].result_count == 54


def test_admin_edit_refreshes_the_indicators(
    admin_client_local, django_capture_on_commit_callbacks
):

    household = HouseholdFactory()
    indicators_refresh(full=True)
    url = f"/admin/households/household/{household.pk}/change/"
    form = admin_client_local.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "region": household.region_id,
            "fasilitas_bab": 6,
            "jenis_kloset": "",
            "pembuangan_tinja": "",
            "lokasi": household.lokasi.geojson,
            "tanggal_survei": "2025-10-15",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        }
    )
    data = {key: ("" if value is None else value) for key, value in data.items()}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_local.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    value = IndicatorValue.objects.get(indicator_id="tanpa_jamban", region_id=household.region_id)
    assert value.numerator == 1


# --- Map dashboard and village pages ------------------------------------------------------

VILLAGE = "64.09.01.1001"


def page_config(response) -> dict:
    match = re.search(
        r'<script id="dashboard-config" type="application/json">(.*?)</script>',
        response.text,
        re.S,
    )
    assert match, "the page carries its configuration as json_script"
    return json.loads(match.group(1))


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("kabid", "kabid@example.org", "x-test-pass-1")


def test_home_is_the_map_dashboard(client):
    HouseholdFactory()
    response = client.get("/")
    assert response.status_code == 200
    assert 'id="map"' in response.text
    assert "vendor/chartjs-4.6.1/chart.umd.min.js" in response.text
    config = page_config(response)
    assert config["kabupaten"]["code"] == "64.09"
    assert [row["code"] for row in config["kecamatan"]] == [
        "64.09.01", "64.09.02", "64.09.03", "64.09.04",
    ]  # fmt: skip
    assert {"tanpa_jamban", "air_minum_layak"} <= {row["code"] for row in config["indicators"]}
    assert config["ladder"][0] == "babs" and config["outOfSchool"] == [
        "ats_7_12", "ats_13_15", "ats_16_18",
    ]  # fmt: skip


def test_anonymous_home_has_no_household_layer(client):
    response = client.get("/")
    config = page_config(response)
    assert config["households"] == {
        "allowed": False, "tiles": "", "list": "", "detail": "", "admin": "", "page": "",
    }  # fmt: skip
    assert 'id="household-toggle"' not in response.text
    assert "Leaflet.VectorGrid" not in response.text
    assert config["criteria"] == []


def test_staff_home_offers_the_household_layer(client, superuser):
    client.force_login(superuser)
    response = client.get("/")
    households = page_config(response)["households"]
    assert households["allowed"] is True
    assert households["tiles"] == "/api/v1/tiles/households/{z}/{x}/{y}.pbf"
    assert households["detail"] == "/api/v1/households/{id}/"
    assert households["admin"] == "/admin/households/household/{id}/change/"
    assert 'id="household-toggle"' in response.text
    assert "vendor/leaflet.vectorgrid-1.3.0/Leaflet.VectorGrid.bundled.min.js" in response.text
    # The criteria the points are coloured by: the indicators flagged map_criterion.
    criteria = page_config(response)["criteria"]
    assert criteria == [
        {"code": "tanpa_jamban", "name": "Rumah tangga tanpa jamban"},
        {"code": "ats_7_18", "name": "Anak tidak sekolah usia 7-18 tahun"},
        {"code": "desil_1_4", "name": "Rumah tangga desil 1-4"},
    ]
    for criterion in criteria:
        assert f'<option value="{criterion["code"]}">{criterion["name"]}</option>' in response.text


def test_pages_carry_no_inline_handlers_styles_or_unsigned_scripts(client, superuser):
    client.force_login(superuser)
    for url in ("/", f"/desa/{VILLAGE}/"):
        response = client.get(url)
        html = response.text
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), url
        assert not re.search(r"<[^>]+\sstyle\s*=", html), url
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        for attributes in re.findall(r"<script([^>]*)>", html):
            if "src=" in attributes or 'type="application/json"' in attributes:
                continue
            assert f'nonce="{nonce}"' in attributes, (url, attributes)
        # The page's own scripts are ES modules from the portal, which the policy allows.
        assert "'self'" in re.search(r"script-src([^;]*)", response["Content-Security-Policy"])[1]
        page_module = "home.js" if url == "/" else "village.js"
        assert re.search(rf'<script type="module" src="[^"]*/js/{page_module}">', html), url


def test_village_page_shows_the_village(client):
    HouseholdFactory(region_id=VILLAGE, sumber_data="sintetis")
    indicators_refresh()
    response = client.get(f"/desa/{VILLAGE}/")
    assert response.status_code == 200
    assert "Tanjung Tengah" in response.text
    assert "Data demo sintetis" in response.text
    config = page_config(response)
    assert config["village"]["code"] == VILLAGE
    assert config["village"]["kecamatan"] == {"code": "64.09.01", "name": "Penajam"}
    assert config["village"]["kabupaten"]["code"] == "64.09"


@pytest.mark.parametrize("code", ["64.09.01", "64.09", "99.99.99.9999", "not-a-code"])
def test_village_page_is_404_for_unknown_or_non_village_codes(client, code):
    assert client.get(f"/desa/{code}/").status_code == 404


def test_village_target_households_only_for_those_allowed(client, superuser):
    assert 'id="households-table"' not in client.get(f"/desa/{VILLAGE}/").text
    client.force_login(superuser)
    assert 'id="households-table"' in client.get(f"/desa/{VILLAGE}/").text


def test_village_export_buttons_follow_the_export_routes(client, superuser):
    """A button per export route that exists (they arrive separately), none otherwise."""

    def resolves(name, **kwargs):
        try:
            return reverse(name, kwargs={"version": "v1", **kwargs})
        except NoReverseMatch:
            return None

    client.force_login(superuser)
    html = client.get(f"/desa/{VILLAGE}/").text
    for fmt in ("csv", "xlsx", "geojson"):
        url = resolves("api:export-households", fmt=fmt)
        if url:
            assert f'href="{url}?region={VILLAGE}"' in html, fmt
        else:
            assert f">{fmt.upper() if fmt != 'geojson' else 'GeoJSON'}</a>" not in html, fmt
    profile = resolves("api:export-village-profile", code=VILLAGE)
    if profile:
        assert f'href="{profile}"' in html
    else:
        assert "(PDF)" not in html


def test_dashboard_names_follow_the_language(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    config = page_config(client.get("/"))
    names = {row["code"]: row["name"] for row in config["indicators"]}
    assert names["tanpa_jamban"] == "Households without a latrine"
    assert config["language"] == "en"


def test_household_export_buttons_only_for_those_who_may_export(client):
    csv_url = reverse("api:export-households", kwargs={"version": "v1", "fmt": "csv"})
    assert f"{csv_url}?region=" not in client.get(f"/desa/{VILLAGE}/").text


HOUSEHOLD_TABLES = ("households_household", "households_member")


@pytest.mark.parametrize("who", [None, "analyst", "official", "admin"])
def test_home_page_reads_no_household_table(client, personas, as_user, who):
    HouseholdFactory.create_batch(2, sumber_data="sintetis")
    indicators_refresh()
    as_user(personas[who] if who else None)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200 and "Data demo sintetis" in response.text
    assert page_config(response)["totals"]["households"] == 2
    read = [
        q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in HOUSEHOLD_TABLES)
    ]
    assert read == []


def test_village_page_reads_no_household_table(client):
    HouseholdFactory(region_id=VILLAGE, sumber_data="sintetis")
    indicators_refresh()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/desa/{VILLAGE}/")
    assert "Data demo sintetis" in response.text
    read = [
        q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in HOUSEHOLD_TABLES)
    ]
    assert read == []


def test_home_of_a_village_operator_is_their_village(client, personas, as_user):
    response = as_user(personas["operator_a"]).get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("village", kwargs={"code": PENAJAM_KELURAHAN})


def test_home_of_an_analyst_is_the_kabupaten_of_their_area(client, personas, as_user):
    config = page_config(as_user(personas["analyst_waru"]).get("/"))  # a kecamatan of PPU
    assert config["kabupaten"]["code"] == "64.09"


def test_home_of_the_public_is_the_configured_kabupaten(client, personas, as_user, settings):
    Region.objects.create(
        code="64.01", name="Paser", level=Level.KABUPATEN, kind="kabupaten", parent_id="64",
        code_version="test",
    )  # fmt: skip
    settings.HOME_KABUPATEN = "64.01"
    assert page_config(as_user(None).get("/"))["kabupaten"] == {"code": "64.01", "name": "Paser"}
    # An analyst of PPU still sees PPU, an administrator the configured one.
    assert page_config(as_user(personas["analyst"]).get("/"))["kabupaten"]["code"] == "64.09"
    assert page_config(as_user(personas["admin"]).get("/"))["kabupaten"]["code"] == "64.01"
