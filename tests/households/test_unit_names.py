"""A household's dusun, RW and RT are units of its village: the form, the API and the
census import refuse an unknown one with the same message naming the field (the import:
row and column); the first import into a village without units makes them from the file
and says so, after which unknown names are errors."""

from __future__ import annotations

import re

import pytest

from households.models import Household
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, village_units
from tests.households.census_import.test_import import family, household, member, run
from tests.households.test_household_form import error_of, form_data
from tests.villages.test_units import check_now
from villages.models import VillageUnit

pytestmark = pytest.mark.django_db

TREE = {"Lingkungan I": {"001": ["001", "002"]}, "Lingkungan II": {"002": ["001"]}}


@pytest.fixture
def home(db):
    village_units(PENAJAM_KELURAHAN, TREE)
    return HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="002")


def test_api_refuses_an_unknown_rt_naming_the_field(home, personas, as_user):
    client = as_user(personas["operator_a"])
    url = f"/api/v1/households/{home.pk}/"
    response = client.patch(url, {"rt": "007", "versi": 1}, content_type="application/json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["rt"] and "007" in str(fields["rt"])
    home.refresh_from_db()
    assert home.rt == "002" and home.versi == 1
    # A known unit of another dusun, named with its own dusun, is fine.
    ok = client.patch(
        url,
        {"dusun": "Lingkungan II", "rw": "002", "rt": "001", "versi": 1},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.json()


def test_form_shows_the_unknown_rw_next_to_its_field(home, personas, as_user):
    client = as_user(personas["operator_a"])
    page = f"/rumah-tangga/{home.pk}/ubah/"
    data = form_data(client.get(page).content.decode())
    data.update(dusun="Lingkungan II", rw="001", rt="")
    response = client.post(page, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "RW “001” tidak terdaftar" in error_of(body, "rw")
    assert error_of(body, "dusun") == ""
    home.refresh_from_db()
    assert home.dusun == "Lingkungan I"


def test_first_import_makes_the_units_from_the_file_and_says_so():
    households, members = family()
    second = household("6409010101250002", seed=2, dusun="Lingkungan II", rw="003", rt="")
    households.append(second)
    members.append(member("6409010101250002", 7))
    result = run(households, members)
    assert result.committed, [e.message for e in result.errors]
    # Lingkungan I > RW 001 > RT 002, and Lingkungan II > RW 003.
    assert result.counts["units"] == {"new": 5}
    units = VillageUnit.objects.filter(region_id=PENAJAM_KELURAHAN)
    assert {(u.kind, u.name, u.parent.name if u.parent else None) for u in units} == {
        ("dusun", "Lingkungan I", None),
        ("rw", "001", "Lingkungan I"),
        ("rt", "002", "001"),
        ("dusun", "Lingkungan II", None),
        ("rw", "003", "Lingkungan II"),
    }


def test_later_imports_refuse_unknown_names_with_row_and_column():
    households, members = family()
    assert run(households, members).committed
    households[0]["rw"] = "009"
    result = run(households, members)
    assert not result.committed
    error = next(e for e in result.errors if e.column == "rw")
    assert error.row == 2 and error.value == "009" and "RW “009” tidak terdaftar" in error.message
    assert "units" not in result.counts
    assert Household.objects.get().rw == "001"


def test_a_dry_run_makes_no_units():
    households, members = family()
    result = run(households, members, dry_run=True)
    assert result.ok and result.counts["units"] == {"new": 3}
    assert not VillageUnit.objects.exists()


def test_first_import_keeps_the_names_stored_households_already_use():
    stored = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan IV", rw="", rt="")
    households, members = family()
    result = run(households, members)
    assert result.committed and result.counts["units"] == {"new": 4}
    assert VillageUnit.objects.filter(region_id=PENAJAM_KELURAHAN, name="Lingkungan IV").exists()
    stored.full_clean()  # still valid: its dusun is a unit now


def test_the_form_offers_the_villages_units_grouped_by_parent(home, personas, as_user):
    body = as_user(personas["operator_a"]).get(f"/rumah-tangga/{home.pk}/ubah/").content.decode()
    rw = re.search(r'<select name="rw".*?</select>', body, re.S).group(0)
    assert 'data-unit-select="rw"' in rw
    assert '<optgroup label="Lingkungan I">' in rw and '<optgroup label="Lingkungan II">' in rw
    rt = re.search(r'<select name="rt".*?</select>', body, re.S).group(0)
    assert '<optgroup label="Lingkungan I / 001">' in rt
    assert '<option value="002" selected>002</option>' in rt
    dusun = re.search(r'<select name="dusun".*?</select>', body, re.S).group(0)
    assert '<option value="Lingkungan I" selected>' in dusun


def test_a_stored_name_that_is_no_unit_stays_on_the_form(personas, as_user):
    # Written before the village had units: not checked then, kept as it is now.
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lama", rw="001", rt="001")
    check_now()  # as its commit did
    village_units(PENAJAM_KELURAHAN, TREE)
    body = as_user(personas["operator_a"]).get(f"/rumah-tangga/{home.pk}/ubah/").content.decode()
    assert '<option value="Lama" selected>Lama (tidak terdaftar)</option>' in body


def test_a_village_without_units_keeps_free_text(personas, as_user):
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    body = as_user(personas["operator_a"]).get(f"/rumah-tangga/{home.pk}/ubah/").content.decode()
    assert 'type="text" name="dusun"' in body
