"""The rollup below the village: every indicator per dusun, RW and RT, checked against
counts written plainly here (households picked by their names, the same Python readings
as the village test), and the public's small-cell suppression per unit, including the
complementary cells that keep a hidden unit from being recovered by subtraction."""

from __future__ import annotations

import pytest
from django.db import connection

from households.indicators.rollup import indicators_refresh
from households.indicators.suppression import UnitCell, units_hidden
from households.models import Household, IndicatorValue, UnitIndicatorValue
from households.selectors import unit_indicator_values_for, village_units_for
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, village_units
from tests.households.indicators.test_indicators import (
    HOUSEHOLD_INDICATORS,
    MEMBER_INDICATORS,
    census,  # noqa: F401 - the fixture
    expected_household_counts,
    expected_member_counts,
)
from villages.services import unit_update

pytestmark = pytest.mark.django_db

TREE = {"Lingkungan I": {"001": ["001", "002"]}, "Lingkungan II": {"002": ["001"]}}
# Where the four households of the census fixture in Penajam live (the last: no dusun).
NAMES = [
    ("Lingkungan I", "001", "002"),
    ("Lingkungan I", "001", "001"),
    ("Lingkungan II", "002", "001"),
    ("", "", ""),
]


@pytest.fixture
def placed(census):  # noqa: F811 - the fixture above
    units = village_units(PENAJAM_KELURAHAN, TREE)
    homes = [h for h in census if h.region_id == PENAJAM_KELURAHAN]
    for home, (dusun, rw, rt) in zip(homes, NAMES, strict=True):
        Household.objects.filter(pk=home.pk).update(dusun=dusun, rw=rw, rt=rt)
    indicators_refresh()
    return units, [Household.objects.get(pk=h.pk) for h in homes]


def households_of(key: str, homes) -> list:
    """Plainly: the households whose names start with the unit's path."""
    path = tuple(key.split("/"))
    return [h for h in homes if (h.dusun, h.rw, h.rt)[: len(path)] == path]


@pytest.mark.parametrize("code", HOUSEHOLD_INDICATORS + MEMBER_INDICATORS)
def test_unit_values_match_a_plain_count(placed, code):
    units, homes = placed
    counter = expected_member_counts if code in MEMBER_INDICATORS else expected_household_counts
    for key, unit in units.items():
        chosen = households_of(key, homes)
        row = UnitIndicatorValue.objects.get(indicator_id=code, unit=unit, period="2025")
        if chosen:
            assert (row.numerator, row.denominator) == counter(code, chosen), key
        else:
            assert row.numerator == 0 and row.denominator in (0, None), key
    # The dusun plus the households without one are the village.
    village = IndicatorValue.objects.get(indicator_id=code, region_id=PENAJAM_KELURAHAN)
    dusun = UnitIndicatorValue.objects.filter(
        indicator_id=code, unit__kind="dusun", unit__region_id=PENAJAM_KELURAHAN
    )
    rest = counter(code, [homes[3]])  # the household without a dusun
    assert sum(r.numerator for r in dusun) + rest[0] == village.numerator


def test_the_fixture_puts_households_in_several_units(placed):
    units, _homes = placed
    counts = {
        key: UnitIndicatorValue.objects.get(indicator_id="jumlah_rumah_tangga", unit=unit).numerator
        for key, unit in units.items()
    }
    assert counts == {
        "Lingkungan I": 2, "Lingkungan I/001": 2, "Lingkungan I/001/001": 1,
        "Lingkungan I/001/002": 1, "Lingkungan II": 1, "Lingkungan II/002": 1,
        "Lingkungan II/002/001": 1,
    }  # fmt: skip


def test_an_edit_or_a_unit_rename_is_followed_by_the_incremental_refresh(placed):
    units, homes = placed
    Household.objects.filter(pk=homes[3].pk).update(dusun="Lingkungan II")
    unit_update(unit=units["Lingkungan II"], name="Lingkungan Dua")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    result = indicators_refresh()
    assert result.villages == 1
    row = UnitIndicatorValue.objects.get(
        indicator_id="jumlah_rumah_tangga", unit=units["Lingkungan II"]
    )
    assert row.numerator == 2


def test_units_of_a_village_come_in_tree_order(placed):
    units = village_units_for(user=None, code=PENAJAM_KELURAHAN)
    assert [u["path"] for u in units] == [
        "Lingkungan I", "Lingkungan I / 001", "Lingkungan I / 001 / 001",
        "Lingkungan I / 001 / 002", "Lingkungan II", "Lingkungan II / 002",
        "Lingkungan II / 002 / 001",
    ]  # fmt: skip
    assert village_units_for(user=None, code="64.09") is None


