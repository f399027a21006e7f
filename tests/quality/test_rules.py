"""Every built-in quality rule: a record that triggers it and one that does not, each
through the rule's one SQL check (quality/checks.py) as the refresh runs it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.gis.geos import Point

from households.models import Household, IndicatorValue, Member, RoundSource, SurveyRound
from quality.models import Flag, Rule
from quality.services import flags_refresh
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
    point_in_village,
)

pytestmark = pytest.mark.django_db

V = PENAJAM_KELURAHAN
SURVEY = dt.date(2025, 10, 15)


def flagged(rule: str, village: str = V) -> set[str]:
    flags_refresh(villages=[village])
    return set(Flag.objects.filter(rule_id=rule).values_list("record_key", flat=True))


def hkey(household) -> str:
    return f"household:{household.pk}"


def mkey(member) -> str:
    return f"member:{member.pk}"


def flag(rule: str, key: str) -> Flag:
    return Flag.objects.get(rule_id=rule, record_key=key)


def head_of(household) -> Member:
    return household.members.get(hubungan_keluarga=1)


def test_every_shipped_rule_is_loaded_with_both_languages():
    rules = Rule.objects.all()
    assert rules.count() == 14
    assert all(rule.name_id and rule.name_en and rule.description_en for rule in rules)


def test_point_outside_its_village():
    outside = HouseholdFactory()
    Household.objects.filter(pk=outside.pk).update(lokasi=point_in_village(BABULU_DESA, 1))
    inside = HouseholdFactory()
    found = flagged("titik_luar_desa")
    assert hkey(outside) in found
    assert hkey(inside) not in found


def test_many_households_on_one_point():
    crowded = [HouseholdFactory() for _ in range(5)]
    pair = [HouseholdFactory() for _ in range(4)]
    Household.objects.filter(pk__in=[h.pk for h in crowded]).update(lokasi=point_in_village(V, 7))
    Household.objects.filter(pk__in=[h.pk for h in pair]).update(lokasi=point_in_village(V, 8))
    found = flagged("titik_bertumpuk")
    assert {hkey(h) for h in crowded} <= found
    assert not {hkey(h) for h in pair} & found


def test_household_size_above_the_bound_from_the_rules_parameters():
    Rule.objects.filter(code="anggota_terlalu_banyak").update(parameters={"maksimum": 3})
    large, fitting = HouseholdFactory(), HouseholdFactory()
    for _ in range(3):
        MemberFactory(household=large)
    for _ in range(2):
        MemberFactory(household=fitting)
    found = flagged("anggota_terlalu_banyak")
    assert hkey(large) in found
    assert hkey(fitting) not in found


def test_head_younger_than_15():
    young = HouseholdFactory(head__tanggal_lahir=dt.date(2011, 1, 1))  # 14 at the survey
    fifteen = HouseholdFactory(head__tanggal_lahir=dt.date(2010, 10, 15))
    found = flagged("kepala_di_bawah_umur")
    assert mkey(head_of(young)) in found
    assert mkey(head_of(fifteen)) not in found


def test_child_older_than_a_parent():
    household = HouseholdFactory(head__tanggal_lahir=dt.date(1985, 3, 9))
    impossible = MemberFactory(household=household, tanggal_lahir=dt.date(1990, 1, 1))
    plausible = MemberFactory(household=household, tanggal_lahir=dt.date(2010, 1, 1))
    found = flagged("anak_lebih_tua")
    assert mkey(impossible) in found
    assert mkey(plausible) not in found


def test_birth_date_or_sex_contradicting_the_nik():
    household = HouseholdFactory()
    birth = dt.date(1990, 6, 1)
    wrong_date = MemberFactory(
        household=household, tanggal_lahir=birth, nik=nik_for(V, dt.date(1991, 6, 1), 1, 9101)
    )
    wrong_sex = MemberFactory(
        household=household,
        tanggal_lahir=birth,
        jenis_kelamin=2,
        nik=nik_for(V, birth, 1, 9102),
    )
    right = MemberFactory(
        household=household, tanggal_lahir=birth, jenis_kelamin=2, nik=nik_for(V, birth, 2, 9103)
    )
    temporary = MemberFactory(household=household, nik="0" + "1" * 15)
    found = flagged("nik_tidak_cocok")
    assert {mkey(wrong_date), mkey(wrong_sex)} <= found
    assert not {mkey(right), mkey(temporary)} & found
    assert flag("nik_tidak_cocok", mkey(wrong_sex)).details == {"jawaban": "jenis_kelamin"}


def test_survey_date_in_the_future_or_outside_every_round():
    SurveyRound.objects.create(
        code="2025-pendataan",
        name="Pendataan 2025",
        source=RoundSource.CENSUS,
        reference_date=dt.date(2025, 10, 1),
        fieldwork_start=dt.date(2025, 9, 1),
        fieldwork_end=dt.date(2025, 12, 31),
    )
    future, early, within = HouseholdFactory(), HouseholdFactory(), HouseholdFactory()
    Household.objects.filter(pk=future.pk).update(
        tanggal_survei=dt.date.today() + dt.timedelta(days=30)
    )
    Household.objects.filter(pk=early.pk).update(tanggal_survei=dt.date(2025, 6, 1))
    found = flagged("tanggal_survei")
    assert {hkey(future), hkey(early)} <= found
    assert hkey(within) not in found
    assert flag("tanggal_survei", hkey(early)).details == {"alasan": "di_luar_putaran"}


def test_out_of_school_child_outside_the_7_to_18_band():
    household = HouseholdFactory()
    left_at_five = MemberFactory(household=household, tanggal_lahir=dt.date(2020, 5, 1))
    out_at_ten = MemberFactory(household=household, tanggal_lahir=dt.date(2015, 5, 1))
    never_at_five = MemberFactory(
        household=household,
        tanggal_lahir=dt.date(2020, 6, 1),
        partisipasi_sekolah=1,
        jenjang_pendidikan=None,
        ijazah_tertinggi=None,
    )
    found = flagged("putus_sekolah_usia")
    assert mkey(left_at_five) in found
    assert not {mkey(out_at_ten), mkey(never_at_five)} & found


def test_aid_recipient_in_the_top_deciles():
    rich_with_aid = HouseholdFactory(desil_kesejahteraan=10, penerima_pkh=True)
    rich_without = HouseholdFactory(desil_kesejahteraan=10)
    middle_with_aid = HouseholdFactory(desil_kesejahteraan=5, penerima_pkh=True)
    found = flagged("bansos_desil_atas")
    assert hkey(rich_with_aid) in found
    assert not {hkey(rich_without), hkey(middle_with_aid)} & found


def test_bottom_decile_without_aid():
    poor_without = HouseholdFactory(desil_kesejahteraan=1)
    poor_with = HouseholdFactory(desil_kesejahteraan=2, penerima_bpnt=True)
    found = flagged("desil_bawah_tanpa_bansos")
    assert hkey(poor_without) in found
    assert hkey(poor_with) not in found


def test_likely_the_same_person_in_two_households():
    first, second = HouseholdFactory(), HouseholdFactory()
    born = dt.date(1990, 5, 5)
    one = MemberFactory(household=first, nama="Siti Aminah", tanggal_lahir=born)
    variant = MemberFactory(household=second, nama="Siti Aminnah", tanggal_lahir=born)
    other_day = MemberFactory(
        household=second, nama="Siti Aminah", tanggal_lahir=dt.date(1990, 5, 6)
    )
    elsewhere = MemberFactory(
        household=HouseholdFactory(region_id=BABULU_DESA), nama="Siti Aminah", tanggal_lahir=born
    )
    found = flagged("duplikat_orang")
    assert {mkey(one), mkey(variant)} <= found
    assert mkey(other_day) not in found
    # Another village's record is never named to this one.
    assert mkey(elsewhere) not in found
    assert flag("duplikat_orang", mkey(one)).details["anggota_lain"] == variant.pk


def test_likely_duplicate_household():
    here = point_in_village(V, 11)
    near = Point(here.x + 0.0001, here.y, srid=4326)  # about 11 m east
    far = Point(here.x + 0.01, here.y, srid=4326)  # about 1.1 km
    one = HouseholdFactory(lokasi=here, head__nama="Ahmad Yani")
    twin = HouseholdFactory(lokasi=near, head__nama="Achmad Yani")
    namesake_far = HouseholdFactory(lokasi=far, head__nama="Ahmad Yani")
    neighbour = HouseholdFactory(lokasi=near, head__nama="Budi Santoso")
    found = flagged("duplikat_rumah_tangga")
    assert {hkey(one), hkey(twin)} <= found
    assert not {hkey(namesake_far), hkey(neighbour)} & found


def _values(indicator: str, period: str, values: dict[str, float]) -> None:
    for code, value in values.items():
        IndicatorValue.objects.create(
            indicator_id=indicator,
            region_id=code,
            period=period,
            numerator=value,
            denominator=100,
            value=value,
        )


KECAMATAN_VILLAGES = [f"64.09.01.{n}" for n in ("1001", "1002", "1003", "1004", "1005", "1006")]


def test_indicator_value_far_from_its_sibling_villages():
    values = dict(zip(KECAMATAN_VILLAGES, [10, 11, 12, 10, 11, 80], strict=True))
    _values("babs", "2025", values)
    flags_refresh(villages=[KECAMATAN_VILLAGES[0]])
    found = set(Flag.objects.filter(rule_id="pencilan_wilayah").values_list("region_id", flat=True))
    assert found == {KECAMATAN_VILLAGES[5]}


def test_jump_between_periods():
    jumping, steady = KECAMATAN_VILLAGES[:2]
    _values("babs", "2024", {jumping: 10, steady: 10})
    _values("babs", "2025", {jumping: 45, steady: 15})
    flags_refresh(villages=[jumping])
    flags = Flag.objects.filter(rule_id="lonjakan_putaran")
    assert list(flags.values_list("region_id", "period")) == [(jumping, "2025")]
    assert flags.get().details["periode_sebelumnya"] == "2024"
