"""The map dashboard as officials and SKPD staff use it, in headless Chromium."""

from __future__ import annotations

import re

import pytest
from django.contrib.gis.db.models.functions import PointOnSurface

from households.models import Household
from villages.models import Region

pytestmark = pytest.mark.browser

FIRST_VIEW_MAX_BYTES = 500_000
FIRST_VIEW_MAX_API_CALLS = 6
PENAJAM = "64.09.01"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 800}


def inner_point(code: str) -> tuple[float, float]:
    """(lat, lon) of a point inside the area, from PostGIS."""

    point = Region.objects.annotate(inside=PointOnSurface("boundary")).get(code=code).inside
    return point.y, point.x


def area_on_screen(session, code: str) -> tuple[float, float] | None:
    """Page coordinates of a point inside the area where a click reaches its polygon
    (not a legend or another control), or None."""
    lat, lon = inner_point(code)
    return session.page.evaluate(
        """([lat, lon]) => {
            const p = DP.map.latLngToContainerPoint([lat, lon]);
            const box = DP.map.getContainer().getBoundingClientRect();
            const x = box.left + p.x, y = box.top + p.y;
            const hit = document.elementFromPoint(x, y);
            return hit && hit.matches('#map path.leaflet-interactive') ? [x, y] : null;
        }""",
        [lat, lon],
    )


def click_area(session, code: str) -> None:
    """Click the map where the area is, as a person would."""
    point = area_on_screen(session, code)
    assert point, f"{code} is not clickable on the map"
    session.page.mouse.click(*point)


def fills(session) -> dict[str, str]:
    return session.page.evaluate(
        """() => Object.fromEntries(Array.from(document.querySelectorAll(
            '#map path.leaflet-interactive')).map((p, i) => [i, p.getAttribute('fill')]))"""
    )


def legend_text(session) -> str:
    return session.page.inner_text("#map-legend")


def test_home_map_colours_54_villages_and_switches_indicator(census, staff_user, open_page):
    session = open_page(staff_user)
    session.goto("/")
    session.wait_ready()
    session.page.wait_for_selector(".charts[data-ready='1']")

    polygons = session.page.locator("#map path.leaflet-interactive")
    assert polygons.count() == 54
    assert session.page.get_attribute("#map", "data-feature-count") == "54"
    first_fills = fills(session)
    assert len(set(first_fills.values())) > 1
    first_legend = legend_text(session)
    assert int(session.page.get_attribute("#map-legend", "data-classes")) > 1
    assert session.page.locator("#ranked-table tbody tr").count() == 54
    session.screenshot("home-kabupaten")
    session.page.set_viewport_size(PHONE)
    session.page.wait_for_selector(".charts[data-ready='1']")
    session.screenshot("home-kabupaten-phone")
    session.page.set_viewport_size(DESKTOP)

    # A village's tooltip is wide enough to read its name and indicator on a few lines
    # (Leaflet's default made it one word a line).
    polygons.nth(0).hover()
    tip = session.page.wait_for_selector(".leaflet-tooltip.area-tooltip")
    box = tip.bounding_box()
    assert box["width"] >= 150 and box["height"] < 160, box
    session.screenshot("home-tooltip")
    session.page.mouse.move(0, 0)

    # The first view stays light: a handful of API calls, no large response.
    api_calls = session.api_responses()
    assert 1 <= len(api_calls) <= FIRST_VIEW_MAX_API_CALLS, [r.url for r in api_calls]
    assert all(response.status == 200 for response in api_calls)
    sizes = {r.url: r.request.sizes()["responseBodySize"] for r in session.responses}
    assert max(sizes.values()) < FIRST_VIEW_MAX_BYTES, sizes

    session.page.select_option("#indicator-select", "air_minum_layak")
    session.page.wait_for_selector("#map[data-indicator='air_minum_layak'][data-ready='1']")
    assert "indicator=air_minum_layak" in session.page.url
    assert fills(session) != first_fills
    assert legend_text(session) != first_legend

    # The back button returns to the first indicator.
    session.page.go_back()
    session.page.wait_for_selector("#map[data-indicator='tanpa_jamban'][data-ready='1']")
    assert session.page.input_value("#indicator-select") == "tanpa_jamban"
    assert fills(session) == first_fills
    assert session.errors == []


def test_drill_down_from_kecamatan_to_village_page(census, staff_user, open_page):
    session = open_page(staff_user)
    session.goto("/")
    session.wait_ready()

    session.page.click("button[data-level='kecamatan']")
    session.page.wait_for_selector("#map[data-level='kecamatan'][data-ready='1']")
    assert session.page.locator("#map path.leaflet-interactive").count() == 4
    assert "level=kecamatan" in session.page.url
    session.screenshot("home-kecamatan")

    click_area(session, PENAJAM)
    session.page.wait_for_selector(f"#map[data-area='{PENAJAM}'][data-ready='1']")

    villages = Region.objects.filter(parent_id=PENAJAM).count()
    assert session.page.get_attribute("#map", "data-feature-count") == str(villages)
    assert session.page.locator("#ranked-table tbody tr").count() == villages
    assert f"area={PENAJAM}" in session.page.url
    assert "Penajam" in session.page.inner_text("#breadcrumb")

    village = next(
        code
        for code in Region.objects.filter(parent_id=PENAJAM)
        .order_by("code")
        .values_list("code", flat=True)
        if area_on_screen(session, code)
    )
    click_area(session, village)
    session.page.wait_for_url(re.compile(rf"/desa/{re.escape(village)}/"))
    session.wait_ready()
    session.page.wait_for_selector("#indicator-table[data-rows]")
    rows = session.page.locator("#indicator-table tbody tr[data-indicator]")
    assert rows.count() >= 10
    # The households an SKPD would target, one tab per criterion, a page at a time.
    session.page.wait_for_selector("#households-table[data-rows]")
    assert any(
        "indicator=tanpa_jamban" in r.url for r in session.api_responses("/api/v1/households/")
    )
    session.page.click("#tab-desil")
    assert session.page.get_attribute("#tab-desil", "aria-selected") == "true"
    assert "tab=desil" in session.page.url
    session.page.wait_for_selector("#households-table[data-rows]")
    assert int(session.page.get_attribute("#households-table", "data-rows")) > 0
    # Each target row opens its household's page.
    first = session.page.locator("#households-table tbody tr[data-id]").first
    household_id = first.get_attribute("data-id")
    assert first.locator(f"a[href='/rumah-tangga/{household_id}/']").count() == 1
    assert any(
        "desil_kesejahteraan__lte=4" in r.url for r in session.api_responses("/api/v1/households/")
    )
    session.screenshot("village-page")
    session.page.set_viewport_size(PHONE)
    session.screenshot("village-page-phone")
    assert session.errors == []


