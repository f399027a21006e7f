"""The programme workflow in headless Chromium on a phone (360 px): an analyst of Dinas
Kesehatan freezes the households without a latrine of one kecamatan in deciles 1-4,
approves them, marks some done with a photo; a second analyst verifies them; the coverage
map changes."""

from __future__ import annotations

import pytest
from django.db import transaction

from households.indicators.rollup import indicators_refresh
from programmes.models import EvidencePhoto, Intervention, Programme, SkpdMember
from tests.browser.conftest import ARTIFACTS, _load_regions
from tests.conftest import make_user
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    ProgrammeFactory,
    SkpdFactory,
)
from tests.programmes.test_services import jpeg_with_exif

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
AREA = "path.area-" + PENAJAM_KELURAHAN.replace(".", "-")


@pytest.fixture
def stbm(transactional_db):
    _load_regions()
    with transaction.atomic():  # the database checks the head of household at commit
        needy = [
            HouseholdFactory(
                region_id=PENAJAM_KELURAHAN,
                fasilitas_bab=6,
                jenis_kloset=None,
                pembuangan_tinja=None,
                desil_kesejahteraan=desil,
                head__nama=f"Kepala Uji {desil}",
            )
            for desil in (1, 2, 3, 4, 8)
        ]
        HouseholdFactory(
            region_id=BABULU_DESA, fasilitas_bab=6, jenis_kloset=None, pembuangan_tinja=None,
            desil_kesejahteraan=1,
        )  # fmt: skip
        HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    indicators_refresh(full=True)
    dinkes = SkpdFactory(code="dinkes", name="Dinas Kesehatan")
    analyst = make_user("analis-dinkes", role="analis", areas=["64.09"])
    verifier = make_user("verifikator-dinkes", role="analis", areas=["64.09"])
    for user in (analyst, verifier):
        SkpdMember.objects.create(user=user, skpd=dinkes)
    programme = ProgrammeFactory(
        skpd=dinkes, code="stbm-2026", name="STBM: jamban sehat keluarga", target_count=4,
        unit_cost=3_500_000, funding_sources=["dak", "apbd_kabupaten"],
    )  # fmt: skip
    return {"programme": programme, "analyst": analyst, "verifier": verifier, "needy": needy}


def fill_of(page) -> str:
    return page.get_attribute(AREA, "fill")


COVERAGE_VIEW = "/?indicator=tanpa_jamban&cakupan=1"


def coverage_view(session) -> dict:
    """The dashboard's "belum tersentuh program" layer: the village's fill, its row of the
    ranked table and the KPI card."""
    page = session.page
    session.goto(COVERAGE_VIEW)
    page.wait_for_selector("#map[data-ready='1'][data-shown='cakupan:tanpa_jamban']")
    assert page.is_checked("#coverage-toggle")
    fill = page.evaluate(
        """(code) => { let fill = null; window.DP.map.eachLayer((layer) => {
             const p = layer.feature && layer.feature.properties;
             if (p && p.code === code && p.level === 'desa') fill = layer.options.fillColor;
           }); return fill; }""",
        PENAJAM_KELURAHAN,
    )
    return {
        "fill": fill,
        "kpi": page.inner_text("#kpi-indicator-value"),
        "name": page.inner_text("#kpi-indicator-name"),
    }


