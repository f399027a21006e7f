"""The programme's by-name-by-address list (XLSX, PDF): the caller's areas only, masked,
audited; the summary per kecamatan from the rollup rows."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from desapresisi.models import AuditAction, AuditEntry
from households.models import Household
from programmes.services import target_list_freeze
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, ProgrammeFactory
from tests.programmes.test_services import no_latrine, team  # noqa: F401

pytestmark = pytest.mark.django_db


def test_list_holds_the_callers_rows_masked_and_is_audited(team, as_user):  # noqa: F811
    own = no_latrine(PENAJAM_KELURAHAN, head__nama="Kepala Tanjung")
    other = no_latrine(BABULU_DESA, head__nama="Kepala Babulu")
    programme = ProgrammeFactory(skpd=team["dinkes"], name="STBM")
    target_list_freeze(
        actor=team["admin"], programme=programme, households=Household.objects.all(), criteria={}
    )
    response = as_user(team["operator_a"]).get(f"/program/{programme.pk}/daftar.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    cells = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row if cell]
    assert "Kepala Tanjung" in cells and "Kepala Babulu" not in cells
    assert own.no_kk not in cells and any(str(cell).endswith(own.no_kk[-4:]) for cell in cells)
    assert other.alamat not in cells
    summary = list(book.worksheets[1].iter_rows(values_only=True))
    assert ("Penajam", 1, 1, 0, 0, 0, 0, 0, 0) in summary and (
        "Babulu",
        1,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    ) in summary
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert (entry.user, entry.rows) == (team["operator_a"], 1)
    pdf = as_user(team["analyst"]).get(f"/program/{programme.pk}/daftar.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert as_user(team["official"]).get(f"/program/{programme.pk}/daftar.pdf").status_code == 404
    assert as_user(team["analyst"]).get(f"/program/{programme.pk}/daftar.csv").status_code == 404


def test_a_villages_own_list_for_its_meeting(team, as_user):  # noqa: F811
    no_latrine(PENAJAM_KELURAHAN, head__nama="Kepala Tanjung")
    no_latrine(BABULU_DESA, head__nama="Kepala Babulu")
    programme = ProgrammeFactory(skpd=team["dinkes"], name="STBM")
    target_list_freeze(
        actor=team["admin"], programme=programme, households=Household.objects.all(), criteria={}
    )
    analyst = as_user(team["analyst"])
    page = analyst.get(f"/program/{programme.pk}/").content.decode()
    assert f"daftar.pdf?desa={BABULU_DESA}" in page
    response = analyst.get(f"/program/{programme.pk}/daftar.xlsx?desa={BABULU_DESA}")
    assert response.status_code == 200
    assert f"-{BABULU_DESA}.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    cells = [cell for row in book.worksheets[0].iter_rows(values_only=True) for cell in row if cell]
    assert "Kepala Babulu" in cells and "Kepala Tanjung" not in cells
    assert any(str(cell).endswith("Babulu Darat") for cell in cells)
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.rows == 1 and entry.detail.endswith(BABULU_DESA)
    pdf = analyst.get(f"/program/{programme.pk}/daftar.pdf?desa={BABULU_DESA}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # The operator of Tanjung Tengah has no Babulu list, and is offered none.
    operator = as_user(team["operator_a"])
    assert f"?desa={BABULU_DESA}" not in operator.get(f"/program/{programme.pk}/").content.decode()
    assert operator.get(f"/program/{programme.pk}/daftar.pdf?desa={BABULU_DESA}").status_code == 404
    assert analyst.get(f"/program/{programme.pk}/daftar.pdf?desa=64.09").status_code == 404
    assert analyst.get(f"/program/{programme.pk}/daftar.pdf?desa=nope").status_code == 404
