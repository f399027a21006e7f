"""An operator keeps a village current on a phone (360 px), in headless Chromium: adds a
household with its head and two more members, records a birth and a death, moves a
member to another household, splits the family, moves the point with the inputs, uses
the device's location; then sees it all on the household page. Other roles get 404."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from households.indicators.rollup import indicators_refresh
from households.models import (
    EventKind,
    Household,
    IndicatorValue,
    LifeEvent,
    Member,
    MemberStatus,
)
from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, point_in_village

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def village(transactional_db):
    _load_regions()
    operator = make_user("operator-tanjung", role="operator", areas=[PENAJAM_KELURAHAN])
    with transaction.atomic():  # the database checks the head of household at commit
        neighbour = HouseholdFactory(region_id=PENAJAM_KELURAHAN, head__nama="Tetangga")
    indicators_refresh(full=True)  # the figures as the dashboard shows them before the work
    return {"operator": operator, "neighbour": neighbour}


def village_figure(code: str) -> tuple[int, int]:
    """The stored (numerator, denominator) of households without a latrine in the village:
    what the village page and the dashboard read."""
    value = IndicatorValue.objects.filter(indicator_id="tanpa_jamban", region_id=code).latest(
        "period"
    )
    return value.numerator, value.denominator


def shot(page, name: str, *, full_page: bool = True) -> None:
    """A screenshot (docs/screenshots keeps copies). Forms are taken as the screen shows
    them: their save bar sticks to the bottom of the screen, not of a full-page image."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def fits(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"


def save(page, form="#event-form"):
    """Submit the form and wait for the household page's confirmation (a refusal fails the
    test with the page's own words)."""
    page.click(f"{form} .hf-actions button[type=submit]")
    page.wait_for_selector(".messages, .hf-error")
    errors = page.locator(".hf-error").all_inner_texts()
    assert errors == [], errors


def member_action(page, name: str, label: str) -> None:
    row = page.locator("#members tbody tr", has_text=name)
    row.get_by_role("link", name=f"{label} {name}").click()


def test_operator_keeps_a_household_current_on_a_phone(village, open_page):
    operator, neighbour = village["operator"], village["neighbour"]
    session = open_page(operator)
    page = session.page
    page.set_viewport_size(PHONE)

    # A new household from the village page, with its head; the point typed.
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/")
    page.click("#add-household-link")
    page.wait_for_selector("#location-map[data-ready='1']")
    fits(page)
    page.fill("#id_tanggal_survei", "2025-06-01")
    page.get_by_label("Fasilitas buang air besar (309a)").select_option("6")
    assert not page.locator('[data-field="jenis_kloset"]').is_visible()  # the skip rule
    point = point_in_village(PENAJAM_KELURAHAN, 5)
    page.fill("#id_lintang", f"{point.y:.6f}")
    page.fill("#id_bujur", f"{point.x:.6f}")
    # Typing the point moves the map's marker to it.
    page.wait_for_function(
        "(p) => document.getElementById('location-map').dataset.point === p",
        arg=f"{point.y:.6f},{point.x:.6f}",
    )
    page.fill("#id_kepala_nama", "Budi Santoso")
    page.select_option("#id_kepala_jenis_kelamin", "1")
    page.fill("#id_kepala_tanggal_lahir", "1980-02-02")
    page.evaluate("() => document.querySelector('[data-field=lokasi]').scrollIntoView()")
    shot(page, "household-new-phone", full_page=False)
    save(page, "#household-form")
    household = Household.objects.get(members__nama="Budi Santoso")
    assert page.url.endswith(f"/rumah-tangga/{household.pk}/")
    assert household.lokasi.distance(point) < 1e-6 and household.fasilitas_bab == 6

    # Two more members (data entry), with the skip rule of school level.
    for name, sex, born, relationship in (
        ("Sri Wahyuni", "2", "1983-07-04", "3"),
        ("Rudi Santoso", "1", "2008-03-01", "4"),
    ):
        page.click("#member-new-link")
        page.fill("#id_nama", name)
        page.select_option("#id_jenis_kelamin", sex)
        page.fill("#id_tanggal_lahir", born)
        page.select_option("#id_hubungan_keluarga", relationship)
        page.select_option("#id_partisipasi_sekolah", "1")
        assert not page.locator('[data-field="jenjang_pendidikan"]').is_visible()
        fits(page)
        save(page, "#member-form")
    assert page.locator("#members tbody tr").count() == 3

    # A birth and a death.
    page.click("#birth-link")
    page.fill("#id_nama", "Bayi Santoso")
    page.select_option("#id_jenis_kelamin", "2")
    page.fill("#id_tanggal", "2025-12-01")
    fits(page)
    save(page)
    member_action(page, "Sri Wahyuni", "Meninggal")
    page.fill("#id_tanggal", "2026-01-10")
    save(page)

    # A member moves to the neighbour's household (by its No. KK), and the family splits.
    member_action(page, "Rudi Santoso", "Pindahkan")
    page.fill("#id_rumah_tangga_tujuan", neighbour.no_kk)
    page.fill("#id_tanggal", "2026-02-01")
    save(page)
    page.click("#split-link")
    page.get_by_role("group", name="Anggota yang membentuk KK baru").get_by_label(
        "Bayi Santoso", exact=False
    ).check()
    page.get_by_role("group", name="Kepala keluarga KK baru").get_by_label(
        "Bayi Santoso", exact=False
    ).check()
    page.fill("#id_tanggal", "2026-03-01")
    fits(page)
    shot(page, "split-form-phone", full_page=False)
    save(page)
    baby = Member.objects.get(nama="Bayi Santoso")
    assert page.url.endswith(f"/rumah-tangga/{baby.household_id}/")
    assert baby.hubungan_keluarga == 1 and baby.household_id != household.pk

    # Back to the household: the point moved with the inputs on its edit form.
    session.goto(f"/rumah-tangga/{household.pk}/ubah/")
    page.wait_for_selector("#location-map[data-ready='1']")
    moved = point_in_village(PENAJAM_KELURAHAN, 9)
    page.fill("#id_lintang", f"{moved.y:.6f}")
    page.fill("#id_bujur", f"{moved.x:.6f}")
    save(page, "#household-form")
    household.refresh_from_db()
    assert household.lokasi.distance(moved) < 1e-6

    # What the household page shows now.
    page.wait_for_selector("#household-map[data-ready='1']")
    assert page.locator("#members tbody tr").count() == 2  # the head and the one who died
    events = page.inner_text("#events")
    for word in ("Lahir", "Meninggal", "Pindah KK", "Pecah KK"):
        assert word in events, events
    fits(page)
    shot(page, "household-page-operator-phone")
    household.refresh_from_db()
    assert household.jumlah_anggota == 1
    wife = Member.objects.get(nama="Sri Wahyuni")
    assert wife.status_anggota == MemberStatus.DIED
    assert Member.objects.get(nama="Rudi Santoso").household_id == neighbour.pk
    kinds = set(LifeEvent.objects.values_list("kind", flat=True))
    assert {EventKind.BIRTH, EventKind.DEATH, EventKind.TRANSFER, EventKind.SPLIT} <= kinds

    # The worker refreshes the village's figures after the saves (run here as it runs in
    # production: the queued tasks, once); the village page and the dashboard read them.
    assert village_figure(PENAJAM_KELURAHAN) == (0, 1)  # only the neighbour, before
    call_command("db_worker", batch=True, verbosity=0, stdout=io.StringIO())
    villages = Household.objects.filter(region_id=PENAJAM_KELURAHAN)
    plain = (villages.filter(fasilitas_bab=6).count(), villages.exclude(fasilitas_bab=None).count())
    assert village_figure(PENAJAM_KELURAHAN) == plain and plain[0] >= 1 and plain[1] == 3
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/")
    row = page.locator("#indicator-table tbody tr", has_text="Rumah tangga tanpa jamban").first
    row.wait_for()
    percent = f"{100 * plain[0] / plain[1]:.1f}".replace(".", ",")
    assert percent in row.inner_text(), row.inner_text()
    # The dashboard's figure for the village: the same values the map colours.
    answer = page.request.get(
        f"{session.base_url}/api/v1/indicators/values/"
        "?indicator=tanpa_jamban&level=desa&parent=64.09.01"
    ).json()
    ours = max(
        (v for v in answer if v["area_code"] == PENAJAM_KELURAHAN), key=lambda v: v["period"]
    )
    assert (ours["numerator"], ours["denominator"]) == plain
    session.goto(f"/rumah-tangga/{household.pk}/")

    page.set_viewport_size(DESKTOP)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= DESKTOP["width"]
    shot(page, "household-page-operator")
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/")
    page.wait_for_selector("#location-map[data-ready='1']")
    shot(page, "household-new", full_page=False)
    assert session.errors == []

    # The page does not exist for an operator of another village or the official role.
    for user in (
        make_user("operator-babulu", role="operator", areas=[BABULU_DESA]),
        make_user("bupati", role="official", areas=["64.09"]),
    ):
        other = open_page(user)
        for path in (f"/rumah-tangga/{household.pk}/", f"/rumah-tangga/{household.pk}/lahir/"):
            assert other.goto(path).status == 404


