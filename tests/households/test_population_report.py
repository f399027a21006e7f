"""The monthly population report (issue 13): per dusun and sex, from the register of
life events and the current record; the numbers against a month worked out by hand."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import openpyxl
import pytest

from households.models import EventKind, Household, LifeEvent, Member, MemberStatus
from households.population import MonthNotReportable, population_report, report_month
from households.services import member_birth_record, member_event_record, member_transfer_record
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

L, P = 1, 2
NOV = dt.date(2026, 11, 1)


def event(kind, day, sex, *, region=PENAJAM_KELURAHAN, dusun="Mekar", other=None, **extra):
    other_region, other_dusun = other or (None, "")
    return LifeEvent.objects.create(
        kind=kind, tanggal=day, jenis_kelamin=sex, region_id=region, dusun=dusun,
        other_region_id=other_region, other_dusun=other_dusun, **extra,
    )  # fmt: skip


@pytest.fixture
def november():
    """Desa A, dusun Mekar and Sari. On 1 November Mekar had three men and two women, Sari
    nobody. In November: a girl born in Mekar, a man of Mekar died, a man moved from Mekar
    to a household in Sari, a woman moved from Mekar to a household in desa B. On 3
    October a woman moved out (before the month); on 1 December a woman moved into Sari
    from outside (after it). A birth in desa B belongs to B's report only."""
    mekar = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Mekar")
    sari = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Sari")
    in_b = HouseholdFactory(region_id=BABULU_DESA, dusun="Damai")
    # Now, in the record (each factory household has a male head): the head and his wife
    # of Mekar, the girl born there; in Sari the man who moved in from Mekar (its head)
    # and the woman from outside; in B its head and the woman from Mekar.
    MemberFactory(household=mekar, jenis_kelamin=P, hubungan_keluarga=3)
    MemberFactory(household=mekar, jenis_kelamin=P, hubungan_keluarga=4,
                  tanggal_lahir=dt.date(2026, 11, 5))  # fmt: skip
    MemberFactory(
        household=mekar, jenis_kelamin=L, hubungan_keluarga=7,
        status_anggota=MemberStatus.DIED, tanggal_status=dt.date(2026, 11, 10),
    )  # fmt: skip
    MemberFactory(
        household=mekar, jenis_kelamin=P, hubungan_keluarga=4,
        status_anggota=MemberStatus.MOVED_OUT, tanggal_status=dt.date(2026, 10, 3),
    )  # fmt: skip
    MemberFactory(household=sari, jenis_kelamin=P, hubungan_keluarga=9)
    MemberFactory(household=in_b, jenis_kelamin=P, hubungan_keluarga=3)

    event(EventKind.MOVED_OUT, dt.date(2026, 10, 3), P)
    event(EventKind.BIRTH, dt.date(2026, 11, 5), P)
    event(EventKind.DEATH, dt.date(2026, 11, 10), L)
    event(EventKind.TRANSFER, dt.date(2026, 11, 20), L, other=(PENAJAM_KELURAHAN, "Sari"))
    event(EventKind.TRANSFER, dt.date(2026, 11, 25), P, other=(BABULU_DESA, "Damai"))
    event(EventKind.MOVED_IN, dt.date(2026, 12, 1), P, dusun="Sari")
    event(EventKind.BIRTH, dt.date(2026, 11, 7), L, region=BABULU_DESA, dusun="Damai")


def rows(report):
    return {row.dusun: row for row in report.rows}


def test_november_by_dusun_matches_the_month_worked_out_by_hand(november):
    report = population_report(village_code=PENAJAM_KELURAHAN, year=2026, month=11)
    mekar, sari = rows(report)["Mekar"], rows(report)["Sari"]
    assert mekar.start == {L: 3, P: 2}
    assert mekar.flows["lahir"] == {L: 0, P: 1}
    assert mekar.flows["meninggal"] == {L: 1, P: 0}
    assert mekar.flows["pindah"] == {L: 0, P: 1}  # to desa B
    assert mekar.flows["datang"] == {L: 0, P: 0}
    assert mekar.flows["antar_dusun"] == {L: -1, P: 0}
    assert mekar.end == {L: 1, P: 2}
    # Sari: empty on 1 November, the man from Mekar by its end; December's arrival is not
    # November's.
    assert sari.start == {L: 0, P: 0}
    assert sari.flows["antar_dusun"] == {L: 1, P: 0}
    assert sari.end == {L: 1, P: 0}
    # The village: moves between its dusun cancel out.
    assert report.total.start == {L: 3, P: 2}
    assert report.total.flows["antar_dusun"] == {L: 0, P: 0}
    assert report.total.end == {L: 2, P: 2}


def test_every_row_satisfies_start_plus_flows_equals_end(november):
    for month in (10, 11, 12):
        report = population_report(village_code=PENAJAM_KELURAHAN, year=2026, month=month)
        for row in [*report.rows, report.total]:
            for sex in (L, P):
                flows = row.flows
                assert (
                    row.start[sex] + flows["lahir"][sex] - flows["meninggal"][sex]
                    + flows["datang"][sex] - flows["pindah"][sex] + flows["antar_dusun"][sex]
                    == row.end[sex]
                ), (month, row.dusun, sex)  # fmt: skip


def test_the_other_village_counts_the_arrival_and_its_own_birth(november):
    report = population_report(village_code=BABULU_DESA, year=2026, month=11)
    damai = rows(report)["Damai"]
    assert damai.flows["datang"] == {L: 0, P: 1}
    assert damai.flows["lahir"] == {L: 1, P: 0}
    assert damai.start == {L: 0, P: 0}
    assert damai.end == {L: 1, P: 1}


