"""The census import page in headless Chromium: a dry run whose preview lists a warning
apart from the errors and is then committed."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.management import call_command

from tests.factories import BABULU_DESA, nik_for

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def regions(transactional_db):
    from villages.models import Region

    if not Region.objects.filter(code="64.09").exists():
        with open(os.devnull, "w") as quiet:
            call_command("load_regions", scope="ppu", verbosity=0, stdout=quiet)


def test_import_preview_lists_a_warning_apart_and_commits(regions, staff_user, open_page):
    from households.models import Member
    from tests.households.test_imports import family, xlsx

    households, members = family()
    members[1]["nik"] = nik_for(BABULU_DESA, dt.date(2012, 7, 21), 2, 5)
    session = open_page(staff_user)
    session.goto("/impor/")
    session.page.set_input_files(
        "input[name=file]",
        files=[{"name": "sensus.xlsx", "mimeType": XLSX, "buffer": xlsx(households, members)}],
    )
    session.page.click("#import-form button[type=submit]")
    session.page.wait_for_selector("#import-warnings:not([hidden])")
    assert session.page.is_hidden("#import-errors")
    warning = session.page.inner_text("#import-warnings tbody")
    assert "anggota" in warning and "640903" in warning and "kecamatan lain" in warning
    assert "1 peringatan" in session.page.inner_text("#import-message")
    session.page.click("#import-commit")
    session.page.wait_for_selector("#import-message:text-matches('^Tersimpan')")
    assert Member.objects.filter(nik=members[1]["nik"]).exists()
    assert session.errors == []