def test_use_my_location_fills_the_point_and_refuses_a_poor_fix(village, open_page):
    operator = village["operator"]
    session = open_page(operator)
    page = session.page
    page.set_viewport_size(PHONE)
    context = page.context
    context.grant_permissions(["geolocation"])
    point = point_in_village(PENAJAM_KELURAHAN, 2)
    context.set_geolocation({"latitude": point.y, "longitude": point.x, "accuracy": 12})
    session.goto(f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/")
    page.wait_for_selector("#location-map[data-ready='1']")
    page.click("#use-my-location")
    page.wait_for_function("() => document.getElementById('id_lintang').value !== ''")
    assert abs(float(page.input_value("#id_lintang")) - point.y) < 1e-5
    assert abs(float(page.input_value("#id_bujur")) - point.x) < 1e-5
    assert "12 m" in page.inner_text("#location-status")

    # A coarse fix (a phone indoors, by cell towers) is not used.
    typed = page.input_value("#id_lintang")
    context.set_geolocation({"latitude": point.y + 0.01, "longitude": point.x, "accuracy": 900})
    page.click("#use-my-location")
    page.wait_for_function(
        "() => document.getElementById('location-status').textContent.includes('900 m')"
    )
    assert page.input_value("#id_lintang") == typed
    assert page.locator("#location-status.hf-warning").count() == 1

    # A click on the map moves the point there.
    box = page.locator("#location-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("(t) => document.getElementById('id_lintang').value !== t", arg=typed)
    assert session.errors == []


def test_the_move_in_form_asks_for_the_persons_data_only_from_outside(village, open_page):
    session = open_page(village["operator"])
    page = session.page
    page.set_viewport_size(PHONE)
    session.goto(f"/rumah-tangga/{village['neighbour'].pk}/pindah-masuk/")
    name = page.locator('[data-field="nama"]')
    assert name.is_visible() and page.is_visible('[data-field="nik"]')
    page.select_option("#id_asal", "2")  # a member of another household of the portal
    assert not name.is_visible() and page.is_visible('[data-field="nik"]')
    page.select_option("#id_asal", "1")
    assert name.is_visible()
    fits(page)
    assert session.errors == []
