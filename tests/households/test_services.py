"""The one location rule, as an edit and as an import see it."""

import pytest
from django.core.exceptions import ValidationError

from households.models import Household
from households.services import LOCATION_TOLERANCE_M, household_update
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, point_in_village
from tests.households.census_import.test_import import family, messages, run
from villages.models import Region

pytestmark = pytest.mark.django_db


def _far_point():
    """A point in another kecamatan, kilometres from the Penajam kelurahan."""
    return point_in_village(BABULU_DESA, 7)


def _edit(point) -> str | None:
    """The edit's refusal of the point for a household of the Penajam kelurahan, or None."""
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, lokasi=None)
    try:
        household_update(
            queryset=Household.objects.all(),
            pk=household.pk,
            changes={"lokasi": [point.x, point.y]},
            expected_version=household.versi,
        )
    except ValidationError as error:
        return error.message_dict["lokasi"][0]
    household.refresh_from_db()
    assert household.lokasi.equals_exact(point, tolerance=1e-9)
    return None


def _import(point, rows=None) -> str | None:
    """The import's refusal of the same point for a household of that kelurahan, or None."""
    households, members = rows or family(kk="6409010101250777", base=77, village=PENAJAM_KELURAHAN)
    households[0].update(lintang=f"{point.y:.6f}", bujur=f"{point.x:.6f}")
    result = run(households, members)
    refusals = messages(result, "lintang")
    assert not result.errors or refusals, messages(result)
    if refusals:
        return refusals[0]
    stored = Household.objects.get(no_kk=households[0]["no_kk"]).lokasi
    assert stored.distance(point) < 1e-6
    return None


def test_a_point_outside_its_village_is_refused_alike_by_edit_and_import():
    point = _far_point()
    edit, imported = _edit(point), _import(point)
    assert edit is not None and edit == imported
    assert f"{LOCATION_TOLERANCE_M} m" in edit


def test_a_village_without_a_boundary_takes_any_point_alike_by_edit_and_import():
    point = _far_point()
    rows = family(
        kk="6409010101250777", base=77, village=PENAJAM_KELURAHAN
    )  # made while the boundary still places it
    Region.objects.filter(code=PENAJAM_KELURAHAN).update(boundary=None)
    assert _edit(point) is None
    assert _import(point, rows) is None


def test_swapped_coordinates_are_named_alike_by_edit_and_import():
    inside = point_in_village(PENAJAM_KELURAHAN, 1)
    swapped = type(inside)(inside.y, inside.x, srid=4326)
    edit, imported = _edit(swapped), _import(swapped)
    assert edit is not None and edit == imported and "tertukar" in edit


def test_coordinates_out_of_range_are_refused_alike_by_edit_and_import():
    out = type(_far_point())(200.0, 95.0, srid=4326)
    edit = _edit(out)
    assert edit is not None and "jangkauan" in edit
