"""The village change list reads a page at a time (issue 15): counts of every status on
top, the backsliding first, a filter by status and pages, on the page and in the API."""

from __future__ import annotations

import re

import pytest

from desapresisi.errors import InvalidInput
from desapresisi.models import AuditEntry
from households.rounds import round_close
from households.trends import household_changes_for
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.test_rounds import LATRINE, NO_LATRINE, open_2024, open_2025, set_latrine

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_rounds():
    """Penajam's kelurahan: 3 households improve (RT 003, 001, 002), 2 worsen, 4 stay,
    1 comes in after the first round closed."""
    first = open_2024()
    improves = [HouseholdFactory(rt=rt, **NO_LATRINE) for rt in ("003", "001", "002")]
    worsens = [HouseholdFactory(rt=rt, **LATRINE) for rt in ("002", "001")]
    stays = HouseholdFactory.create_batch(4, **LATRINE)
    round_close(survey_round=first)
    second = open_2025()
    for household in improves:
        set_latrine(household, LATRINE)
    for household in worsens:
        set_latrine(household, NO_LATRINE)
    newcomer = HouseholdFactory(**NO_LATRINE)
    return {
        "first": first,
        "second": second,
        "improves": improves,
        "worsens": worsens,
        "stays": stays,
        "newcomer": newcomer,
    }


def changes(user, rounds, **kwargs):
    return household_changes_for(
        user=user,
        village=PENAJAM_KELURAHAN,
        indicator="tanpa_jamban",
        from_period=rounds["first"].code,
        to_period=rounds["second"].code,
        **kwargs,
    )


def test_worse_first_then_by_place_and_counts_of_the_whole_village(personas, two_rounds):
    answer = changes(personas["operator_a"], two_rounds)
    assert answer["counts"] == {
        "membaik": 3,
        "memburuk": 2,
        "tetap": 4,
        "masuk": 1,
        "keluar": 0,
    }
    assert answer["total"] == 10
    order = [row["household_id"] for row in answer["households"]]
    worsens, improves = two_rounds["worsens"], two_rounds["improves"]
    # Within a status by dusun, RW, RT: RT 001 before 002 before 003.
    assert order[:5] == [
        worsens[1].pk,
        worsens[0].pk,
        improves[1].pk,
        improves[2].pk,
        improves[0].pk,
    ]
    assert order[5] == two_rounds["newcomer"].pk
    assert {row["status"] for row in answer["households"][6:]} == {"tetap"}


def test_a_status_filter_and_a_page_keep_the_counts_of_all(personas, two_rounds):
    user = personas["operator_a"]
    page = changes(user, two_rounds, statuses=("membaik", "memburuk"), offset=0, limit=3)
    assert page["total"] == 5 and page["counts"]["tetap"] == 4
    assert [row["status"] for row in page["households"]] == ["memburuk", "memburuk", "membaik"]
    rest = changes(user, two_rounds, statuses=("membaik", "memburuk"), offset=3, limit=3)
    assert [row["status"] for row in rest["households"]] == ["membaik", "membaik"]
    seen = {r["household_id"] for r in page["households"] + rest["households"]}
    assert seen == {h.pk for h in two_rounds["improves"] + two_rounds["worsens"]}
    stayed = changes(user, two_rounds, statuses=("tetap",))
    assert {r["household_id"] for r in stayed["households"]} == {h.pk for h in two_rounds["stays"]}
    with pytest.raises(InvalidInput) as problem:
        changes(user, two_rounds, statuses=("hilang",))
    assert "status" in problem.value.fields


def test_another_area_sees_no_count(personas, two_rounds):
    answer = changes(personas["operator_b"], two_rounds, statuses=("memburuk",))
    assert answer["total"] == 0 and sum(answer["counts"].values()) == 0
    assert answer["households"] == []


def test_the_api_pages_and_filters(as_user, personas, two_rounds):
    client = as_user(personas["operator_a"])
    base = (
        f"/api/v1/households/changes/?village={PENAJAM_KELURAHAN}&indicator=tanpa_jamban"
        f"&from={two_rounds['first'].code}&to={two_rounds['second'].code}"
    )
    first = client.get(base + "&status=memburuk&status=membaik&page_size=2").json()
    assert first["total"] == 5 and first["page"] == 1 and first["page_size"] == 2
    assert first["previous"] is None and "page=2" in first["next"]
    assert [r["status"] for r in first["households"]] == ["memburuk", "memburuk"]
    last = client.get(base + "&status=memburuk&status=membaik&page_size=2&page=3").json()
    assert len(last["households"]) == 1 and last["next"] is None
    assert last["counts"]["tetap"] == 4
    assert all("*" in r["no_kk"] for r in last["households"])  # masked for an operator
    everything = client.get(base).json()
    assert everything["total"] == 10 and len(everything["households"]) == 10
    for query, field in (
        ("&page=4&page_size=2&status=membaik", "page"),
        ("&page=0", "page"),
        ("&page_size=1001", "page_size"),
        ("&status=hilang", "status"),
    ):
        refused = client.get(base + query)
        assert refused.status_code == 400, query
        assert field in refused.json()["error"]["fields"], query


def test_the_page_shows_the_changed_first_with_filters_and_pages(
    as_user, personas, two_rounds, monkeypatch
):
    monkeypatch.setattr("households.views.CHANGE_PAGE_SIZE", 2)
    client = as_user(personas["operator_a"])
    base = (
        f"/desa/{PENAJAM_KELURAHAN}/perubahan/?indikator=tanpa_jamban"
        f"&dari={two_rounds['first'].code}&ke={two_rounds['second'].code}"
    )
    audited = AuditEntry.objects.count()
    page = client.get(base)
    html = page.content.decode()
    assert page.status_code == 200
    # Default: the changed households (6), two per page, worse first; stayed only counted.
    counts = dict(re.findall(r'data-status="(\w+)">(\d+)<', html))
    assert counts == {
        "berubah": "6",
        "memburuk": "2",
        "membaik": "3",
        "masuk": "1",
        "keluar": "0",
        "tetap": "4",
        "semua": "10",
    }
    links = re.findall(r'href="/rumah-tangga/(\d+)/"', html)
    assert links == [str(h.pk) for h in reversed(two_rounds["worsens"])]
    assert "Halaman 1 dari 3" in html and 'rel="next"' in html and 'rel="prev"' not in html
    assert AuditEntry.objects.count() == audited + 1
    third = client.get(base + "&halaman=3").content.decode()
    assert re.findall(r'href="/rumah-tangga/(\d+)/"', third) == [
        str(two_rounds["improves"][0].pk),
        str(two_rounds["newcomer"].pk),
    ]
    stayed = client.get(base + "&status=tetap&halaman=2").content.decode()
    shown = set(re.findall(r'href="/rumah-tangga/(\d+)/"', stayed))
    assert shown <= {str(h.pk) for h in two_rounds["stays"]} and len(shown) == 2
    assert client.get(base + "&halaman=4").status_code == 404
    assert client.get(base + "&halaman=x").status_code == 400
    refused = client.get(base + "&status=hilang")
    assert refused.status_code == 400 and b"status" in refused.content
