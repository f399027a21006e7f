"""GET /api/v1/indicators/unit-values/<code>/ (indicators per dusun, RW and RT, from the
rollup) and the `?unit=` filter of the household list: who sees exact figures, who sees
the heads' names, and that another village's unit says nothing about it."""

from __future__ import annotations

import pytest

from households.indicators.rollup import indicators_refresh
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, village_units
from villages.services import unit_update

pytestmark = pytest.mark.django_db

TREE = {"Lingkungan I": {"001": ["001", "002"]}, "Lingkungan II": {"002": ["001"]}}


@pytest.fixture
def village(personas):
    units = village_units(PENAJAM_KELURAHAN, TREE)
    unit_update(unit=units["Lingkungan I"], kepala="Haji Kepala Rahasia")
    homes = [
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="001")
        for _ in range(5)
    ] + [
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="002"),
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan II", rw="002", rt="001"),
    ]
    other = village_units(BABULU_DESA, {"Dusun Karya": {"001": ["001"]}})
    HouseholdFactory(region_id=BABULU_DESA, dusun="Dusun Karya", rw="001", rt="001")
    indicators_refresh()
    return {"units": units, "homes": homes, "other": other, "personas": personas}


def url(code=PENAJAM_KELURAHAN, query="?indicator=jumlah_rumah_tangga"):
    return f"/api/v1/indicators/unit-values/{code}/{query}"


def by_path(body):
    units = {u["id"]: u for u in body["units"]}
    return {units[v["unit"]]["path"]: v for v in body["values"]}


def test_roles_get_exact_figures_per_unit(village, as_user):
    body = as_user(village["personas"]["official"]).get(url()).json()
    assert body["village"] == PENAJAM_KELURAHAN
    values = by_path(body)
    assert values["Lingkungan I"]["numerator"] == 6
    assert values["Lingkungan I / 001 / 001"]["numerator"] == 5
    assert values["Lingkungan II / 002 / 001"]["numerator"] == 1
    assert not any(v["suppressed"] for v in values.values())


def test_the_public_gets_small_units_suppressed_and_none_recoverable(village, client):
    values = by_path(client.get(url()).json())
    # One household: hidden, and its only sibling with it (the village total would tell).
    assert values["Lingkungan II"]["suppressed"] and values["Lingkungan II"]["numerator"] is None
    assert values["Lingkungan II"]["suppression_reason"] == "primary"
    assert values["Lingkungan I"]["suppressed"]
    assert values["Lingkungan I"]["suppression_reason"] == "secondary"
    # Below a hidden unit, nothing adds up to it (RT 001 holds 5: hidden all the same).
    assert values["Lingkungan I / 001"]["suppressed"]
    assert values["Lingkungan I / 001 / 001"]["numerator"] is None


@pytest.mark.parametrize(
    ("role", "sees_head"),
    [
        ("anonymous", False),
        ("official", False),
        ("operator_b", False),
        ("analyst_waru", False),
        ("operator_a", True),
        ("analyst", True),
        ("admin", True),
    ],
)
def test_the_heads_name_follows_the_disclosure_policy(village, as_user, role, sees_head):
    user = None if role == "anonymous" else village["personas"][role]
    response = as_user(user).get(url())
    assert response.status_code == 200
    heads = {u["name"]: u["kepala"] for u in response.json()["units"]}
    assert (heads["Lingkungan I"] == "Haji Kepala Rahasia") is sees_head
    assert ("Rahasia" in response.content.decode()) is sees_head


@pytest.mark.parametrize("code", ["64.09", "64.09.01", "99.99.99.9999", "x"])
def test_a_code_that_is_not_a_village_is_404(village, client, code):
    assert client.get(url(code)).status_code == 404


def test_an_unknown_indicator_is_400_naming_it(village, client):
    response = client.get(url(query="?indicator=tidak_ada"))
    assert response.status_code == 400
    assert "indicator" in response.json()["error"]["fields"]


def test_all_indicators_by_default(village, client):
    body = client.get(url(query="")).json()
    assert len({v["indicator"] for v in body["values"]}) > 10


# --- ?unit= on the household list --------------------------------------------------------


def ids(response) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_unit_filter_lists_the_households_of_the_unit_and_below(village, as_user):
    client = as_user(village["personas"]["operator_a"])
    units, homes = village["units"], village["homes"]
    got = ids(client.get(f"/api/v1/households/?unit={units['Lingkungan I/001/001'].pk}"))
    assert got == {h.pk for h in homes[:5]}
    got = ids(client.get(f"/api/v1/households/?unit={units['Lingkungan I'].pk}"))
    assert got == {h.pk for h in homes[:6]}


@pytest.mark.parametrize("which", ["other village", "missing"])
def test_a_unit_outside_the_callers_areas_is_answered_like_a_missing_one(village, as_user, which):
    client = as_user(village["personas"]["operator_a"])
    unit = village["other"]["Dusun Karya"].pk if which == "other village" else 999999
    response = client.get(f"/api/v1/households/?unit={unit}")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["unit"][0]
    assert message == f"Dusun/RW/RT tidak dikenal: {unit}."


def test_an_official_may_filter_by_dusun_but_not_by_rw_or_rt(village, as_user):
    client = as_user(village["personas"]["official"])
    units = village["units"]
    assert len(ids(client.get(f"/api/v1/households/?unit={units['Lingkungan II'].pk}"))) == 1
    response = client.get(f"/api/v1/households/?unit={units['Lingkungan I/001'].pk}")
    assert response.status_code == 400 and "unit" in response.json()["error"]["fields"]
