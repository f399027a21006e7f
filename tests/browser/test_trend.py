"""The trend page (issue 15) in headless Chromium: an official opens the trend of
`tanpa_jamban`, picks two rounds, sees the change map and a village's line, and the
page's address reproduces the view. Screenshots at 1280 and 360 px go to test-artifacts/
(docs/screenshots keeps copies)."""

from __future__ import annotations

import pytest

from demo.rounds import BASELINE, UPDATE, rounds_generate
from households.models import Household
from households.trends import household_changes_for
from tests.browser.conftest import _load_regions
from tests.conftest import make_user

pytestmark = pytest.mark.browser

KECAMATAN = "64.09.01"  # Penajam


@pytest.fixture
def two_rounds(census):
    rounds_generate(region_code="64.09", seed=3)
    return make_user("pejabat-tren", role="pejabat", areas=["64.09"])


def ready(page):
    page.wait_for_selector("body[data-trend-ready='1']:not([data-trend-loading])")


def test_official_sees_the_change_map_and_a_villages_line_and_the_url_reproduces_it(
    two_rounds, open_page
):
    session = open_page(two_rounds)
    page = session.page
    session.goto("/tren/?indikator=tanpa_jamban")
    ready(page)
    assert page.locator("#trend-indicator").input_value() == "tanpa_jamban"
    assert "makin rendah makin baik" in page.locator("#trend-direction").inner_text()
    # Pick the two rounds (the later first, then the baseline as the start).
    page.select_option("#trend-to", UPDATE)
    page.select_option("#trend-from", BASELINE)
    page.select_option("#trend-area", KECAMATAN)
    ready(page)
    map_box = page.locator("#trend-map")
    assert int(map_box.get_attribute("data-feature-count")) > 3
    assert int(map_box.get_attribute("data-colored")) > 0
    rows = page.locator("#change-table tbody tr")
    assert rows.count() == int(map_box.get_attribute("data-feature-count"))
    # A village's line: from its small multiple.
    first = page.locator("#small-multiples .multiple").first
    village = first.get_attribute("data-code")
    first.click()
    ready(page)
    assert page.locator("#trend-chart").get_attribute("data-lines").split(",") == [
        "64.09",
        KECAMATAN,
        village,
    ]
    address = page.url
    for part in ("indikator=tanpa_jamban", f"dari={BASELINE}", f"ke={UPDATE}",
                 f"wilayah={KECAMATAN}", f"desa={village}"):  # fmt: skip
        assert part in address
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(session.screenshot("trend-1280")), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    ready(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(session.screenshot("trend-360")), full_page=True)
    # Nothing wider than the phone: the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # The address alone reproduces the view, in a fresh page.
    again = open_page(two_rounds)
    again.page.goto(address)
    ready(again.page)
    expected = {
        "#trend-from": BASELINE,
        "#trend-to": UPDATE,
        "#trend-area": KECAMATAN,
        "#trend-indicator": "tanpa_jamban",
    }
    for select, value in expected.items():
        assert again.page.locator(select).input_value() == value
    assert again.page.locator("#trend-chart").get_attribute("data-lines").endswith(village)
    assert session.errors == [] and again.errors == []
    _load_regions()


def test_an_operator_reads_the_change_list_and_the_village_trend(two_rounds, open_page):
    # The village where the demo changed most households' latrines.
    analyst = make_user("analis-tren", role="analis", areas=["64.09"])
    villages = Household.objects.values_list("region_id", flat=True).distinct()

    def changed(village: str) -> int:
        counts = household_changes_for(
            user=analyst,
            village=village,
            indicator="tanpa_jamban",
            from_period=BASELINE,
            to_period=UPDATE,
            limit=0,
        )["counts"]
        return sum(n for status, n in counts.items() if status != "tetap")

    code = max(sorted(villages), key=changed)
    operator = make_user("operator-tren", role="operator", areas=[code])
    session = open_page(operator)
    page = session.page
    session.goto(f"/desa/{code}/perubahan/?indikator=tanpa_jamban")
    counts = {
        key: int(page.locator(f"#change-counts [data-status='{key}']").inner_text())
        for key in ("berubah", "memburuk", "membaik", "tetap", "semua")
    }
    assert counts["berubah"] > 0 and counts["tetap"] > 0, (counts, page.url)
    assert counts["semua"] == counts["berubah"] + counts["tetap"]
    # The changed come first (the default), backsliding before improvement.
    rows = page.locator("#changes-table tbody tr")
    assert rows.count() == min(counts["berubah"], 100)
    classes = [rows.nth(i).get_attribute("class") for i in range(rows.count())]
    assert "change-tetap" not in classes
    if counts["memburuk"]:
        assert classes[0] == "change-memburuk"
    first_link = page.locator("#changes-table tbody a").first
    assert first_link.get_attribute("href").startswith("/rumah-tangga/")
    page.screenshot(path=str(session.screenshot("village-changes-1280")), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    page.screenshot(path=str(session.screenshot("village-changes-360")), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})
    # The stayed are a count and a filter of their own; the address keeps the filter.
    page.locator("#change-counts li.change-tetap a").click()
    page.wait_for_url("**status=tetap**")
    assert page.locator("#change-counts .current [data-status='tetap']").count() == 1
    stayed = page.locator("#changes-table tbody tr")
    assert stayed.count() == min(counts["tetap"], 100)
    assert stayed.first.get_attribute("class") == "change-tetap"
    session.goto(f"/desa/{code}/")
    trend = page.locator("#village-trend")
    trend.scroll_into_view_if_needed()
    assert page.locator("#village-trend-table tbody tr").count() > 5
    trend.screenshot(path=str(session.screenshot("village-trend-1280")))
    page.set_viewport_size({"width": 360, "height": 780})
    trend.screenshot(path=str(session.screenshot("village-trend-360")))
    assert session.errors == []
    _load_regions()
