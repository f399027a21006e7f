"""The quality pages in a browser: the officials' choropleth draws every village of the
kabupaten, and an operator works through the village's flags on a phone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction

from households.indicators.rollup import indicators_refresh
from households.models import Household, RoundSource, SurveyRound
from quality.models import Flag
from quality.services import flags_refresh, signoff_step
from tests.browser.conftest import _load_regions
from tests.conftest import make_user
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    point_in_village,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def flagged_village(transactional_db):
    _load_regions()
    SurveyRound.objects.create(
        code="2025-pendataan",
        name="Pendataan 2025",
        source=RoundSource.CENSUS,
        reference_date=dt.date(2025, 10, 1),
    )
    # Each household with its head in one transaction (the head rule is checked at commit).
    with transaction.atomic():
        shared = point_in_village(PENAJAM_KELURAHAN, 3)
        for n in range(6):
            household = HouseholdFactory(desil_kesejahteraan=1 if n % 2 else 6)
            if n < 5:
                Household.objects.filter(pk=household.pk).update(lokasi=shared)
        young = HouseholdFactory(head__tanggal_lahir=dt.date(2012, 2, 2), head__nama="Kepala Muda")
        MemberFactory(household=young, tanggal_lahir=dt.date(2020, 3, 3), nama="Anak Kecil")
        here = point_in_village(PENAJAM_KELURAHAN, 40)
        HouseholdFactory(lokasi=here, head__nama="Ahmad Yani")
        HouseholdFactory(lokasi=Point(here.x + 0.0001, here.y, srid=4326), head__nama="Achmad Yani")
    indicators_refresh(full=True)
    flags_refresh()
    return {
        "operator": make_user("operator-kualitas", role="operator", areas=[PENAJAM_KELURAHAN]),
        "official": make_user("pejabat-kualitas", role="pejabat", areas=["64.09"]),
    }


def test_official_sees_the_choropleth_of_every_village(flagged_village, open_page):
    session = open_page(flagged_village["official"])
    assert session.goto("/kualitas/").status == 200
    session.page.wait_for_selector("#quality-map path.leaflet-interactive")
    shapes = session.page.locator("#quality-map path.leaflet-interactive").count()
    assert shapes == 54  # every desa and kelurahan of PPU
    assert session.page.locator("#quality-table tbody tr").count() == 54
    SCREENSHOTS.mkdir(exist_ok=True)
    session.page.screenshot(path=str(SCREENSHOTS / "quality-overview.png"), full_page=True)
    session.page.set_viewport_size(PHONE)
    session.page.screenshot(path=str(SCREENSHOTS / "quality-overview-phone.png"), full_page=True)
    assert session.errors == []


def test_operator_accepts_a_flag_and_submits_the_village_on_a_phone(flagged_village, open_page):
    session = open_page(flagged_village["operator"])
    session.page.set_viewport_size(PHONE)
    assert session.goto(f"/kualitas/desa/{PENAJAM_KELURAHAN}/").status == 200
    section = session.page.locator("#rule-desil_bawah_tanpa_bansos")
    assert section.get_attribute("data-count") == "3"
    width = session.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    session.page.screenshot(path=str(SCREENSHOTS / "quality-village-phone.png"), full_page=True)
    first = section.locator(".quality-flags li").first
    first.locator("input[name=note]").fill("Menerima bantuan daerah")
    first.locator("button").click()
    session.page.wait_for_selector("#messages")
    assert section.get_attribute("data-count") == "2"
    session.page.locator("button[data-action=ajukan]").click()
    session.page.wait_for_selector("#signoff-status .q-badge")
    assert "Siap diverifikasi" in session.page.inner_text("#signoff-status")
    session.page.set_viewport_size(DESKTOP)
    session.page.screenshot(path=str(SCREENSHOTS / "quality-village.png"), full_page=True)
    assert session.errors == []


def test_dashboard_shows_quality_badges_and_keeps_approved_villages_only(
    flagged_village, open_page
):
    official = flagged_village["official"]
    with transaction.atomic():  # not approved; no latrine
        HouseholdFactory.create_batch(
            2, region_id=BABULU_DESA, fasilitas_bab=6, jenis_kloset=None, pembuangan_tinja=None
        )
    indicators_refresh()
    operator = make_user("admin-kualitas", is_staff=True, is_superuser=True)
    signoff_step(user=operator, region_code=PENAJAM_KELURAHAN, action="ajukan")
    signoff_step(user=official, region_code=PENAJAM_KELURAHAN, action="setujui")
    Flag.objects.create(
        rule_id="pencilan_wilayah",
        region_id=PENAJAM_KELURAHAN,
        indicator_id="tanpa_jamban",
        period="2025-pendataan",
        record_key=f"area:{PENAJAM_KELURAHAN}:tanpa_jamban:2025-pendataan",
        details={"nilai": 61.5, "median": 12.0, "z": 5.2},
    )
    session = open_page(official)
    assert session.goto("/?level=desa").status == 200
    session.page.wait_for_selector("#ranked-table .quality-cell-badge")
    # The outlier flag of the shown indicator and period, beside the village's value.
    mark = session.page.locator(f"#ranked-table tr[data-code='{PENAJAM_KELURAHAN}'] .outlier-mark")
    assert mark.get_attribute("title") == "Nilai indikator jauh dari desa sekecamatan"
    badge = session.page.locator(
        f"#ranked-table tr[data-code='{PENAJAM_KELURAHAN}'] .quality-cell-badge"
    )
    assert "\u2713" in badge.inner_text()
    everything = session.page.inner_text("#kpi-indicator-value")
    session.page.check("#approved-only")
    # The figures become the approved villages' (the address keeps the choice).
    session.page.wait_for_url("**disetujui=1**")
    session.page.wait_for_selector("#approved-count:not([hidden])")
    assert session.page.inner_text("#approved-count") == "1 dari 2 desa disetujui"
    assert session.page.inner_text("#kpi-indicator-approved") == "1 dari 2 desa disetujui"
    visible = session.page.locator("#ranked-table tbody tr:not([hidden])")
    assert visible.count() == 1
    approved_only = session.page.inner_text("#kpi-indicator-value")
    assert approved_only != everything  # Babulu's two households without a latrine left
    session.page.screenshot(path=str(SCREENSHOTS / "dashboard-quality-badges.png"), full_page=True)
    session.page.set_viewport_size(PHONE)
    session.page.screenshot(path=str(SCREENSHOTS / "dashboard-approved-phone.png"), full_page=True)
    session.page.set_viewport_size(DESKTOP)
    # The address reproduces the view.
    session.goto("/" + session.page.url.split("/", 3)[3])
    session.page.wait_for_selector("#approved-count:not([hidden])")
    assert session.page.is_checked("#approved-only")
    assert session.page.inner_text("#kpi-indicator-value") == approved_only
    # The village page lists it beside the village's figures.
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/")
    facts = session.page.locator("#outlier-flags")
    assert "median kecamatan 12,0" in facts.inner_text()
    session.page.locator(".facts").nth(1).screenshot(
        path=str(SCREENSHOTS / "village-outlier-flags.png")
    )
    assert session.errors == []
