"""The monthly population report as a village operator opens it on a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from households.models import EventKind, LifeEvent
from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def village_with_events(transactional_db):
    _load_regions()
    operator = make_user("operator-laporan", role="operator", areas=[PENAJAM_KELURAHAN])
    for dusun, size in (("Lingkungan I", 4), ("Lingkungan II", 3), ("Lingkungan III", 5)):
        with transaction.atomic():
            household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun=dusun)
            for index in range(size - 1):
                MemberFactory(household=household, jenis_kelamin=1 + index % 2)
    november = dt.date(2026, 11, 1)
    for kind, day, sex, dusun in (
        (EventKind.BIRTH, 4, 2, "Lingkungan I"),
        (EventKind.BIRTH, 18, 1, "Lingkungan III"),
        (EventKind.DEATH, 9, 1, "Lingkungan II"),
        (EventKind.MOVED_IN, 21, 2, "Lingkungan III"),
    ):
        LifeEvent.objects.create(
            kind=kind, tanggal=november.replace(day=day), jenis_kelamin=sex,
            region_id=PENAJAM_KELURAHAN, dusun=dusun,
        )  # fmt: skip
    return operator


def test_operator_reads_the_monthly_report_on_a_phone(village_with_events, open_page):
    session = open_page(village_with_events)
    session.page.set_viewport_size(PHONE)
    response = session.goto(f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk/?bulan=2026-11")
    assert response.status == 200
    rows = session.page.locator("#population-report tbody tr")
    assert rows.count() == 3
    total = session.page.inner_text("#population-report tfoot")
    assert "Jumlah desa/kelurahan" in total
    # The wide table scrolls inside its frame; the page itself stays phone-wide.
    width = session.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    ARTIFACTS.mkdir(exist_ok=True)
    session.page.screenshot(path=str(ARTIFACTS / "population-report-phone.png"), full_page=True)
    session.page.set_viewport_size(DESKTOP)
    session.page.screenshot(path=str(ARTIFACTS / "population-report.png"), full_page=True)
    # The month picker is a labelled field; choosing another month reloads the report.
    session.page.get_by_label("Bulan").fill("2026-10")
    session.page.get_by_role("button", name="Tampilkan").click()
    session.page.wait_for_url("**bulan=2026-10")
    assert "Oktober 2026" in session.page.inner_text("main")
    assert session.errors == []
