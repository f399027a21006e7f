"""The census import page and the export jobs page, in headless Chromium: a dry run whose
preview lists a warning apart from the errors and is then committed; a large XLSX export
that sends the browser to its job, shown finished with its download."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.management import call_command
from django.db import transaction

from households.models import Member
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, nik_for
from tests.households.census_import.test_import import family, xlsx
from villages.models import Region

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def regions(transactional_db):
    if not Region.objects.filter(code="64.09").exists():
        with open(os.devnull, "w") as quiet:
            call_command("load_regions", scope="ppu", verbosity=0, stdout=quiet)


def test_import_preview_lists_a_warning_apart_and_commits(regions, staff_user, open_page):
    households, members = family()
    members[1]["nik"] = nik_for(BABULU_DESA, dt.date(2012, 7, 21), 2, 5)
    session = open_page(staff_user)
    session.goto("/impor/")
    session.page.set_input_files(
        "#import-form input[name=file]",
        files=[{"name": "sensus.xlsx", "mimeType": XLSX, "buffer": xlsx(households, members)}],
    )
    session.page.click("#import-form button[type=submit]")
    session.page.wait_for_selector("#import-warnings:not([hidden])")
    assert session.page.is_hidden("#import-errors")
    warning = session.page.inner_text("#import-warnings tbody")
    assert "anggota" in warning and "640903" in warning and "kecamatan lain" in warning
    assert "1 peringatan" in session.page.inner_text("#import-message")
    session.screenshot("import-preview-desktop")
    session.page.set_viewport_size({"width": 360, "height": 800})
    session.screenshot("import-preview-phone")
    session.page.set_viewport_size({"width": 1280, "height": 800})
    session.page.click("#import-commit")
    session.page.wait_for_selector("#import-message:text-matches('^Tersimpan')")
    assert Member.objects.filter(nik=members[1]["nik"]).exists()
    assert session.errors == []


def test_large_export_link_leads_to_its_finished_job_and_file(
    regions, staff_user, open_page, settings
):
    settings.EXPORT_XLSX_SYNC_MAX_ROWS = 1
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with transaction.atomic():  # the one-head check runs at commit
        HouseholdFactory(region_id=PENAJAM_KELURAHAN)
        HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    session = open_page(staff_user)
    session.goto(f"/api/v1/exports/households.xlsx?region={PENAJAM_KELURAHAN}")
    assert "/ekspor/?job=" in session.page.url
    row = session.page.wait_for_selector("#export-jobs tr.is-highlighted")
    text = row.inner_text()
    assert "Siap diunduh" in text and "100%" in text and PENAJAM_KELURAHAN in text
    with session.page.expect_download() as download:
        session.page.click("#export-jobs tr.is-highlighted a")
    assert download.value.suggested_filename.startswith("rumah-tangga-")
    session.screenshot("export-jobs-desktop")
    session.page.set_viewport_size({"width": 360, "height": 800})
    session.screenshot("export-jobs-phone")
    assert session.errors == []