# --- suppression per unit ---------------------------------------------------------------


def cell(unit, parent, numerator, denominator=None):
    return UnitCell(unit=unit, parent=parent, numerator=numerator, denominator=denominator)


def test_a_lone_small_unit_takes_its_smallest_sibling_with_it():
    cells = [cell(1, None, 2), cell(2, None, 9), cell(3, None, 5), cell(4, None, 0)]
    assert units_hidden(cells, village=(16, None), village_hidden=False, limit=3) == {1, 3}


def test_a_small_remainder_of_households_without_a_unit_is_protected_too():
    # 18 households in the village, 16 in units: the other 2 are derivable, and small.
    cells = [cell(1, None, 9), cell(2, None, 7)]
    assert units_hidden(cells, village=(18, None), village_hidden=False, limit=3) == {2}
    assert units_hidden(cells, village=(16, None), village_hidden=False, limit=3) == set()


def test_two_small_units_protect_each_other_and_a_hidden_unit_hides_what_is_below_it():
    cells = [
        cell(1, None, 2), cell(2, None, 3), cell(3, None, 20),
        cell(10, 3, 12), cell(11, 3, 8), cell(20, 1, 2),
    ]  # fmt: skip
    assert units_hidden(cells, village=(25, None), village_hidden=False, limit=3) == {1, 2, 20}
    # A hidden village hides all its units.
    assert units_hidden(cells, village=(25, None), village_hidden=True, limit=3) == {
        1, 2, 3, 10, 11, 20,
    }  # fmt: skip


def test_denominators_count_as_cells_too():
    cells = [cell(1, None, 0, 2), cell(2, None, 4, 10), cell(3, None, 5, 12)]
    assert units_hidden(cells, village=(9, 24), village_hidden=False, limit=3) == {1, 2}


def test_the_public_gets_no_figure_it_could_recover(placed, settings):
    # Small numbers everywhere: the public sees the structure, every unit hidden or safe.
    rows = unit_indicator_values_for(
        code=PENAJAM_KELURAHAN,
        units=village_units_for(user=None, code=PENAJAM_KELURAHAN),
        indicators=["jumlah_rumah_tangga"],
        suppress_up_to=3,
    )
    assert len(rows) == 7 and all(r["suppressed"] for r in rows)
    assert all(r["numerator"] is None and r["value"] is None for r in rows)
    exact = unit_indicator_values_for(
        code=PENAJAM_KELURAHAN,
        units=village_units_for(user=None, code=PENAJAM_KELURAHAN),
        indicators=["jumlah_rumah_tangga"],
    )
    assert not any(r["suppressed"] for r in exact)


def test_stored_and_live_suppression_agree(placed, settings):
    """A limit the rollup has not stored is decided per request by the same rule."""
    units = village_units_for(user=None, code=PENAJAM_KELURAHAN)
    for limit in (1, 2):
        settings.SMALL_CELL_THRESHOLD = limit
        indicators_refresh(full=True)
        stored = unit_indicator_values_for(
            code=PENAJAM_KELURAHAN, units=units, suppress_up_to=limit
        )
        settings.SMALL_CELL_THRESHOLD = 3 - limit
        indicators_refresh(full=True)
        live = unit_indicator_values_for(code=PENAJAM_KELURAHAN, units=units, suppress_up_to=limit)
        assert stored == live
        assert any(r["suppressed"] for r in stored) or limit == 1


def test_many_households_per_unit_are_shown_to_the_public(placed):
    units, _homes = placed
    for _ in range(4):
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="001")
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="002")
    indicators_refresh()
    rows = {
        r["unit"]: r
        for r in unit_indicator_values_for(
            code=PENAJAM_KELURAHAN,
            units=village_units_for(user=None, code=PENAJAM_KELURAHAN),
            indicators=["jumlah_rumah_tangga"],
            suppress_up_to=3,
        )
    }
    assert rows[units["Lingkungan I/001/001"].pk]["numerator"] == 5
    assert rows[units["Lingkungan I"].pk]["numerator"] == 10
    # Lingkungan II holds one household: hidden, and so is its one sibling's complement.
    assert rows[units["Lingkungan II"].pk]["suppression_reason"] == "primary"
