"""The import page's field collection section in headless Chromium: an ODK Central export
tested, its errors naming the submission, then the corrected export committed."""

from __future__ import annotations

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from desapresisi.models import AccessProfile
from households.models import FieldSubmission, Household
from tests.browser.conftest import ARTIFACTS
from tests.factories import PENAJAM_KELURAHAN
from tests.households.fieldwork.exports import central_zip
from tests.households.fieldwork.test_submissions import B, field_export
from villages.models import Region

pytestmark = pytest.mark.browser


@pytest.fixture
def operator(transactional_db):
    if not Region.objects.filter(code="64.09").exists():
        with open(os.devnull, "w") as quiet:
            call_command("load_regions", scope="ppu", verbosity=0, stdout=quiet)
    user = get_user_model().objects.create_user("operator-lapangan", password="x-test-pass-1")
    AccessProfile.objects.create(user=user, role="operator", areas=[PENAJAM_KELURAHAN])
    return user


def upload(session, data: bytes) -> None:
    session.page.set_input_files(
        "#fieldwork-form input[name=file]",
        files=[{"name": "desapresisi_sensus.zip", "mimeType": "application/zip", "buffer": data}],
    )
    session.page.click("#fieldwork-form button[type=submit]")


def test_a_field_export_is_tested_then_committed_on_the_import_page(operator, open_page):
    session = open_page(operator)
    session.goto("/impor/")
    assert session.page.is_visible("#fieldwork-title")
    upload(session, central_zip(field_export(b_outside=True)))
    session.page.wait_for_selector("#import-errors:not([hidden])")
    errors = session.page.inner_text("#import-errors tbody")
    assert B in errors and "lintang" in errors and "di luar desa" in errors
    warnings = session.page.inner_text("#import-warnings tbody")
    assert "ditolak" in warnings and "belum disetujui" in warnings
    ARTIFACTS.mkdir(exist_ok=True)
    # The whole page: the field section, the preview's errors and warnings below it.
    session.page.screenshot(path=str(ARTIFACTS / "fieldwork-import.png"), full_page=True)
    session.page.set_viewport_size({"width": 360, "height": 800})
    session.page.screenshot(path=str(ARTIFACTS / "fieldwork-import-phone.png"), full_page=True)
    session.page.set_viewport_size({"width": 1280, "height": 800})

    upload(session, central_zip(field_export(b_outside=False)))
    session.page.wait_for_selector("#import-commit:not([hidden])")
    session.page.click("#import-commit")
    session.page.wait_for_selector("#import-message:text-matches('^Tersimpan')")
    assert Household.objects.count() == 2
    assert FieldSubmission.objects.count() == 2
    assert session.errors == []
