"""Tiles kept in the web process (households.tiles.KEPT_TILES): a tile the cache served is
then served with no query at all, under the state of the data it was drawn from; a village
marked stale sends every tile back through the cache's own check, a refresh or a changed
indicator definition changes the state, and two scopes never share a kept tile."""

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from desapresisi import callers, http_cache
from households import tiles
from households.api.tiles import HouseholdTile
from households.indicators.rollup import indicators_refresh
from households.models import Household, Indicator
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.test_tiles import tile_of

pytestmark = pytest.mark.django_db

TILE = "/api/v1/tiles/households/{z}/{x}/{y}.pbf"


@pytest.fixture
def clock(settings, monkeypatch):
    """Versions, marks and callers trusted for a second, on a clock the test moves."""
    settings.DATA_VERSION_TTL_MS = 1000
    settings.ACCESS_TTL_MS = 1000
    now = [7000.0]
    for module in (http_cache, tiles, callers):
        monkeypatch.setattr(module.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def homes():
    a = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    b = HouseholdFactory(region_id=BABULU_DESA)
    indicators_refresh()
    return a, b


def url_of(point, z: int = 15) -> str:
    x, y = tile_of(point.x, point.y, z)
    return TILE.format(z=z, x=x, y=y)


def points(response) -> int:
    assert response.status_code == 200
    layer = mapbox_vector_tile.decode(response.content).get("households")
    return len(layer["features"]) if layer else 0


@pytest.mark.parametrize("z", [10, 15])
def test_a_tile_the_cache_served_is_then_served_without_a_query(clock, personas, as_user, homes, z):
    client = as_user(personas["analyst"])
    url = url_of(homes[0].lokasi, z)
    cold = client.get(url)  # rendered, put in the cache
    from_cache = client.get(url)  # read from the cache, kept in the process
    with CaptureQueriesContext(connection) as queries:
        kept = client.get(url)
    assert kept.content == from_cache.content == cold.content
    assert kept["ETag"] == cold["ETag"]
    assert queries.captured_queries == []
    assert client.get(url, headers={"If-None-Match": kept["ETag"]}).status_code == 304


def test_a_village_marked_stale_sends_tiles_back_through_the_cache_check(
    clock, personas, as_user, homes
):
    client = as_user(personas["analyst"])
    a = homes[0]
    url = url_of(a.lokasi)
    for _ in range(2):
        assert points(client.get(url)) == 1
    # A second household beside the first: its village is marked stale, not refreshed.
    HouseholdFactory(region_id=a.region_id, lokasi=Point(a.lokasi.x + 1e-5, a.lokasi.y))
    assert points(client.get(url)) == 1  # the marks are trusted for a second
    clock[0] += 1.0
    with CaptureQueriesContext(connection) as queries:
        assert points(client.get(url)) == 2  # drawn from the households, as without a cache
    assert any("households_dirtyregion" in q["sql"] for q in queries.captured_queries)
    indicators_refresh()
    clock[0] += 1.0
    for _ in range(2):
        assert points(client.get(url)) == 2
    with CaptureQueriesContext(connection) as queries:
        assert points(client.get(url)) == 2
    assert queries.captured_queries == []


def test_a_refresh_changes_the_state_of_every_kept_tile(clock, personas, as_user, homes):
    client = as_user(personas["analyst"])
    a = homes[0]
    url = url_of(a.lokasi)
    for _ in range(2):
        client.get(url)
    Household.objects.filter(pk=a.pk).update(lokasi=Point(a.lokasi.x + 0.5, a.lokasi.y))
    indicators_refresh()
    clock[0] += 1.0
    assert points(client.get(url)) == 0


def test_a_changed_indicator_definition_is_read_again(clock, personas, as_user, homes):
    client = as_user(personas["analyst"])
    url = url_of(homes[0].lokasi)
    for _ in range(2):
        before = client.get(url)
    shown = mapbox_vector_tile.decode(before.content)["households"]["features"][0]["properties"]
    criterion = Indicator.objects.filter(active=True, map_criterion=True).first()
    assert criterion.code in shown
    Indicator.objects.filter(pk=criterion.pk).update(map_criterion=False)  # the trigger bumps
    clock[0] += 1.0
    after = client.get(url)
    properties = mapbox_vector_tile.decode(after.content)["households"]["features"][0]["properties"]
    assert criterion.code not in properties


def test_two_scopes_never_share_a_kept_tile(clock, personas, as_user, homes):
    b = homes[1]
    url = url_of(b.lokasi)
    analyst = as_user(personas["analyst"])
    for _ in range(3):
        assert points(analyst.get(url)) == 1
    operator = as_user(personas["operator_a"])  # Penajam only: Babulu's household is not theirs
    for _ in range(3):
        assert points(operator.get(url)) == 0


def test_with_no_room_nothing_is_kept(clock, personas, as_user, homes, monkeypatch):
    monkeypatch.setattr(tiles.KEPT_TILES, "limit", 0)
    client = as_user(personas["analyst"])
    url = url_of(homes[0].lokasi)
    for _ in range(2):
        client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert any("households_tilecache" in q["sql"] for q in queries.captured_queries)
    assert tiles.KEPT_TILES.size == 0


def test_a_kept_tile_is_answered_before_drf_with_the_same_checks(
    clock, personas, as_user, homes, monkeypatch
):
    dispatched = []
    original = HouseholdTile.dispatch
    monkeypatch.setattr(
        HouseholdTile,
        "dispatch",
        lambda self, *a, **k: dispatched.append(1) or original(self, *a, **k),
    )
    client = as_user(personas["analyst"])
    url = url_of(homes[0].lokasi)
    for _ in range(2):
        client.get(url)
    assert len(dispatched) == 2
    assert points(client.get(url)) == 1 and len(dispatched) == 2  # kept: no dispatch
    # Anything but the region: DRF's view, as before.
    assert client.get(url + "?jumlah_anggota__gte=1").status_code == 200 and len(dispatched) == 3
    # An account without a role: refused by DRF's view, whatever this process keeps.
    assert as_user(personas["norole"]).get(url).status_code == 403
    assert as_user(None).get(url).status_code in (401, 403)


def test_a_token_names_the_caller_even_beside_a_session(clock, personas, as_user, homes):
    b = homes[1]  # in Babulu: the analyst's, not operator A's
    url = url_of(b.lokasi)
    client = as_user(personas["analyst"])
    for _ in range(3):
        assert points(client.get(url)) == 1
    token = Token.objects.create(user=personas["operator_a"])
    answer = client.get(url, headers={"Authorization": f"Token {token.key}"})
    assert points(answer) == 0