def test_staff_sees_household_points_and_opens_one(census, staff_user, open_page):
    session = open_page(staff_user)
    session.goto("/?indicator=tanpa_jamban&level=desa&layer=households&criterion=tanpa_jamban")
    session.wait_ready()
    session.page.wait_for_selector(".households-pane svg path")
    tiles = session.api_responses("/api/v1/tiles/households/")
    assert tiles and all(response.status == 200 for response in tiles)
    assert session.page.is_visible("#household-legend")
    session.screenshot("household-layer-clusters")

    # From zoom 14, one point per household; a click shows the household.

    home = Household.objects.filter(region_id="64.09.01.1001").order_by("id").first()
    session.page.evaluate(
        "([lat, lon]) => DP.map.setView([lat, lon], 16, {animate: false})",
        [home.lokasi.y, home.lokasi.x],
    )
    session.page.wait_for_function(
        "() => document.querySelector('#household-legend').innerText.indexOf('%') < 0"
    )
    # Wait until the household's own point is drawn where it lives: the tiles of the
    # earlier zoom (clusters, scaled up) stay on screen a moment after the new ones load.
    point = session.page.wait_for_function(
        """([lat, lon]) => {
            const p = DP.map.latLngToContainerPoint([lat, lon]);
            const box = DP.map.getContainer().getBoundingClientRect();
            const x = box.left + p.x, y = box.top + p.y;
            const hit = document.elementFromPoint(x, y);
            if (!hit || !hit.matches('.households-pane svg path')) return null;
            const size = hit.getBoundingClientRect();
            return size.width <= 12 && size.height <= 12 ? [x, y] : null;
        }""",
        arg=[home.lokasi.y, home.lokasi.x],
    ).json_value()
    session.page.mouse.click(*point)
    session.page.wait_for_selector(".hh-popup dl")
    popup = session.page.inner_text(".hh-popup")
    assert "Kepala rumah tangga" in popup
    assert "Anggota" in popup
    # The household clicked is the one shown (coordinates as Indonesian writes them).
    assert f"{home.lokasi.y:.5f}, {home.lokasi.x:.5f}".replace(".", ",") in popup.replace(
        "\u2212", "-"
    )
    assert session.page.locator(".hh-popup a[href*='/admin/households/household/']").count() == 1
    # The popup opens the household's own page.
    assert session.page.locator(f".hh-popup a[href='/rumah-tangga/{home.pk}/']").count() == 1
    session.screenshot("household-layer-points")
    assert session.errors == []


def test_anonymous_visitor_gets_no_household_layer(census, open_page):
    session = open_page()
    session.goto("/")
    session.wait_ready()
    assert session.page.locator("#household-toggle").count() == 0
    assert session.page.locator(".households-pane").count() == 0
    assert session.page.locator("#map path.leaflet-interactive").count() == 54

    # The household layer cannot be asked for through the URL either.
    session.goto("/?layer=households&level=kecamatan")
    session.wait_ready()
    assert session.page.locator("#map path.leaflet-interactive").count() == 4
    click_area(session, PENAJAM)
    session.page.wait_for_selector(f"#map[data-area='{PENAJAM}'][data-ready='1']")

    session.goto("/desa/64.09.01.1001/")
    session.wait_ready()
    assert session.page.locator("#households-table").count() == 0
    assert session.page.locator(".households-pane").count() == 0
    assert session.api_responses("/api/v1/tiles/") == []
    assert session.api_responses("/api/v1/households/") == []
    assert session.errors == []


def test_suppressed_cells_are_grey_and_labelled(census, staff_user, open_page):
    """Public values will come with small cells suppressed: the map, legend and table say
    so instead of showing a number (the rows are rewritten here as the API will send them)."""

    hidden = set(
        Region.objects.filter(parent_id=PENAJAM).order_by("code").values_list("code", flat=True)[:3]
    )

    def suppress(route):
        response = route.fetch()
        rows = response.json()
        for row in rows:
            row["suppressed"] = row["area_code"] in hidden
            if row["suppressed"]:
                row.update(numerator=None, denominator=None, value=None)
        route.fulfill(response=response, json=rows)

    session = open_page(staff_user)
    session.page.route("**/api/v1/indicators/values/**", suppress)
    session.goto("/")
    session.wait_ready()
    assert list(fills(session).values()).count("#9aa1ab") == len(hidden)
    assert session.page.locator("#map-legend .legend-suppressed").count() == 1
    assert "Data disembunyikan (3)" in legend_text(session).replace("\n", " ")
    cells = session.page.locator("#ranked-table tbody td", has_text="Data disembunyikan")
    assert cells.count() == len(hidden)
    assert session.errors == []
