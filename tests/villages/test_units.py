"""The units below a village (dusun, RW, RT): the model's rules, the services' verdicts
(create, rename, delete), the one resolving rule in Python and in the database, and the
deferred database check on households that nothing bypasses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from desapresisi.errors import InvalidInput
from households.models import DirtyRegion, Household
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, village_units
from villages.models import UnitKind, VillageUnit
from villages.selectors import unit_index_for
from villages.services import unit_create, unit_delete, unit_update

pytestmark = pytest.mark.django_db

TREE = {"Lingkungan I": {"001": ["001", "002"], "002": ["001"]}, "Lingkungan II": {"001": ["003"]}}


@pytest.fixture
def units():
    return village_units(PENAJAM_KELURAHAN, TREE)


def check_now() -> None:
    """Run the deferred household check now, as a commit would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS household_unit_known IMMEDIATE")
        cursor.execute("SET CONSTRAINTS household_unit_known DEFERRED")


# --- the model and the services ----------------------------------------------------------


def test_unit_create_builds_a_tree_and_refuses_a_duplicate_name_naming_the_field():
    dusun = unit_create(region_code=PENAJAM_KELURAHAN, kind="dusun", name=" Lingkungan I ")
    rw = unit_create(region_code=PENAJAM_KELURAHAN, kind="rw", name="001", parent=dusun)
    assert dusun.name == "Lingkungan I" and rw.parent == dusun
    with pytest.raises(InvalidInput) as caught:
        unit_create(region_code=PENAJAM_KELURAHAN, kind="rw", name="001", parent=dusun)
    assert "001" in caught.value.fields["name"][0]
    # The same name under another parent (or in another village) is another unit.
    other = unit_create(region_code=PENAJAM_KELURAHAN, kind="dusun", name="Lingkungan II")
    unit_create(region_code=PENAJAM_KELURAHAN, kind="rw", name="001", parent=other)
    unit_create(region_code=BABULU_DESA, kind="dusun", name="Lingkungan I")


def test_the_database_refuses_a_duplicate_top_level_unit_too():
    VillageUnit.objects.create(region_id=PENAJAM_KELURAHAN, kind=UnitKind.RW, name="009")
    with pytest.raises(IntegrityError), transaction.atomic():
        VillageUnit.objects.create(region_id=PENAJAM_KELURAHAN, kind=UnitKind.RW, name="009")


@pytest.mark.parametrize(
    ("kind", "name", "parent_kind", "field"),
    [
        ("rw", "0001", None, "name"),  # RW/RT names fit the household's 3 characters
        ("rt", "", None, "name"),
        ("rw", "001", "rw", "parent"),  # an RW sits under a dusun only
        ("dusun", "X", "dusun", "parent"),
        ("kampung", "X", None, "kind"),
    ],
)
def test_unit_create_refuses_what_breaks_a_rule(units, kind, name, parent_kind, field):
    parent = {"rw": units["Lingkungan I/001"], "dusun": units["Lingkungan I"]}.get(parent_kind)
    with pytest.raises(InvalidInput) as caught:
        unit_create(region_code=PENAJAM_KELURAHAN, kind=kind, name=name, parent=parent)
    assert field in caught.value.fields


def test_a_parent_must_be_of_the_same_village(units):
    with pytest.raises(InvalidInput) as caught:
        unit_create(region_code=BABULU_DESA, kind="rw", name="001", parent=units["Lingkungan I"])
    assert "parent" in caught.value.fields


def test_a_rename_follows_into_the_households_that_name_the_unit(units):
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="002")
    other = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan II", rw="001", rt="003")
    unit_update(unit=units["Lingkungan I/001"], name="011")
    unit_update(unit=units["Lingkungan I"], name="Lingkungan Satu", kepala="Pak Lurah")
    check_now()
    home.refresh_from_db()
    other.refresh_from_db()
    assert (home.dusun, home.rw, home.rt) == ("Lingkungan Satu", "011", "002")
    # The RW 001 of the other dusun is another unit: untouched.
    assert (other.dusun, other.rw, other.rt) == ("Lingkungan II", "001", "003")
    assert VillageUnit.objects.get(pk=units["Lingkungan I"].pk).kepala == "Pak Lurah"


