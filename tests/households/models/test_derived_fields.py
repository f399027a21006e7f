"""Derived fields follow the raw answers and the members, whoever writes them."""

import datetime as dt

import pytest
from django.db import connection

from desapresisi.models import ChangeRecord
from households.models import Household, Member, SanitationLevel
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

BABS = SanitationLevel.OPEN_DEFECATION
UNIMPROVED = SanitationLevel.UNIMPROVED
LIMITED = SanitationLevel.LIMITED
BASIC = SanitationLevel.BASIC
SAFE = SanitationLevel.SAFELY_MANAGED


def ladder(region=PENAJAM_KELURAHAN, **answers):
    household = HouseholdFactory(region_id=region, **answers)
    household.refresh_from_db()
    return household.tangga_sanitasi


@pytest.mark.parametrize(
    "answers, expected",
    [
        # Open defecation: 309a in {5, 6}
        ({"fasilitas_bab": 5, "jenis_kloset": None, "pembuangan_tinja": 1}, BABS),
        ({"fasilitas_bab": 6, "jenis_kloset": None, "pembuangan_tinja": None}, BABS),
        # Unimproved: public facility, non-gooseneck toilet, or unsafe disposal
        ({"fasilitas_bab": 4, "jenis_kloset": None, "pembuangan_tinja": 1}, UNIMPROVED),
        ({"fasilitas_bab": 1, "jenis_kloset": 2, "pembuangan_tinja": 1}, UNIMPROVED),
        ({"fasilitas_bab": 1, "jenis_kloset": 3, "pembuangan_tinja": 1}, UNIMPROVED),
        ({"fasilitas_bab": 1, "jenis_kloset": 4, "pembuangan_tinja": 1}, UNIMPROVED),
        ({"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 3}, UNIMPROVED),
        ({"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 5}, UNIMPROVED),
        ({"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 6}, UNIMPROVED),
        # Limited: shared or communal with gooseneck and septic tank/IPAL
        ({"fasilitas_bab": 2, "jenis_kloset": 1, "pembuangan_tinja": 1}, LIMITED),
        ({"fasilitas_bab": 3, "jenis_kloset": 1, "pembuangan_tinja": 2}, LIMITED),
        # Basic: own facility with gooseneck and septic tank
        ({"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 1}, BASIC),
        # Safely managed only when recorded: IPAL, or a septic tank emptied in 5 years
        ({"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 2}, SAFE),
        (
            {
                "fasilitas_bab": 1,
                "jenis_kloset": 1,
                "pembuangan_tinja": 1,
                "tangki_septik_disedot": True,
            },
            SAFE,
        ),
        (
            {
                "fasilitas_bab": 1,
                "jenis_kloset": 1,
                "pembuangan_tinja": 1,
                "tangki_septik_disedot": False,
            },
            BASIC,
        ),
        # Unknown when the answers needed are missing
        ({"fasilitas_bab": None, "jenis_kloset": None, "pembuangan_tinja": None}, None),
        ({"fasilitas_bab": 1, "jenis_kloset": None, "pembuangan_tinja": 1}, None),
    ],
)
def test_sanitation_ladder_rule(answers, expected):
    assert ladder(**answers) == expected


def test_pit_disposal_is_unimproved_in_a_kelurahan():
    answers = {"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 4}
    assert ladder(region=PENAJAM_KELURAHAN, **answers) == UNIMPROVED


def test_pit_disposal_counts_as_basic_or_limited_in_a_desa():
    assert ladder(region=BABULU_DESA, fasilitas_bab=1, jenis_kloset=1, pembuangan_tinja=4) == BASIC
    assert (
        ladder(region=BABULU_DESA, fasilitas_bab=2, jenis_kloset=1, pembuangan_tinja=4) == LIMITED
    )


def water(**answers):
    household = HouseholdFactory(**answers)
    household.refresh_from_db()
    return household.air_minum_layak


@pytest.mark.parametrize(
    "answers, expected",
    [
        ({"sumber_air_minum": 3}, True),  # piped
        ({"sumber_air_minum": 10}, True),  # rainwater
        ({"sumber_air_minum": 4, "jarak_sumber_air_tinja": 2}, True),
        ({"sumber_air_minum": 5, "jarak_sumber_air_tinja": 1}, False),  # well < 10 m
        ({"sumber_air_minum": 7, "jarak_sumber_air_tinja": 1}, False),  # spring < 10 m
        ({"sumber_air_minum": 6, "jarak_sumber_air_tinja": 2}, False),  # unprotected well
        ({"sumber_air_minum": 9}, False),  # surface water
        ({"sumber_air_minum": 2, "sumber_air_mandi": 3}, True),  # refill, piped otherwise
        ({"sumber_air_minum": 1, "sumber_air_mandi": 9}, False),  # bottled, river otherwise
        ({"sumber_air_minum": 2, "sumber_air_mandi": None}, None),
        ({"sumber_air_minum": None}, None),
    ],
)
def test_improved_drinking_water_rule(answers, expected):
    assert water(**answers) is expected


@pytest.mark.parametrize(
    "answers, expected",
    [
        ({"lantai": 8}, True),
        ({"dinding": 4}, True),
        ({"dinding": 5}, True),
        ({"dinding": 6}, True),
        ({"atap": 7}, True),
        ({"lantai": 5, "dinding": 3, "atap": 3}, False),
        ({"lantai": None}, None),
    ],
)
def test_uninhabitable_house_rule(answers, expected):
    household = HouseholdFactory(**answers)
    household.refresh_from_db()
    assert household.rumah_tidak_layak_huni is expected


def test_derived_fields_follow_raw_sql_updates():
    household = HouseholdFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE households_household SET fasilitas_bab = 6, jenis_kloset = NULL WHERE id = %s",
            [household.pk],
        )
    household.refresh_from_db()
    assert household.tangga_sanitasi == BABS


def counts(household):
    household.refresh_from_db()
    return household.jumlah_anggota, household.jumlah_ats


def test_member_counts_follow_inserts_updates_and_deletes():
    household = HouseholdFactory()  # head, born 1985
    assert counts(household) == (1, 0)
    dropout = MemberFactory(
        household=household,
        tanggal_lahir=dt.date(2011, 5, 1),
        partisipasi_sekolah=3,
        jenjang_pendidikan=8,
        ijazah_tertinggi=3,
    )
    MemberFactory(
        household=household,
        tanggal_lahir=dt.date(2015, 5, 1),
        partisipasi_sekolah=2,
        jenjang_pendidikan=3,
        ijazah_tertinggi=23,
    )
    never = MemberFactory(
        household=household,
        tanggal_lahir=dt.date(2016, 1, 1),
        partisipasi_sekolah=1,
        jenjang_pendidikan=None,
        ijazah_tertinggi=None,
    )
    assert counts(household) == (4, 2)
    Member.objects.filter(pk=dropout.pk).update(partisipasi_sekolah=2)
    assert counts(household) == (4, 1)
    never.delete()
    assert counts(household) == (3, 0)


def test_out_of_school_age_is_taken_at_the_survey_date():
    household = HouseholdFactory(tanggal_survei=dt.date(2025, 10, 15))
    # 18 at the survey date, 19 a few months later
    MemberFactory(
        household=household,
        tanggal_lahir=dt.date(2007, 1, 10),
        partisipasi_sekolah=3,
        jenjang_pendidikan=8,
        ijazah_tertinggi=8,
    )
    assert counts(household) == (2, 1)
    Household.objects.filter(pk=household.pk).update(tanggal_survei=dt.date(2026, 2, 1))
    assert counts(household) == (2, 0)


def test_moving_a_member_updates_both_households():
    first, second = HouseholdFactory(), HouseholdFactory()
    child = MemberFactory(household=first)
    Member.objects.filter(pk=child.pk).update(household=second)
    assert counts(first)[0] == 1
    assert counts(second)[0] == 2


def test_history_records_real_changes_once_and_not_the_derived_counts():
    homes = [HouseholdFactory(region_id=PENAJAM_KELURAHAN) for _ in range(3)]
    before = ChangeRecord.objects.count()
    # A new member changes the household's counts (derived): a member record, no household one.
    MemberFactory(household=homes[0], hubungan_keluarga=3)
    added = list(ChangeRecord.objects.order_by("id")[before:].values("table", "action"))
    assert added == [{"table": "member", "action": "insert"}]
    # One statement over three rows, one recorded column changed in two of them.
    before = ChangeRecord.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE households_household SET rt = CASE WHEN id = %s THEN rt ELSE '099' END "
            "WHERE id = ANY(%s)",
            [homes[0].pk, [home.pk for home in homes]],
        )
    records = ChangeRecord.objects.order_by("id")[before:]
    assert sorted(record.row_id for record in records) == sorted(h.pk for h in homes[1:])
    for record, home in zip(
        sorted(records, key=lambda r: r.row_id), sorted(homes[1:], key=lambda h: h.pk), strict=True
    ):
        assert record.changes == {"rt": [home.rt, "099"]}


def test_member_counts_leave_the_household_version_and_a_survey_date_raises_it():
    household = HouseholdFactory()
    household.refresh_from_db()
    version = household.versi
    # jumlah_anggota and jumlah_ats change (a child out of school joins): not an edit
    child = MemberFactory(
        household=household,
        tanggal_lahir=dt.date(2016, 1, 1),
        partisipasi_sekolah=1,
        jenjang_pendidikan=None,
        ijazah_tertinggi=None,
    )
    assert counts(household) == (2, 1)
    assert household.versi == version
    Member.objects.filter(pk=child.pk).update(pekerjaan="Pelajar")
    household.refresh_from_db()
    assert household.versi == version
    assert Member.objects.get(pk=child.pk).versi == 2
    # the survey date is an answer, even though it recounts jumlah_ats too
    Household.objects.filter(pk=household.pk).update(tanggal_survei=dt.date(2035, 1, 1))
    assert counts(household) == (2, 0)
    assert household.versi == version + 1


def test_history_records_deletes_with_the_last_values():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    child = MemberFactory(household=household, hubungan_keluarga=3, nama="Anak Terakhir")
    before = ChangeRecord.objects.count()
    Household.objects.filter(pk=household.pk).delete()
    records = list(ChangeRecord.objects.order_by("id")[before:])
    assert sorted((r.table, r.action) for r in records) == [
        ("household", "delete"),
        ("member", "delete"),
        ("member", "delete"),
    ]
    member = next(r for r in records if r.row_id == child.pk and r.table == "member")
    assert member.household_id == household.pk
    assert member.changes["nama"] == ["Anak Terakhir", None]
    deleted = next(r for r in records if r.table == "household")
    assert deleted.changes["no_kk"] == [household.no_kk, None]
    assert "jumlah_anggota" not in deleted.changes  # derived columns are not history
