"""The indicator engine: values checked against counts written independently here,
in plain Python over the objects the test made (not the engine's SQL)."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from households.indicators.rollup import indicators_refresh
from households.indicators.spec import validate_spec
from households.models import Household, Indicator, IndicatorValue, Member
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

SEPAKU_DESA = "64.09.04.2001"
SURVEY = dt.date(2025, 10, 15)


def age(birth: dt.date, at: dt.date = SURVEY) -> int:
    return at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))


def child(household, born, participation, certificate=None, level=None, sex=1):
    return MemberFactory(
        household=household,
        tanggal_lahir=born,
        jenis_kelamin=sex,
        partisipasi_sekolah=participation,
        jenjang_pendidikan=level if participation in (2, 3) else None,
        ijazah_tertinggi=certificate,
    )


@pytest.fixture
def census():
    """A dozen households over three villages in three kecamatan, with varied answers."""
    rows = [
        (PENAJAM_KELURAHAN, {"fasilitas_bab": 1, "desil_kesejahteraan": 7}),
        (PENAJAM_KELURAHAN, {"fasilitas_bab": 6, "jenis_kloset": None, "pembuangan_tinja": None,
                             "desil_kesejahteraan": 2}),
        (PENAJAM_KELURAHAN, {"fasilitas_bab": 2, "sumber_air_minum": 2, "sumber_air_mandi": 9,
                             "desil_kesejahteraan": None, "desil_sumber": ""}),
        (PENAJAM_KELURAHAN, {"lantai": 8, "desil_kesejahteraan": 1}),
        (BABULU_DESA, {"fasilitas_bab": 5, "jenis_kloset": None, "desil_kesejahteraan": 4}),
        (BABULU_DESA, {"fasilitas_bab": 1, "pembuangan_tinja": 4, "desil_kesejahteraan": 5}),
        (BABULU_DESA, {"fasilitas_bab": 6, "jenis_kloset": None, "pembuangan_tinja": None,
                       "desil_kesejahteraan": 1, "dinding": 6}),
        (BABULU_DESA, {"sumber_air_minum": 5, "jarak_sumber_air_tinja": 1}),
        (SEPAKU_DESA, {"fasilitas_bab": 4, "jenis_kloset": None, "desil_kesejahteraan": 3}),
        (SEPAKU_DESA, {"sumber_air_minum": 9, "atap": 7, "desil_kesejahteraan": 9}),
        (SEPAKU_DESA, {"pembuangan_tinja": 2, "desil_kesejahteraan": 8}),
        (SEPAKU_DESA, {"fasilitas_bab": 1, "jenis_kloset": 4,
                       "tanggal_survei": dt.date(2024, 8, 1)}),
    ]  # fmt: skip
    households = [HouseholdFactory(region_id=region, **answers) for region, answers in rows]
    first, second, _, fourth, fifth, *_ = households
    child(first, dt.date(2015, 3, 1), 2, certificate=23, level=3)  # 10, in school
    child(first, dt.date(2011, 2, 1), 3, certificate=3, level=8)  # 14, left without SMP
    child(second, dt.date(2016, 6, 1), 1)  # 9, never attended
    child(second, dt.date(2008, 1, 5), 3, certificate=8, level=13, sex=2)  # 17, left without SMA
    child(fourth, dt.date(2007, 9, 1), 3, certificate=13, level=13)  # 18, finished SMA
    child(fifth, dt.date(2013, 12, 1), 3, certificate=23, level=3)  # 11, left without SD
    child(fifth, dt.date(2007, 11, 1), 2, certificate=8, level=13)  # 17 on survey day
    child(fifth, dt.date(2020, 1, 1), None)  # 5, too young
    indicators_refresh(full=True)
    return households


def expected_household_counts(code: str, households) -> tuple[float, float | None]:
    """Independent Python reading of each household indicator."""
    hs = [Household.objects.get(pk=h.pk) for h in households]  # read derived values back

    def share(selected, base):
        return float(sum(1 for h in hs if base(h) and selected(h))), float(
            sum(1 for h in hs if base(h))
        )

    def on_rung(level):
        return (lambda h: h.tangga_sanitasi == level), (lambda h: h.tangga_sanitasi is not None)

    ranked = lambda h: h.desil_kesejahteraan is not None  # noqa: E731
    answered = lambda h: h.fasilitas_bab is not None  # noqa: E731
    rules = {
        "jumlah_rumah_tangga": lambda: (float(len(hs)), None),
        "rata_rata_anggota": lambda: (float(sum(h.members.count() for h in hs)), float(len(hs))),
        "tanpa_jamban": lambda: share(lambda h: h.fasilitas_bab == 6, answered),
        "babs": lambda: share(lambda h: h.fasilitas_bab in (5, 6), answered),
        "sanitasi_layak": lambda: share(
            lambda h: (
                h.fasilitas_bab == 1
                and h.jenis_kloset == 1
                and (
                    h.pembuangan_tinja in (1, 2)
                    or (h.pembuangan_tinja == 4 and h.region_id[9] == "2")
                )
            ),
            lambda h: h.tangga_sanitasi is not None,
        ),
        "air_minum_layak": lambda: share(
            lambda h: (
                (h.sumber_air_minum in (3, 10))
                or (h.sumber_air_minum in (4, 5, 7) and h.jarak_sumber_air_tinja != 1)
                or (h.sumber_air_minum in (1, 2) and h.sumber_air_mandi in (3, 4, 5, 7, 10))
            ),
            lambda h: h.sumber_air_minum is not None,
        ),
        "sanitasi_belum_layak": lambda: share(*on_rung(1)),
        "sanitasi_layak_bersama": lambda: share(*on_rung(2)),
        "sanitasi_layak_sendiri": lambda: share(*on_rung(3)),
        "sanitasi_aman": lambda: share(*on_rung(4)),
        "rtlh": lambda: share(
            lambda h: h.lantai == 8 or h.dinding in (4, 5, 6) or h.atap == 7, lambda h: True
        ),
        "desil_1": lambda: share(lambda h: h.desil_kesejahteraan == 1, ranked),
        "desil_1_4": lambda: share(lambda h: h.desil_kesejahteraan <= 4, ranked),
        "miskin_tanpa_jamban": lambda: share(
            lambda h: h.desil_kesejahteraan <= 4 and h.fasilitas_bab == 6,
            lambda h: ranked(h) and answered(h),
        ),
    }
    return rules[code]()


def expected_member_counts(code: str, households) -> tuple[float, float | None]:
    members = [
        (m, age(m.tanggal_lahir, h.tanggal_survei))
        for h in households
        for m in Member.objects.filter(household=h)
    ]
    if code == "jumlah_jiwa":
        return float(len(members)), None
    bands = {"ats_7_12": (7, 12), "ats_13_15": (13, 15), "ats_16_18": (16, 18), "ats_7_18": (7, 18)}
    if code in bands:
        low, high = bands[code]
        in_band = [m for m, a in members if low <= a <= high]
        out = [m for m in in_band if m.partisipasi_sekolah in (1, 3)]
        return float(len(out)), float(len(in_band))
    assert code == "putus_sekolah_7_18"
    band_certificate = [((7, 12), 1), ((13, 15), 6), ((16, 18), 11)]
    dropouts = 0
    for member, years in members:
        for (low, high), needed in band_certificate:
            has_it = member.ijazah_tertinggi is not None and needed <= member.ijazah_tertinggi <= 22
            if low <= years <= high and member.partisipasi_sekolah == 3 and not has_it:
                dropouts += 1
    return float(dropouts), float(sum(1 for _, a in members if 7 <= a <= 18))


HOUSEHOLD_INDICATORS = [
    "jumlah_rumah_tangga", "rata_rata_anggota", "tanpa_jamban", "babs", "sanitasi_layak",
    "air_minum_layak", "rtlh", "desil_1", "desil_1_4", "miskin_tanpa_jamban",
    "sanitasi_belum_layak", "sanitasi_layak_bersama", "sanitasi_layak_sendiri", "sanitasi_aman",
]  # fmt: skip
MEMBER_INDICATORS = ["jumlah_jiwa", "ats_7_12", "ats_13_15", "ats_16_18", "ats_7_18",
                     "putus_sekolah_7_18"]  # fmt: skip


def test_every_seeded_indicator_is_checked_here():
    assert set(Indicator.objects.values_list("code", flat=True)) == set(
        HOUSEHOLD_INDICATORS + MEMBER_INDICATORS
    )


@pytest.mark.parametrize("code", HOUSEHOLD_INDICATORS + MEMBER_INDICATORS)
def test_village_values_match_an_independent_count(census, code):
    for region in (PENAJAM_KELURAHAN, BABULU_DESA, SEPAKU_DESA):
        for period in ("2024", "2025"):
            households = [
                h for h in census if h.region_id == region and str(h.tanggal_survei.year) == period
            ]
            if not households:
                assert not IndicatorValue.objects.filter(region_id=region, period=period).exists()
                continue
            counter = (
                expected_member_counts if code in MEMBER_INDICATORS else expected_household_counts
            )
            numerator, denominator = counter(code, households)
            row = IndicatorValue.objects.get(indicator_id=code, region_id=region, period=period)
            assert (row.numerator, row.denominator) == (numerator, denominator), (region, period)
            factor = Indicator.objects.get(code=code).factor
            if denominator is None:
                assert row.value == numerator * factor
            elif denominator:
                assert row.value == pytest.approx(numerator / denominator * factor)
            else:
                assert row.value is None


def test_the_fixture_exercises_every_indicator(census):
    # Guard against a test that passes on zeros: every rate has a non-zero numerator.
    zero = IndicatorValue.objects.filter(region_id="64.09", period="2025", numerator=0)
    assert list(zero.values_list("indicator_id", flat=True)) == []


def test_higher_levels_are_sums_of_their_villages(census):
    for length, parent_length in ((8, 13), (5, 8), (2, 5)):
        for row in IndicatorValue.objects.filter(region__code__regex=rf"^.{{{length}}}$"):
            children = IndicatorValue.objects.filter(
                indicator_id=row.indicator_id,
                period=row.period,
                region__code__startswith=f"{row.region_id}.",
                region__code__regex=rf"^.{{{parent_length}}}$",
            )
            assert row.numerator == sum(c.numerator for c in children)
            if row.denominator is not None:
                assert row.denominator == sum(c.denominator for c in children)


def test_a_rate_is_never_an_average_of_rates(census):
    kabupaten = IndicatorValue.objects.get(
        indicator_id="tanpa_jamban", region_id="64.09", period="2025"
    )
    assert kabupaten.value == pytest.approx(kabupaten.numerator / kabupaten.denominator * 100)


def test_incremental_refresh_recomputes_only_the_touched_village(census):
    before = {
        (v.indicator_id, v.region_id, v.period): v.numerator for v in IndicatorValue.objects.all()
    }
    Household.objects.filter(pk=census[0].pk).update(fasilitas_bab=6, jenis_kloset=None)
    result = indicators_refresh()
    assert result.villages == 1
    after = {
        (v.indicator_id, v.region_id, v.period): v.numerator for v in IndicatorValue.objects.all()
    }
    changed = {key for key in before if before[key] != after.get(key)}
    assert changed == {
        ("tanpa_jamban", code, "2025") for code in (PENAJAM_KELURAHAN, "64.09.01", "64.09", "64")
    } | {
        (indicator, code, "2025")
        for indicator in ("babs", "sanitasi_layak", "sanitasi_layak_sendiri")
        for code in (PENAJAM_KELURAHAN, "64.09.01", "64.09", "64")
    }
    incremental = after
    indicators_refresh(full=True)
    full = {
        (v.indicator_id, v.region_id, v.period): v.numerator for v in IndicatorValue.objects.all()
    }
    assert incremental == full


def test_refresh_with_nothing_stale_does_nothing(census):
    assert indicators_refresh().villages == 0


def test_member_edits_mark_their_village_stale(census):
    Member.objects.filter(household=census[4], partisipasi_sekolah=3).update(partisipasi_sekolah=2)
    assert indicators_refresh().villages == 1
    value = IndicatorValue.objects.get(
        indicator_id="ats_7_12", region_id=BABULU_DESA, period="2025"
    )
    assert value.numerator == 0


def test_a_village_emptied_of_households_loses_its_values(census):
    Household.objects.filter(region_id=SEPAKU_DESA).delete()
    indicators_refresh()
    assert not IndicatorValue.objects.filter(region_id=SEPAKU_DESA).exists()
    assert not IndicatorValue.objects.filter(region_id="64.09.04").exists()


def test_a_new_indicator_needs_no_code_change(census):
    Indicator.objects.create(
        code="penerima_pkh", name_id="Penerima PKH", name_en="PKH recipients",
        topic="kesejahteraan", factor=100,
        numerator={"unit": "household", "where": {"penerima_pkh": True}},
        denominator={"unit": "household"},
    )  # fmt: skip
    Household.objects.filter(pk=census[1].pk).update(penerima_pkh=True)
    indicators_refresh(full=True)
    row = IndicatorValue.objects.get(indicator_id="penerima_pkh", region_id="64.09", period="2025")
    assert (row.numerator, row.denominator) == (1, 11)


@pytest.mark.parametrize(
    "spec",
    [
        {"unit": "village"},
        {"unit": "household", "where": {"no_kk__startswith": "64"}},
        {"unit": "household", "where": {"alamat": "x"}},
        {"unit": "member", "where": {"nik": "1"}},
        {"unit": "member", "where": {"household__no_kk": "1"}},
        {"unit": "household", "where": {"fasilitas_bab__regex": ".*"}},
        {"unit": "household", "where": {"fasilitas_bab__in": 6}},
        {"unit": "household", "aggregate": "sum", "field": "no_kk"},
        {"unit": "household", "any": [{"unit": "member"}]},
        {"unit": "household", "select": "1"},
        [],
    ],
)
def test_unsafe_or_malformed_specs_are_refused(spec):
    with pytest.raises(ValidationError):
        validate_spec(spec)


def test_indicator_clean_validates_specs():
    indicator = Indicator(code="x", name_id="x", name_en="x", topic="sanitasi",
                          numerator={"unit": "household", "where": {"nik": 1}})  # fmt: skip
    with pytest.raises(ValidationError):
        indicator.clean()


# --- One rule for children 7-18 out of school -------------------------------------------

ATS_BANDS = ("ats_7_12", "ats_13_15", "ats_16_18")


def out_of_school_by_village() -> dict[str, dict[tuple[str, str], float]]:
    """Per (village, period): the stored `jumlah_ats` summed, the `ats_7_18` numerator, and
    the numerators of its three age bands summed."""
    stored: dict[tuple[str, str], float] = {}
    for household in Household.objects.all():
        key = (household.region_id, str(household.tanggal_survei.year))
        stored[key] = stored.get(key, 0.0) + household.jumlah_ats
    villages = IndicatorValue.objects.filter(region__code__regex=r"^.{13}$")
    figure = {
        (v.region_id, v.period): v.numerator for v in villages.filter(indicator_id="ats_7_18")
    }
    bands: dict[tuple[str, str], float] = {}
    for value in villages.filter(indicator_id__in=ATS_BANDS):
        key = (value.region_id, value.period)
        bands[key] = bands.get(key, 0.0) + value.numerator
    return {"stored": stored, "ats_7_18": figure, "bands": bands}


def assert_out_of_school_agrees() -> float:
    found = out_of_school_by_village()
    assert found["ats_7_18"] == found["stored"]
    assert found["bands"] == found["stored"]
    return sum(found["stored"].values())


def test_out_of_school_figure_and_stored_count_agree_after_edits(census):
    assert assert_out_of_school_agrees() == 5
    first, second, _, fourth, fifth, *_ = census

    def born(household, date):
        return Member.objects.filter(household=household, tanggal_lahir=date)

    edits = [
        # the 17-year-old in school leaves it
        lambda: born(fifth, dt.date(2007, 11, 1)).update(partisipasi_sekolah=3),
        # a later survey date makes the 18-year-old 19 (and moves the household's period)
        lambda: Household.objects.filter(pk=fourth.pk).update(tanggal_survei=dt.date(2026, 11, 1)),
        # the nine-year-old moves to a household of another village
        lambda: born(second, dt.date(2016, 6, 1)).update(household=census[8]),
        lambda: born(first, dt.date(2011, 2, 1)).delete(),
    ]
    totals = []
    for edit in edits:
        edit()
        indicators_refresh()
        totals.append(assert_out_of_school_agrees())
    assert totals == [6, 5, 5, 4]


def test_changing_the_rule_moves_the_stored_count_and_the_figures_together(
    census, django_db_blocker
):
    """The rule lives in one SQL function: replace it (as a migration would, here inside the
    test's transaction), recount, and the stored counts and every ats figure follow."""

    assert assert_out_of_school_agrees() == 5
    with connection.cursor() as cursor:
        # Drop-outs only (412 = 3): the never-attended nine-year-old no longer counts.
        cursor.execute(
            """
            CREATE OR REPLACE FUNCTION public.households_child_out_of_school(
                partisipasi_sekolah smallint, tanggal_lahir date, tanggal_survei date
            ) RETURNS boolean LANGUAGE sql STABLE PARALLEL SAFE AS $$
                SELECT partisipasi_sekolah = 3
                   AND extract(year FROM age(tanggal_survei, tanggal_lahir)) BETWEEN 7 AND 18
            $$
            """
        )
        cursor.execute(
            "SELECT households_member_counts(ARRAY(SELECT id FROM households_household))"
        )
    indicators_refresh(full=True)
    assert assert_out_of_school_agrees() == 4
