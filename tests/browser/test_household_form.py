"""The operator's household form on a phone (360 px), in headless Chromium: open it from
the household page, change an answer, see a skip rule applied, save, see the change."""

from __future__ import annotations

import pytest
from django.db import transaction

from households.models import Household
from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def household_and_operator(transactional_db):
    _load_regions()
    operator = make_user("operator-tanjung", role="operator", areas=[PENAJAM_KELURAHAN])
    with transaction.atomic():  # the database checks the head of household at commit
        household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, head__nama="Siti Aminah")
    return household, operator


def test_operator_changes_an_answer_on_a_phone_and_sees_it_on_the_household_page(
    household_and_operator, open_page
):
    household, operator = household_and_operator
    session = open_page(operator)
    page = session.page
    page.set_viewport_size(PHONE)
    session.goto(f"/rumah-tangga/{household.pk}/")
    page.click("#edit-link")
    page.wait_for_selector("#household-form")
    assert page.url.endswith(f"/rumah-tangga/{household.pk}/ubah/")

    # Labels above their inputs, nothing wider than the phone, touch targets >= 44 px.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"form is {width}px wide on a {PHONE['width']}px phone"
    boxes = page.evaluate(
        """() => {
            const label = document.querySelector('label[for="id_lantai"]').getBoundingClientRect();
            const select = document.getElementById('id_lantai').getBoundingClientRect();
            return {labelBottom: label.bottom, selectTop: select.top, height: select.height};
        }"""
    )
    assert boxes["labelBottom"] <= boxes["selectTop"] and boxes["height"] >= 44, boxes

    # The skip rule: no toilet type to choose once the family has no facility.
    toilet = page.locator('[data-field="jenis_kloset"]')
    assert toilet.is_visible()
    page.select_option("#id_fasilitas_bab", "6")
    assert not toilet.is_visible()
    page.select_option("#id_fasilitas_bab", "1")
    assert toilet.is_visible()

    # Change the floor by its Indonesian label, through its <label for>.
    page.get_by_label("Jenis lantai terluas (303)").select_option(label="Tanah")
    page.get_by_label("Jenis lantai terluas (303)").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "operator-form-phone.png"))

    page.click("#household-form button[type=submit]")
    page.wait_for_url(f"**/rumah-tangga/{household.pk}/")
    assert "Perubahan disimpan." in page.inner_text(".messages")
    assert "Tanah" in page.inner_text('[data-field="lantai"]')
    assert "Tanah" in page.inner_text("#history")
    household = Household.objects.get(pk=household.pk)
    assert household.lantai == 8 and household.fasilitas_bab == 1 and household.versi == 2
    assert session.errors == []
