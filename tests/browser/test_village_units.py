"""The village page's breakdown per dusun, RW and RT on a phone (360 px) in headless
Chromium: the table fits (it scrolls inside its box, the page does not), another
indicator is chosen with the form, a unit's link opens the target list of that unit's
households only; the household form offers only the RWs of the chosen dusun; and the
operator's page of units. Screenshots go to test-artifacts/ (docs/screenshots keeps
copies)."""

from __future__ import annotations

import pytest
from django.db import transaction

from households.indicators.rollup import indicators_refresh
from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, village_units

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
TREE = {
    "Lingkungan I": {"001": ["001", "002"], "002": ["003"]},
    "Lingkungan II": {"003": ["004", "005"]},
}
PLACES = (
    [("Lingkungan I", "001", "001")] * 6
    + [("Lingkungan I", "001", "002")] * 5
    + [("Lingkungan I", "002", "003")] * 4
    + [("Lingkungan II", "003", "004")] * 7
    + [("Lingkungan II", "003", "005")] * 2
)


@pytest.fixture
def village(transactional_db):
    _load_regions()
    operator = make_user("operator-tanjung", role="operator", areas=[PENAJAM_KELURAHAN])
    with transaction.atomic():
        units = village_units(PENAJAM_KELURAHAN, TREE)
        for index, (dusun, rw, rt) in enumerate(PLACES):
            no_latrine = index % 3 == 0
            HouseholdFactory(
                region_id=PENAJAM_KELURAHAN, dusun=dusun, rw=rw, rt=rt,
                fasilitas_bab=6 if no_latrine else 1,
                jenis_kloset=None if no_latrine else 1,
                pembuangan_tinja=None if no_latrine else 1,
            )  # fmt: skip
    indicators_refresh(full=True)
    return {"operator": operator, "units": units}


def test_breakdown_on_a_phone_and_a_units_households(village, open_page):
    session = open_page(village["operator"])
    page = session.page
    page.set_viewport_size(PHONE)
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/")
    ARTIFACTS.mkdir(exist_ok=True)
    table = page.locator("#unit-table")
    table.scroll_into_view_if_needed()
    assert table.is_visible()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    rows = page.locator("#unit-table tbody tr")
    assert rows.count() == 10
    rt1 = page.locator(f"#unit-table tr[data-unit='{village['units']['Lingkungan I/001/001'].pk}']")
    assert "2 / 6" in rt1.inner_text()  # households 0 and 3 of RT 001 have no latrine
    page.locator("#units").screenshot(path=str(ARTIFACTS / "village-units-phone.png"))

    # Another indicator, chosen with the form (a plain GET, no script needed).
    page.select_option("#id_indikator", "jumlah_rumah_tangga")
    page.click("#units button[type=submit]")
    page.wait_for_load_state()
    assert "indikator=jumlah_rumah_tangga" in page.url
    assert (
        page.locator(f"#unit-table tr[data-unit='{village['units']['Lingkungan II'].pk}']")
        .inner_text()
        .split()[-1]
        == "9"
    )

    # The unit's households: the target list (no latrine), filtered to the unit.
    rt = village["units"]["Lingkungan II/003/004"]
    page.click(f"#unit-table tr[data-unit='{rt.pk}'] a")
    page.wait_for_selector("#unit-filter")
    assert f"unit={rt.pk}" in page.url
    # Households 15, 18 and 21 of the list live there without a latrine.
    page.wait_for_function(
        "() => document.querySelectorAll('#households-table tbody tr').length === 3"
    )
    assert any(f"unit={rt.pk}" in r.url for r in session.api_responses("/api/v1/households/"))
    assert session.errors == []


def test_breakdown_at_desktop_width(village, open_page):
    session = open_page(village["operator"])
    page = session.page
    page.set_viewport_size(DESKTOP)
    ARTIFACTS.mkdir(exist_ok=True)
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/?indikator=semua")
    page.locator("#units").scroll_into_view_if_needed()
    page.locator("#units").screenshot(path=str(ARTIFACTS / "village-units.png"))
    assert page.locator("#unit-table thead th").count() > 15
    assert session.errors == []


def test_the_household_form_offers_only_the_rws_of_the_chosen_dusun(village, open_page):
    session = open_page(village["operator"])
    page = session.page
    page.set_viewport_size(PHONE)
    household = village["units"]["Lingkungan I"].region.households.filter(rt="004").first()
    session.goto(f"/rumah-tangga/{household.pk}/ubah/")
    page.wait_for_selector("#household-form")

    def visible_options(name):
        return page.evaluate(
            """(name) => Array.from(document.querySelectorAll(`#id_${name} option`))
                 .filter((o) => !o.disabled && o.value).map((o) => o.value)""",
            name,
        )

    assert visible_options("rw") == ["003"]
    assert visible_options("rt") == ["004", "005"]
    page.select_option("#id_dusun", "Lingkungan I")
    assert visible_options("rw") == ["001", "002"]
    assert page.input_value("#id_rw") == ""  # RW 003 is not of Lingkungan I
    page.select_option("#id_rw", "002")
    assert visible_options("rt") == ["003"]
    page.select_option("#id_rt", "003")
    page.click("button.hf-submit")
    page.wait_for_url(f"**/rumah-tangga/{household.pk}/")
    household.refresh_from_db()
    assert (household.dusun, household.rw, household.rt) == ("Lingkungan I", "002", "003")
    assert session.errors == []


def test_the_operators_page_of_units(village, open_page):
    session = open_page(village["operator"])
    page = session.page
    page.set_viewport_size(PHONE)
    ARTIFACTS.mkdir(exist_ok=True)
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/wilayah/")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    page.select_option("#id_kind", "rt")
    page.select_option("#id_parent", label="Lingkungan II / 003")
    page.fill("#id_name", "006")
    page.click("#unit-add-form button[type=submit]")
    page.wait_for_selector("#unit-messages")
    assert "006" in page.locator("#unit-list").inner_text()
    page.screenshot(path=str(ARTIFACTS / "village-units-manage-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "village-units-manage.png"), full_page=True)
    assert session.errors == []