def test_december_starts_where_november_ends(november):
    nov = population_report(village_code=PENAJAM_KELURAHAN, year=2026, month=11)
    dec = population_report(village_code=PENAJAM_KELURAHAN, year=2026, month=12)
    assert {r.dusun: r.end for r in nov.rows} == {r.dusun: r.start for r in dec.rows}
    assert rows(dec)["Sari"].flows["datang"] == {L: 0, P: 1}


def test_report_month_refuses_the_future_and_malformed_months():
    today = dt.date(2026, 12, 2)
    assert report_month("2026-11", today=today) == (2026, 11)
    assert report_month(None, today=today) == (2026, 12)
    for bad in ("2027-01", "2026-13", "november", "2026", "1800-01"):
        with pytest.raises(MonthNotReportable):
            report_month(bad, today=today)


@pytest.mark.parametrize(
    "role, status",
    [("operator_a", 200), ("admin", 200), ("analyst", 200), ("operator_b", 404),
     ("official", 404), ("analyst_waru", 404), ("norole", 404)],
)  # fmt: skip
def test_report_page_is_for_roles_with_names_of_the_village(
    november, personas, as_user, role, status
):
    response = as_user(personas[role]).get(
        f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk/?bulan=2026-11"
    )
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "Mekar" in html and "Sari" in html and "Damai" not in html


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk/")
    assert response.status_code == 302 and "/masuk/" in response["Location"]


def test_bad_month_is_a_clear_error_not_a_server_error(november, personas, as_user):
    client = as_user(personas["operator_a"])
    page = client.get(f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk/?bulan=2026-13")
    assert page.status_code == 400
    assert "Bulan tidak valid: 2026-13" in page.content.decode()
    file = client.get(f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk.xlsx?bulan=2099-01")
    assert file.status_code == 400


def test_xlsx_holds_the_same_numbers_as_the_page(november, personas, as_user):
    response = as_user(personas["operator_a"]).get(
        f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk.xlsx?bulan=2026-11"
    )
    assert response.status_code == 200
    assert "laporan-penduduk-64.09.01.1001-2026-11.xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    table = {row[0]: list(row[1:]) for row in sheet.iter_rows(values_only=True) if row}
    # start L, P, total; lahir, meninggal, datang, pindah, antar dusun (L, P); end L, P, total
    assert table["Mekar"] == [3, 2, 5, 0, 1, 1, 0, 0, 0, 0, 1, -1, 0, 1, 2, 3]
    assert table["Jumlah desa/kelurahan"] == [3, 2, 5, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 2, 2, 4]


def test_pdf_is_one_landscape_page_with_the_village_total(november, personas, as_user, tmp_path):
    response = as_user(personas["operator_a"]).get(
        f"/desa/{PENAJAM_KELURAHAN}/laporan-penduduk.pdf?bulan=2026-11"
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(  # noqa: S603 - our own file, fixed arguments
        [shutil.which("pdftotext"), "-layout", str(path), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Mekar" in text and "Jumlah desa/kelurahan" in text
    info = subprocess.run(  # noqa: S603
        [shutil.which("pdfinfo"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"Pages:\s+1\n", info)
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert width > height  # A4 landscape


def test_village_page_links_the_report_for_roles_with_names_only(personas, as_user):
    url = f"/desa/{PENAJAM_KELURAHAN}/"
    assert "population-report-link" in as_user(personas["operator_a"]).get(url).content.decode()
    assert "population-report-link" not in as_user(personas["official"]).get(url).content.decode()


def test_events_recorded_by_the_services_reach_the_report():
    """A birth, a death and a move to another village recorded the way operators record
    them (the services), counted in this month's report of both villages."""
    today = dt.date.today()
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Mekar", tanggal_survei=today)
    away = HouseholdFactory(region_id=BABULU_DESA, dusun="Damai", tanggal_survei=today)
    grandfather = MemberFactory(household=home, hubungan_keluarga=7, jenis_kelamin=L)
    daughter = MemberFactory(household=home, hubungan_keluarga=4, jenis_kelamin=P)
    home.refresh_from_db()
    member_birth_record(
        household_queryset=Household.objects.all(), household_pk=home.pk,
        expected_version=home.versi, name="Bayi Uji", sex=P, date=today,
    )  # fmt: skip
    member_event_record(
        queryset=Member.objects.all(), pk=grandfather.pk, kind="meninggal", date=today,
        expected_version=grandfather.versi,
    )  # fmt: skip
    daughter.refresh_from_db()
    member_transfer_record(
        queryset=Member.objects.all(), pk=daughter.pk, target_queryset=Household.objects.all(),
        target_pk=away.pk, expected_version=daughter.versi, date=today,
    )  # fmt: skip

    report = population_report(village_code=PENAJAM_KELURAHAN, year=today.year, month=today.month)
    mekar = rows(report)["Mekar"]
    assert mekar.flows["lahir"] == {L: 0, P: 1}
    assert mekar.flows["meninggal"] == {L: 1, P: 0}
    assert mekar.flows["pindah"] == {L: 0, P: 1}
    # Head, grandfather and daughter at the start; head and the baby at the end.
    assert mekar.start == {L: 2, P: 1} and mekar.end == {L: 1, P: 1}
    other = population_report(village_code=BABULU_DESA, year=today.year, month=today.month)
    assert rows(other)["Damai"].flows["datang"] == {L: 0, P: 1}
