"""The SQL-written CSV export gives exactly what the row-by-row export gives."""

import csv
import io
import threading

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction

from desapresisi.access import Disclosure
from desapresisi.masking import mask_number
from households.exports import csv_sql
from households.exports import rows as export_rows
from households.models import Household, Member
from households.models import Household as H
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

DISCLOSURES = [
    Disclosure(names=True, unmasked=True),
    Disclosure(names=True, unmasked=False),
    Disclosure(names=False, unmasked=False),
]


def parsed(pieces) -> list[list[str]]:
    pieces = list(pieces)
    text = b"".join(pieces).decode() if isinstance(pieces[0], bytes) else "".join(pieces)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


FORMULA_ADDRESS = '=HYPERLINK("http://contoh.example/x","klik")'


@pytest.fixture
def awkward():
    """Households and members with every kind of value a CSV writer can get wrong."""
    homes = [
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, alamat='Jl. "Baru", No. 5\nBlok A'),
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, alamat="", dusun="", rt="", rw="",
                         desil_kesejahteraan=None, desil_sumber="", tangki_septik_disedot=None,
                         fasilitas_bab=6, jenis_kloset=None, pembuangan_tinja=None),
        HouseholdFactory(region_id=BABULU_DESA, lokasi=Point(116.0, -1.5, srid=4326),
                         penerima_pkh=True, alamat="Gang Mawar, RT 3"),
        HouseholdFactory(region_id=BABULU_DESA, lokasi=None),
    ]  # fmt: skip
    MemberFactory(household=homes[0], nama='Siti, "Ani"', hubungan_keluarga=3)
    MemberFactory(household=homes[2], nama="Budi", hubungan_keluarga=4, pekerjaan="")
    # Text a spreadsheet would read as a formula (OWASP CSV injection), beside numbers that
    # start the same way (negative coordinates), which must stay numbers.
    formula = HouseholdFactory(region_id=BABULU_DESA, alamat=FORMULA_ADDRESS, dusun="-2",
                               lokasi=Point(116.4, -1.3, srid=4326))  # fmt: skip
    homes.append(formula)
    MemberFactory(household=formula, nama="@SUM(1)", pekerjaan="+1", hubungan_keluarga=3)
    MemberFactory(household=formula, nama="\t=1", pekerjaan="\r=1", hubungan_keluarga=4)
    return homes


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("disclosure", DISCLOSURES)
def test_households_csv_from_sql_equals_the_row_export(awkward, disclosure, language):
    queryset = Household.objects.all()
    rows = export_rows.household_rows(queryset=queryset, disclosure=disclosure, language=language)
    expected = parsed(export_rows.csv_stream(headers=export_rows.household_headers(), rows=rows))
    got = parsed(csv_sql.household_csv(queryset=queryset, disclosure=disclosure,
                                       language=language))  # fmt: skip
    assert len(got) == len(awkward) + 1
    assert got == expected


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("disclosure", DISCLOSURES)
def test_members_csv_from_sql_equals_the_row_export(awkward, disclosure, language):
    queryset = Member.objects.all()
    rows = export_rows.member_rows(queryset=queryset, disclosure=disclosure, language=language)
    expected = parsed(export_rows.csv_stream(headers=export_rows.member_headers(), rows=rows))
    got = parsed(csv_sql.member_csv(queryset=queryset, disclosure=disclosure, language=language))
    assert len(got) == Member.objects.count() + 1
    assert got == expected


def test_masked_numbers_follow_mask_number(awkward):
    got = parsed(
        csv_sql.household_csv(
            queryset=Household.objects.order_by("id"),
            disclosure=Disclosure(names=True, unmasked=False),
            language="id",
        )
    )
    column = got[0].index("no_kk")
    numbers = list(Household.objects.order_by("id").values_list("no_kk", flat=True))
    assert [row[column] for row in got[1:]] == [mask_number(number) for number in numbers]


@pytest.mark.django_db(transaction=True)
def test_a_client_leaving_mid_export_stops_the_copy(monkeypatch):
    with transaction.atomic():  # a household and its head commit together
        for _ in range(40):
            HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    monkeypatch.setattr(csv_sql, "CHUNK_BYTES", 200)
    monkeypatch.setattr(csv_sql, "QUEUE_CHUNKS", 1)
    flushes = []
    flush = csv_sql._Sink.flush
    monkeypatch.setattr(csv_sql._Sink, "flush", lambda sink: flushes.append(1) or flush(sink))
    stream = csv_sql.household_csv(
        queryset=H.objects.all(), disclosure=Disclosure(names=True, unmasked=False), language="id"
    )
    first = [next(stream), next(stream)]
    assert first[0].startswith("\ufeff".encode()) and first[1]
    stream.close()  # what Django does when the client disconnects
    assert not any(thread.name == "csv-copy" for thread in threading.enumerate())
    assert len(flushes) < 10  # of about 100 chunks in the whole file: it stopped early
    assert H.objects.count() == 40  # the connection was closed and comes back clean


@pytest.mark.parametrize("disclosure", DISCLOSURES)
def test_csv_from_sql_neutralises_formula_text_and_keeps_numbers(awkward, disclosure):
    households = parsed(
        csv_sql.household_csv(
            queryset=Household.objects.all(), disclosure=disclosure, language="id"
        )
    )
    members = parsed(
        csv_sql.member_csv(queryset=Member.objects.all(), disclosure=disclosure, language="id")
    )
    for table in (households, members):
        for row in table[1:]:
            for value in row:
                if value.startswith(export_rows.FORMULA_STARTS):
                    float(value)  # only a number may start so: a negative coordinate
    header = households[0]
    row = next(r for r in households[1:] if r[header.index("dusun")] == "'-2")
    if disclosure.names:
        assert row[header.index("alamat")] == "'" + FORMULA_ADDRESS
        names = {r[members[0].index("nama")] for r in members[1:]}
        assert {"'@SUM(1)", "'\t=1"} <= names
        jobs = {r[members[0].index("pekerjaan")] for r in members[1:]}
        assert {"'+1", "'\r=1"} <= jobs
    assert float(row[header.index("lintang")]) == -1.3
