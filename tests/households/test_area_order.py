"""Households of an area in id order, from the per-level indexes (households/models,
`villages.codes.area_q`): the area rule written as equalities selects exactly the subtree,
and a page of a later area's households reads that area's index range instead of walking
the primary key past every household of the areas before it."""

import pytest
from django.db import connection

from households.models import Household
from households.selectors import households_for
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory
from villages.codes import area_q, subtree_q

pytestmark = pytest.mark.django_db

BABULU_KECAMATAN = BABULU_DESA[:8]


@pytest.fixture
def early_and_late():
    early = HouseholdFactory.create_batch(60, region_id=PENAJAM_KELURAHAN)
    late = HouseholdFactory.create_batch(3, region_id=BABULU_DESA)
    return early, late


@pytest.mark.parametrize(
    "code", ["64", "64.09", "64.09.01", BABULU_KECAMATAN, PENAJAM_KELURAHAN, BABULU_DESA, "64.10"]
)
def test_the_equalities_select_exactly_the_subtree(early_and_late, code):
    by_prefix = set(Household.objects.filter(subtree_q(code, "region__code")).values_list("pk"))
    by_equality = set(Household.objects.filter(area_q(code, "region_id")).values_list("pk"))
    assert by_equality == by_prefix
    assert set(Household.objects.filter(area_q([code, PENAJAM_KELURAHAN], "region_id"))) >= set(
        Household.objects.filter(region_id=PENAJAM_KELURAHAN)
    )
    assert not Household.objects.filter(area_q([], "region_id")).exists()


def plan_of(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE households_household")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("code", "index"),
    [(BABULU_KECAMATAN, "household_kecamatan_id_idx"), (BABULU_DESA, "household_village_id_idx")],
)
def test_a_page_of_a_later_area_reads_its_own_index(personas, early_and_late, code, index):
    analyst = personas["analyst"]  # areas: all of PPU (64.09), itself an equality
    page = households_for(analyst).filter(area_q(code, "region_id")).order_by("id")[:2]
    assert [h.pk for h in page] == [h.pk for h in early_and_late[1][:2]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = plan_of(page)
    assert index in plan, plan
    assert "households_household_pkey" not in plan, plan