def test_deleting_a_unit_in_use_is_refused_with_the_count_of_its_village_only(units):
    for _ in range(2):
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan II", rw="001", rt="003")
    # Households of another village with the same names are not counted.
    village_units(BABULU_DESA, {"Lingkungan II": {"001": ["003"]}})
    HouseholdFactory(region_id=BABULU_DESA, dusun="Lingkungan II", rw="001", rt="003")
    rt = units["Lingkungan II/001/003"]
    with pytest.raises(InvalidInput) as caught:
        unit_delete(unit=rt)
    assert " 2 rumah tangga" in caught.value.fields["__all__"][0]
    assert VillageUnit.objects.filter(pk=rt.pk).exists()


def test_deleting_a_unit_with_units_under_it_is_refused_and_an_unused_leaf_is_deleted(units):
    with pytest.raises(InvalidInput):
        unit_delete(unit=units["Lingkungan I/002"])
    unit_delete(unit=units["Lingkungan I/002/001"])
    unit_delete(unit=units["Lingkungan I/002"])
    assert not VillageUnit.objects.filter(region_id=PENAJAM_KELURAHAN, kind="rw", name="002")


def test_the_database_refuses_deleting_or_moving_a_unit_in_use(units):
    HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="002", rt="001")
    rt = units["Lingkungan I/002/001"]
    with pytest.raises(IntegrityError), transaction.atomic():
        VillageUnit.objects.filter(pk=rt.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        VillageUnit.objects.filter(pk=rt.pk).update(parent=units["Lingkungan I/001"])


def test_a_change_to_units_marks_the_village_stale(units):
    DirtyRegion.objects.all().delete()
    unit_update(unit=units["Lingkungan II"], kepala="Bu Ketua")
    assert DirtyRegion.objects.filter(region_id=PENAJAM_KELURAHAN).exists()


# --- the rule: Python and the database agree -----------------------------------------------

CASES = [
    (("Lingkungan I", "001", "002"), None),
    (("Lingkungan I", "", ""), None),
    (("", "", ""), None),
    (("Lingkungan II", "001", "003"), None),
    (("Lingkungan III", "", ""), "dusun"),
    (("Lingkungan II", "002", ""), "rw"),  # RW 002 is under Lingkungan I only
    (("Lingkungan II", "001", "001"), "rt"),  # RT 001 is under RW 001 of Lingkungan I
    (("", "001", ""), "rw"),  # RWs sit under their dusun: the dusun must be given
]


@pytest.mark.parametrize(("names", "problem"), CASES)
def test_python_and_database_resolve_names_alike(units, names, problem):
    chain, found = unit_index_for(region_code=PENAJAM_KELURAHAN).resolve(*names)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain, problem FROM households_unit_resolve(%s, %s, %s, %s)",
            [PENAJAM_KELURAHAN, *names],
        )
        db_chain, db_problem = cursor.fetchone()
    assert found == db_problem == problem
    if problem is None:
        assert [u.id for u in chain] == db_chain
        assert len(chain) == sum(1 for name in names if name)


def test_a_village_without_units_checks_nothing():
    home = HouseholdFactory(region_id=BABULU_DESA, dusun="Apa Saja", rw="9", rt="99")
    home.full_clean()
    check_now()
    assert unit_index_for(region_code=BABULU_DESA).problems("Apa Saja", "9", "99") == {}


def test_a_household_naming_an_unknown_unit_is_refused_naming_the_field(units):
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="001")
    home.rt = "009"
    with pytest.raises(ValidationError) as caught:
        home.full_clean()
    assert list(caught.value.message_dict) == ["rt"]
    assert "009" in caught.value.message_dict["rt"][0]


def test_the_database_refuses_unknown_names_whatever_writes_them(units):
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="001")
    # A bulk update skips every Python check: the deferred trigger still refuses it.
    with pytest.raises(IntegrityError, match="not a unit"), transaction.atomic():
        Household.objects.filter(pk=home.pk).update(dusun="Lingkungan Sembilan")
        check_now()
    home.refresh_from_db()
    assert home.dusun == "Lingkungan I"
