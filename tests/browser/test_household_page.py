"""The household page as a village operator opens it on a phone, in headless Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client

from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def edited_household(transactional_db):
    """A household of Tanjung Tengah with three members, edited once by its operator
    (so that the timeline has an update), and that operator."""
    _load_regions()
    operator = make_user("operator-tanjung", role="operator", areas=[PENAJAM_KELURAHAN])
    # One transaction: the database checks the household has its head at commit.
    with transaction.atomic():
        household = HouseholdFactory(
            region_id=PENAJAM_KELURAHAN,
            fasilitas_bab=6,
            jenis_kloset=None,
            pembuangan_tinja=None,
            desil_kesejahteraan=3,
            head__nama="Siti Aminah",
            head__jenis_kelamin=2,
        )
        MemberFactory(household=household, nama="Budi Santoso", hubungan_keluarga=2)
        MemberFactory(
            household=household,
            nama="Rina Putri",
            hubungan_keluarga=4,
            jenis_kelamin=2,
            tanggal_lahir=dt.date(2014, 6, 1),
            partisipasi_sekolah=3,
            jenjang_pendidikan=3,
            ijazah_tertinggi=None,
        )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(operator)
    response = client.patch(
        f"/api/v1/households/{household.pk}/",
        {"sumber_air_minum": 1, "sumber_air_mandi": 3, "versi": 1},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return household, operator


def screenshot(session, name: str) -> None:
    """The whole page (docs/screenshots keeps copies of these)."""
    ARTIFACTS.mkdir(exist_ok=True)
    session.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def point_on_screen(session) -> dict | None:
    """Where the household's marker is drawn, and the boxes of the map and the village
    outline on the screen."""
    return session.page.evaluate(
        """() => {
            const map = document.getElementById('household-map').getBoundingClientRect();
            const point = document.querySelector('#household-map path.hh-point');
            const outline = document.querySelector('#household-map path:not(.hh-point)');
            if (!point || !outline) return null;
            const box = point.getBoundingClientRect();
            const area = outline.getBoundingClientRect();
            return {x: box.left + box.width / 2, y: box.top + box.height / 2, w: box.width,
                    map: [map.left, map.top, map.right, map.bottom],
                    outline: [area.left, area.top, area.right, area.bottom]};
        }"""
    )


def test_operator_opens_the_household_page_on_a_phone_and_sees_its_point(
    edited_household, open_page
):
    household, operator = edited_household
    session = open_page(operator)
    session.page.set_viewport_size(PHONE)
    response = session.goto(f"/rumah-tangga/{household.pk}/")
    assert response.status == 200
    session.page.wait_for_selector("#household-map[data-ready='1']")

    # The point is drawn inside the map, at the household's coordinates, over the outline.
    where = point_on_screen(session)
    assert where, "no household point on the map"
    for left, top, right, bottom in (where["map"], where["outline"]):
        assert left < where["x"] < right and top < where["y"] < bottom, where
    # The outline is fitted to the map: a good part of it, not a speck, not cut off.
    (ml, mt, mr, mb), (ol, ot, or_, ob) = where["map"], where["outline"]
    assert ml <= ol and or_ <= mr and mt <= ot and ob <= mb, where
    assert max((or_ - ol) / (mr - ml), (ob - ot) / (mb - mt)) > 0.5, where
    assert where["w"] > 8
    lat, lon = (
        float(part)
        for part in session.page.get_attribute("#household-map", "data-point").split(",")
    )
    assert (round(lon, 6), round(lat, 6)) == (
        round(household.lokasi.x, 6),
        round(household.lokasi.y, 6),
    )
    assert session.page.locator("#household-map path").count() >= 2  # outline and point

    # Phone first: nothing wider than the screen, members as cards.
    width = session.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    assert session.page.locator("#members tbody tr").count() == 3
    assert "Rina Putri" in session.page.inner_text("#indicators")
    assert session.page.locator("#history li[data-action='update']").count() == 1
    assert session.errors == []
    screenshot(session, "household-page-phone")

    session.page.set_viewport_size(DESKTOP)
    session.page.wait_for_function(
        "() => document.querySelector('#members thead th').getBoundingClientRect().width > 1"
    )
    screenshot(session, "household-page")
    assert session.errors == []
