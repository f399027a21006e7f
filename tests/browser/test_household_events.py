"""The household page's life events, as a village operator reads them on a phone, in
headless Chromium: a birth, a death and a split recorded through the API, each dated, with
its actor, and the new household of the split a link that opens its page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.test import Client

from households.models import Household
from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def household_with_events(transactional_db):
    """A household of Tanjung Tengah where its operator recorded, through the API, a birth,
    the grandmother's death and the married son's split into a new household."""
    _load_regions()
    operator = make_user("operator-peristiwa", role="operator", areas=[PENAJAM_KELURAHAN])
    with transaction.atomic():
        household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, head__nama="Ahmad Fauzi")
        grandmother = MemberFactory(
            household=household, nama="Hajah Maryam", hubungan_keluarga=7, jenis_kelamin=2,
            tanggal_lahir=dt.date(1950, 2, 2),
        )  # fmt: skip
        son = MemberFactory(
            household=household, nama="Rizky Fauzi", tanggal_lahir=dt.date(2000, 5, 5)
        )
        daughter_in_law = MemberFactory(
            household=household, nama="Dewi Lestari", hubungan_keluarga=5, jenis_kelamin=2,
            tanggal_lahir=dt.date(2001, 7, 7),
        )  # fmt: skip
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(operator)

    def post(path, data):
        response = client.post(path, data, content_type="application/json")
        assert response.status_code in (200, 201), response.content
        return response.json()

    versi = post(
        f"/api/v1/households/{household.pk}/events/",
        {"kind": "lahir", "nama": "Bayi Aisyah", "jenis_kelamin": 2, "tanggal": "2025-11-20",
         "versi": 1},
    )["versi"]  # fmt: skip
    grandmother.refresh_from_db()
    post(
        f"/api/v1/members/{grandmother.pk}/events/",
        {"kind": "meninggal", "tanggal": "2025-12-02", "versi": grandmother.versi},
    )
    new = post(
        f"/api/v1/households/{household.pk}/events/",
        {"kind": "pecah_kk", "tanggal": "2025-12-05", "kepala_baru": son.pk, "rt": "004",
         "anggota_pecah": [{"id": son.pk}, {"id": daughter_in_law.pk, "hubungan_keluarga": 3}],
         "versi": versi},
    )  # fmt: skip
    return household, Household.objects.get(pk=new["id"]), operator


def test_operator_reads_the_life_events_on_a_phone_and_opens_the_new_household(
    household_with_events, open_page
):
    household, new, operator = household_with_events
    session = open_page(operator)
    session.page.set_viewport_size(PHONE)
    assert session.goto(f"/rumah-tangga/{household.pk}/").status == 200
    events = session.page.locator("#events > li")
    # Newest first: the two who left in the split, the death, the birth.
    assert [events.nth(i).get_attribute("data-kind") for i in range(events.count())] == [
        "pecah_kk", "pecah_kk", "meninggal", "lahir",
    ]  # fmt: skip
    text = session.page.inner_text("#events")
    assert "Hajah Maryam meninggal" in text and "Bayi Aisyah lahir" in text
    assert "Rizky Fauzi keluar membentuk KK baru" in text
    assert "operator-peristiwa" in text
    width = session.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    section = session.page.locator("section[aria-labelledby='events-title']")
    ARTIFACTS.mkdir(exist_ok=True)
    section.screenshot(path=str(ARTIFACTS / "household-events-phone.png"))
    session.page.set_viewport_size(DESKTOP)
    section.screenshot(path=str(ARTIFACTS / "household-events.png"))

    # The split's new household is a link; its page tells the split from its side.
    session.page.set_viewport_size(PHONE)
    session.page.locator(f"#events a[href='/rumah-tangga/{new.pk}/']").first.click()
    session.page.wait_for_url(f"**/rumah-tangga/{new.pk}/")
    text = session.page.inner_text("#events")
    assert "Dewi Lestari masuk KK baru ini, pecah dari KK asal" in text
    assert session.page.locator(f"#events a[href='/rumah-tangga/{household.pk}/']").count() == 2
    assert session.errors == []