def test_analyst_freezes_approves_marks_done_and_a_second_user_verifies(stbm, open_page, tmp_path):
    programme = stbm["programme"]
    photo = tmp_path / "jamban.jpg"
    photo.write_bytes(jpeg_with_exif())
    ARTIFACTS.mkdir(exist_ok=True)

    session = open_page(stbm["analyst"])
    page = session.page
    page.set_viewport_size(PHONE)
    # Before any programme: every household without a latrine is "belum tersentuh".
    untouched = coverage_view(session)
    assert untouched["name"].startswith("Belum tersentuh program")
    assert untouched["kpi"] == "100,0\u00a0%"
    session.goto(f"/program/{programme.pk}/")
    page.wait_for_selector("#programme-map[data-ready='1']")
    before = fill_of(page)
    assert f"{PENAJAM_KELURAHAN}:0" in page.get_attribute("#programme-map", "data-reached")

    # Households without a latrine (the programme's indicator) in Kecamatan Penajam, desil 1-4.
    page.get_by_label("Wilayah", exact=True).select_option("64.09.01")
    page.get_by_label("Desil kesejahteraan sampai").fill("4")
    page.click("#freeze-submit")
    page.wait_for_selector("#messages")
    assert "Daftar sasaran versi 1 dibekukan: 4 rumah tangga." in page.inner_text("#messages")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"

    # Approve all four.
    for box in page.locator("#intervention-table input[name=ids]").all():
        box.check()
    page.select_option("#bulk-status", "disetujui")
    page.click("#bulk-submit")
    page.wait_for_selector("#messages")
    assert "4 intervensi diubah." in page.inner_text("#messages")
    assert set(Intervention.objects.values_list("status", flat=True)) == {"disetujui"}

    # Two are built: marked done with a photo, on the phone form.
    done = list(Intervention.objects.order_by("pk")[:2])
    for index, item in enumerate(done):
        session.goto(f"/intervensi/{item.pk}/")
        page.get_by_label("Status baru", exact=True).select_option("selesai")
        page.get_by_label("Anggaran realisasi (Rp)").fill("3400000")
        page.get_by_label("Catatan", exact=True).fill(
            "Jamban leher angsa dan tangki septik selesai."
        )
        page.get_by_label("Foto bukti", exact=True).set_input_files(str(photo))
        if index == 0:
            page.screenshot(
                path=str(ARTIFACTS / "programme-intervention-form-phone.png"), full_page=True
            )
        page.click("#intervention-submit")
        page.wait_for_selector("#messages")
        assert "Intervensi disimpan." in page.inner_text("#messages")
        assert page.get_attribute("#status", "data-status") == "selesai"
    assert EvidencePhoto.objects.filter(intervention__in=done).count() == 2
    # Four eyes: the one who marked it done is not offered (nor allowed) verification.
    session.goto(f"/intervensi/{done[0].pk}/")
    page.select_option("#id_status", "terverifikasi")
    page.click("#intervention-submit")
    assert "Empat mata" in page.inner_text("#form-errors")
    # The refusal is answered 403, which Chromium logs as a failed load: expected here.
    assert session.errors == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]
    session.errors.clear()

    second = open_page(stbm["verifier"])
    other = second.page
    other.set_viewport_size(PHONE)
    for item in done:
        second.goto(f"/intervensi/{item.pk}/")
        assert other.locator("#photos img").count() == 1
        other.get_by_label("Status baru", exact=True).select_option("terverifikasi")
        other.click("#intervention-submit")
        other.wait_for_selector("#messages")
        assert other.get_attribute("#status", "data-status") == "terverifikasi"
    other.screenshot(path=str(ARTIFACTS / "programme-intervention-phone.png"), full_page=True)

    second.goto(f"/program/{programme.pk}/")
    other.wait_for_selector("#programme-map[data-ready='1']")
    assert other.inner_text("[data-kpi='terverifikasi']") == "2"
    assert other.inner_text("[data-kpi='disetujui']") == "2"
    assert f"{PENAJAM_KELURAHAN}:4" in other.get_attribute("#programme-map", "data-reached")
    assert fill_of(other) != before
    other.screenshot(path=str(ARTIFACTS / "programme-phone.png"), full_page=True)
    other.set_viewport_size(DESKTOP)
    second.goto(f"/program/{programme.pk}/")
    other.wait_for_selector("#programme-map[data-ready='1']")
    other.screenshot(path=str(ARTIFACTS / "programme.png"), full_page=True)
    second.goto(f"/intervensi/{done[0].pk}/")
    other.screenshot(path=str(ARTIFACTS / "programme-intervention.png"), full_page=True)
    second.goto("/program/")
    other.screenshot(path=str(ARTIFACTS / "programme-list.png"), full_page=True)
    other.set_viewport_size(PHONE)
    other.screenshot(path=str(ARTIFACTS / "programme-list-phone.png"), full_page=True)

    # The coverage map changed: four of the kabupaten's six households are reached.
    reached = coverage_view(second)
    assert reached["fill"] != untouched["fill"]
    assert reached["kpi"] == "33,3\u00a0%"
    other.screenshot(path=str(ARTIFACTS / "dashboard-coverage-phone.png"), full_page=True)
    other.set_viewport_size(DESKTOP)
    coverage_view(second)
    other.screenshot(path=str(ARTIFACTS / "dashboard-coverage.png"), full_page=True)
    assert session.errors == [] and second.errors == []


def test_analyst_creates_a_programme_on_a_phone(stbm, open_page):
    session = open_page(stbm["analyst"])
    page = session.page
    page.set_viewport_size(PHONE)
    session.goto("/program/")
    page.click("#programme-new-link")
    page.fill("#id_code", "bedah-rumah-2027")
    page.fill("#id_name", "Bedah rumah: rumah layak huni")
    page.fill("#id_year", "2027")
    page.select_option("#id_indicator", "rtlh")
    page.select_option("#id_area", "64.09.01")
    page.get_by_label("DAK").check()
    page.get_by_label("Dana Desa").check()
    page.fill("#id_target_count", "300")
    page.fill("#id_unit_cost", "1500000")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "programme-new-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "programme-new.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.click("#programme-submit")
    page.wait_for_selector("h1")
    programme = Programme.objects.get(code="bedah-rumah-2027")
    assert page.url.endswith(f"/program/{programme.pk}/")
    assert programme.funding_sources == ["dak", "dana_desa"] and programme.area_id == "64.09.01"
    assert "Program dibuat" in page.inner_text(".messages")
    assert session.errors == []
