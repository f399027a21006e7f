"""Approved villages only (issue 16): the values API's `approved=1` sums the approved
villages' rollup rows, says how many villages were approved, follows the sign-offs in
its validators, and never lets the sum give a hidden village away."""

from __future__ import annotations

import pytest

from households.indicators.approved import approved_cells
from households.indicators.rollup import indicators_refresh
from quality.services import signoff_step
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.test_rounds import LATRINE, NO_LATRINE, open_2024

pytestmark = pytest.mark.django_db

OTHER_PENAJAM = "64.09.01.1002"


def approve(personas, code):
    operator = personas["admin"]
    signoff_step(user=operator, region_code=code, action="ajukan")
    signoff_step(user=personas["official"], region_code=code, action="setujui")


def values(client, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    answer = client.get("/api/v1/indicators/values/?indicator=tanpa_jamban&" + query)
    assert answer.status_code == 200, answer.content
    return {row["area_code"]: row for row in answer.json()}


@pytest.fixture
def census(personas):
    survey_round = open_2024()
    HouseholdFactory.create_batch(6, **NO_LATRINE)  # Tanjung Tengah: 6 of 10
    HouseholdFactory.create_batch(4, **LATRINE)
    HouseholdFactory.create_batch(2, region_id=OTHER_PENAJAM, **NO_LATRINE)  # 2 of 8
    HouseholdFactory.create_batch(6, region_id=OTHER_PENAJAM, **LATRINE)
    HouseholdFactory.create_batch(5, region_id=BABULU_DESA, **NO_LATRINE)  # 5 of 5
    indicators_refresh()
    return survey_round


def test_sums_of_the_approved_villages_with_their_count(as_user, personas, census):
    client = as_user(personas["analyst"])
    period = census.code
    before = values(client, approved=1, period=period, area=f"64.09,64.09.01,{PENAJAM_KELURAHAN}")
    assert before["64.09"]["approved_villages"] == 0 and before["64.09"]["numerator"] is None
    assert before["64.09"]["villages"] == 3
    approve(personas, PENAJAM_KELURAHAN)
    approve(personas, BABULU_DESA)
    rows = values(
        client,
        approved=1,
        period=period,
        area=f"64.09,64.09.01,{PENAJAM_KELURAHAN},{OTHER_PENAJAM},{BABULU_DESA}",
    )
    assert (rows["64.09"]["numerator"], rows["64.09"]["denominator"]) == (11, 15)
    assert rows["64.09"]["value"] == pytest.approx(100 * 11 / 15)
    assert (rows["64.09"]["approved_villages"], rows["64.09"]["villages"]) == (2, 3)
    assert (rows["64.09.01"]["numerator"], rows["64.09.01"]["denominator"]) == (6, 10)
    assert (rows["64.09.01"]["approved_villages"], rows["64.09.01"]["villages"]) == (1, 2)
    assert rows[OTHER_PENAJAM]["numerator"] is None and rows[OTHER_PENAJAM]["value"] is None
    assert rows[OTHER_PENAJAM]["approved_villages"] == 0
    assert rows[PENAJAM_KELURAHAN]["numerator"] == 6
    # Without the flag: the rollup as it is, no approval fields.
    everything = values(client, period=period, area="64.09")
    assert everything["64.09"]["numerator"] == 13 and "villages" not in everything["64.09"]
    # The map's request: every village of the kabupaten.
    villages = values(client, approved=1, period=period, parent="64.09", level="desa")
    assert villages[BABULU_DESA]["numerator"] == 5
    assert villages[OTHER_PENAJAM]["numerator"] is None
    # A period that is not a round has no approved village.
    assert values(client, approved=1, period="2019", area="64.09") == {}


def test_the_answer_follows_the_sign_offs_not_only_the_figures(as_user, personas, census):
    client = as_user(personas["analyst"])
    url = (
        "/api/v1/indicators/values/?indicator=tanpa_jamban&approved=1&area=64.09"
        f"&period={census.code}"
    )
    first = client.get(url)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    approve(personas, BABULU_DESA)
    second = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second.json()[0]["numerator"] == 5


def test_the_public_sum_hides_a_village_it_would_give_away(client, personas, census, settings):
    settings.SMALL_CELL_THRESHOLD = 2
    indicators_refresh(full=True)
    # Penajam: Tanjung Tengah 6/10 and the other 2/8; the other's numerator (2) is small,
    # so the public rule hides it and Tanjung Tengah with it (the only other non-zero).
    public = values(client, period=census.code, parent="64.09.01", level="desa")
    assert public[OTHER_PENAJAM]["suppressed"] and public[PENAJAM_KELURAHAN]["suppressed"]
    approve(personas, OTHER_PENAJAM)
    # Approved: the other village only. Its sum is its own small figure: hidden.
    rows = values(client, approved=1, period=census.code, area="64.09.01,64.09")
    assert rows["64.09.01"]["suppressed"] and rows["64.09.01"]["numerator"] is None
    # The kabupaten's sum holds one hidden kecamatan (Babulu is not approved): hidden too.
    assert rows["64.09"]["suppressed"] and rows["64.09"]["numerator"] is None
    assert rows["64.09"]["approved_villages"] == 1  # how many is not a figure
    # A role with a name-free view of figures (the official) reads them exactly.
    official = values(
        client_for(personas["official"]), approved=1, period=census.code, area="64.09.01"
    )
    assert official["64.09.01"]["numerator"] == 2


def client_for(user):
    from django.test import Client  # noqa: PLC0415

    client = Client()
    client.force_login(user)
    return client


def cells(villages, approved, limit=3):
    return approved_cells(
        [(code, n, d, hidden) for code, (n, d, hidden) in villages.items()],
        approved=approved,
        limit=limit,
        has_denominator=True,
    )


@pytest.mark.parametrize(
    ("hidden", "approved", "published"),
    [
        # No hidden village is approved: the sum says nothing the villages did not.
        ({"a", "b"}, {"c", "d"}, True),
        # The two hidden villages are both approved: the sum tells their total, as the
        # kecamatan's full figure already did.
        ({"a", "b"}, {"a", "b", "c"}, True),
        # One hidden village approved, one not: the sum gives each away.
        ({"a", "b"}, {"a", "c"}, False),
        # Two hidden approved, one hidden not: the full figure minus the sum gives it.
        ({"a", "b", "c"}, {"a", "b", "d"}, False),
        # Two and two: only totals of two.
        ({"a", "b", "c", "d"}, {"a", "b"}, True),
    ],
)
def test_the_kecamatan_rule(hidden, approved, published):
    villages = {
        f"64.09.01.100{i}": (n, 50.0, code in hidden)
        for i, (code, n) in enumerate(zip("abcd", (1.0, 2.0, 30.0, 40.0), strict=True))
    }
    names = {f"64.09.01.100{i}": code for i, code in enumerate("abcd")}
    result = cells(villages, {c for c, name in names.items() if name in approved}, limit=2)
    assert result["64.09.01"].hidden is not published


def test_above_the_kecamatan_one_hidden_area_hides_the_sum_and_no_limit_hides_nothing():
    villages = {
        "64.09.01.1001": (1.0, 40.0, True),  # hidden, approved alone in its kecamatan
        "64.09.01.1002": (30.0, 50.0, False),
        "64.09.02.1001": (20.0, 50.0, False),
        "64.09.02.1002": (25.0, 50.0, False),
    }
    approved = {"64.09.01.1001", "64.09.01.1002", "64.09.02.1001", "64.09.02.1002"}
    result = cells(villages, approved)
    assert result["64.09.01"].hidden and not result["64.09.02"].hidden
    assert result["64.09"].hidden and result["64"].hidden
    assert (result["64.09"].numerator, result["64.09"].denominator) == (76.0, 190.0)
    assert (result["64.09"].approved, result["64.09"].villages) == (4, 4)
    exact = cells(villages, approved, limit=None)
    assert not any(cell.hidden for cell in exact.values())
