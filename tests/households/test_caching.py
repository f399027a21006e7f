"""The tile cache and HTTP validators: warm tiles come from households_tilecache, the
rollup refresh drops exactly the tiles of the villages it recomputes, and ETags follow
the data versions and the caller's scope, never another caller's body."""

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext

from demo.generator import households_generate
from desapresisi import http_cache
from desapresisi.db import history_pause
from desapresisi.models import DataVersion
from households import tiles
from households.indicators.rollup import indicators_refresh
from households.models import Household, TileCache
from households.tiles import MAX_TILE_BYTES, Rendered, tile_cache_put
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.test_tiles import tile_of
from villages.models import Region

pytestmark = pytest.mark.django_db

TILE = "/api/v1/tiles/households/{z}/{x}/{y}.pbf"
VALUES = "/api/v1/indicators/values/?indicator=babs&level=desa&parent=64.09"
REGIONS = "/api/v1/regions/?level=kecamatan&parent=64.09"


def tile_url(point, z: int, query: str = "") -> str:
    x, y = tile_of(point.x, point.y, z)
    return TILE.format(z=z, x=x, y=y) + (f"?{query}" if query else "")


def household_queries(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "households_household" in q["sql"] or "households_tilecell" in q["sql"]
    ]


@pytest.fixture
def two_villages():
    a = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    b = HouseholdFactory(region_id=BABULU_DESA)
    indicators_refresh()
    return a, b


@pytest.mark.parametrize("z", [10, 15])
def test_warm_tile_is_served_from_the_cache_without_reading_households(
    personas, as_user, two_villages, z
):
    client = as_user(personas["analyst"])
    url = tile_url(two_villages[0].lokasi, z)
    cold = client.get(url)
    assert cold.status_code == 200 and cold.content
    assert TileCache.objects.filter(z=z).count() == 1
    with CaptureQueriesContext(connection) as queries:
        warm = client.get(url)
    assert warm.content == cold.content and warm["ETag"] == cold["ETag"]
    assert household_queries(queries) == []


def test_revisit_with_the_etag_gets_304_and_a_refresh_after_a_write_changes_it(
    personas, as_user, two_villages
):
    client = as_user(personas["analyst"])
    home = two_villages[0]
    url = tile_url(home.lokasi, 15)
    first = client.get(url)
    assert first["Cache-Control"] == "private, no-cache"
    assert {"Authorization", "Cookie", "Accept-Language"} <= {
        part.strip() for part in first["Vary"].split(",")
    }
    again = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    # A second household next to the first, then the refresh its writer triggers.
    HouseholdFactory(region_id=home.region_id, lokasi=Point(home.lokasi.x + 1e-5, home.lokasi.y))
    indicators_refresh()
    after = client.get(url, headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and after["ETag"] != first["ETag"]
    assert len(mapbox_vector_tile.decode(after.content)["households"]["features"]) == 2


def test_refresh_drops_only_the_tiles_of_the_villages_it_recomputes(
    personas, as_user, two_villages
):
    client = as_user(personas["analyst"])
    a, b = two_villages
    for home in (a, b):
        assert client.get(tile_url(home.lokasi, 15)).status_code == 200
    assert TileCache.objects.count() == 2
    Household.objects.filter(pk=b.pk).update(jumlah_ats=3)  # marks Babulu's village only
    indicators_refresh()
    kept = TileCache.objects.get()
    assert kept.regions == [PENAJAM_KELURAHAN]


def test_a_household_moved_into_an_empty_tile_drops_that_tile(personas, as_user, two_villages):
    client = as_user(personas["analyst"])
    a = two_villages[0]
    # An empty tile just east of the household's, cached as empty.
    x, y = tile_of(a.lokasi.x, a.lokasi.y, 16)
    empty = TILE.format(z=16, x=x + 1, y=y)
    assert client.get(empty).content == b""
    assert TileCache.objects.get(x=x + 1).regions == []
    west = -180 + (x + 1.5) / 2**16 * 360  # the middle of that tile
    Household.objects.filter(pk=a.pk).update(lokasi=Point(west, a.lokasi.y, srid=4326))
    indicators_refresh()
    assert not TileCache.objects.filter(x=x + 1).exists()
    features = mapbox_vector_tile.decode(client.get(empty).content)["households"]["features"]
    assert [f["properties"]["id"] for f in features] == [a.pk]


def test_another_scope_never_gets_a_304_or_a_cached_tile_of_someone_else(
    personas, as_user, two_villages
):
    a, _b = two_villages
    url = tile_url(a.lokasi, 15)
    analyst = as_user(personas["analyst"]).get(url)
    assert mapbox_vector_tile.decode(analyst.content)["households"]["features"]
    # Operator B serves Babulu: nothing of Penajam, even when it sends the analyst's ETag.
    other = as_user(personas["operator_b"]).get(url, headers={"If-None-Match": analyst["ETag"]})
    assert other.status_code == 200 and other.content == b""
    assert other["ETag"] != analyst["ETag"]
    # The official sees rounded points only: its own tile, never the analyst's precise one.
    official = as_user(personas["official"]).get(url, headers={"If-None-Match": analyst["ETag"]})
    assert official.status_code == 200 and official["ETag"] != analyst["ETag"]
    assert TileCache.objects.values("variant").distinct().count() == 3


def test_a_tile_rendered_before_a_refresh_is_not_kept_under_the_new_version(two_villages):
    stale = DataVersion.objects.get(name=DataVersion.FIGURES).version
    HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    indicators_refresh()  # bumps the version while the stale tile was "rendering"
    rendered = Rendered(tile=b"old", regions=[PENAJAM_KELURAHAN], bounds=(116.0, -2.0, 117.0, -1.0))
    tile_cache_put(variant="v", z=15, x=1, y=1, rendered=rendered, version=stale)
    assert not TileCache.objects.exists()
    current = DataVersion.objects.get(name=DataVersion.FIGURES).version
    tile_cache_put(variant="v", z=15, x=1, y=1, rendered=rendered, version=current)
    assert TileCache.objects.count() == 1


DENSE = 5000  # about 195 KB of points in one tile


def test_dense_village_tiles_are_clustered_under_150_kb(personas, as_user, monkeypatch):
    households_generate(region_code=PENAJAM_KELURAHAN, households=DENSE, seed=3)
    # Every household inside one z14 tile (about 2.4 km across here).
    with connection.cursor() as cursor:
        history_pause(reason="test: a dense village", cursor=cursor)
        cursor.execute(
            "UPDATE households_household SET lokasi = ST_SetSRID(ST_MakePoint("
            " 116.7010 + 0.006 * random(), -1.2610 + 0.006 * random()), 4326)"
            " WHERE region_id = %s",
            [PENAJAM_KELURAHAN],
        )
    indicators_refresh()
    client = as_user(personas["analyst"])
    centre = Point(116.704, -1.258)
    sizes = {z: len(client.get(tile_url(centre, z)).content) for z in (14, 15, 16)}
    assert all(0 < size <= MAX_TILE_BYTES for size in sizes.values()), sizes
    z14 = mapbox_vector_tile.decode(client.get(tile_url(centre, 14)).content)
    clusters = z14["households"]["features"]
    assert all("count" in f["properties"] and "id" not in f["properties"] for f in clusters)
    assert sum(f["properties"]["count"] for f in clusters) == DENSE
    # Without the thinning the same tile would carry every point, far past the limit.
    monkeypatch.setattr(tiles, "DENSE_POINTS", 10**9)
    monkeypatch.setattr(tiles, "MAX_TILE_BYTES", 10**9)
    TileCache.objects.all().delete()
    tiles.KEPT_TILES.clear()  # drawn another way: as a deployment of that change would be
    assert len(client.get(tile_url(centre, 14)).content) > MAX_TILE_BYTES
    # Zoomed in to a part of it with fewer households: points again.
    z18 = mapbox_vector_tile.decode(client.get(tile_url(centre, 18)).content)
    assert z18 and all("id" in f["properties"] for f in z18["households"]["features"])


def test_a_tile_of_fewer_points_but_too_many_bytes_is_clustered(personas, as_user, monkeypatch):
    HouseholdFactory.create_batch(5, region_id=PENAJAM_KELURAHAN, lokasi=Point(116.704, -1.258))
    indicators_refresh()
    monkeypatch.setattr(tiles, "MAX_TILE_BYTES", 100)  # five points are more than this
    features = mapbox_vector_tile.decode(
        as_user(personas["analyst"]).get(tile_url(Point(116.704, -1.258), 15)).content
    )["households"]["features"]
    assert [f["properties"]["count"] for f in features] == [5]


def test_values_revisit_gets_304_until_a_refresh_and_differs_per_scope(personas, as_user):
    HouseholdFactory.create_batch(2, region_id=PENAJAM_KELURAHAN)
    indicators_refresh()
    public = as_user(None)
    first = public.get(VALUES)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    assert public.get(VALUES, headers={"If-None-Match": first["ETag"]}).status_code == 304
    # The analyst sees exact figures where the public sees suppressed ones: no 304 for
    # the public's body.
    analyst = as_user(personas["analyst"]).get(VALUES, headers={"If-None-Match": first["ETag"]})
    assert analyst.status_code == 200 and analyst["ETag"] != first["ETag"]
    # The language changes the answer too.
    english = as_user(None).get(
        VALUES, headers={"If-None-Match": first["ETag"], "Accept-Language": "en"}
    )
    assert english.status_code == 200
    HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    indicators_refresh()
    after = as_user(None).get(VALUES, headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and after["ETag"] != first["ETag"]


def test_a_refresh_with_nothing_stale_keeps_the_etag(personas, as_user):
    HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    indicators_refresh()
    first = as_user(None).get(VALUES)
    indicators_refresh()  # nothing marked: no new version
    assert as_user(None).get(VALUES, headers={"If-None-Match": first["ETag"]}).status_code == 304


def test_regions_revisit_gets_304_until_the_area_tree_changes(client):
    first = client.get(REGIONS)
    assert first.status_code == 200
    assert client.get(REGIONS, headers={"If-None-Match": first["ETag"]}).status_code == 304
    geojson = client.get(REGIONS + "&format=geojson", headers={"If-None-Match": first["ETag"]})
    assert geojson.status_code == 200 and geojson["ETag"] != first["ETag"]
    Region.objects.filter(code="64.09.01").update(name="Penajam (baru)")
    after = client.get(REGIONS, headers={"If-None-Match": first["ETag"]})
    assert after.status_code == 200 and "Penajam (baru)" in after.text


def test_filtered_tiles_are_not_kept_but_revalidate_per_scope(personas, as_user, two_villages):
    url = tile_url(two_villages[0].lokasi, 15, "has_location=true")
    first = as_user(personas["analyst"]).get(url)
    assert first.status_code == 200 and first.content
    assert not TileCache.objects.exists()
    again = as_user(personas["analyst"]).get(url, headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    other = as_user(personas["operator_b"]).get(url, headers={"If-None-Match": first["ETag"]})
    assert other.status_code == 200 and other.content == b""


def test_a_cached_tile_of_a_village_edited_before_its_refresh_is_drawn_live(
    personas, as_user, two_villages
):
    client = as_user(personas["analyst"])
    a = two_villages[0]
    url = tile_url(a.lokasi, 16)
    cached = client.get(url)
    # Moved a little (the same tile), committed, the refresh not run yet (the background
    # worker does it after the commit): the map shows the new point already.
    moved = Point(a.lokasi.x + 2e-5, a.lokasi.y, srid=4326)
    Household.objects.filter(pk=a.pk).update(lokasi=moved)
    live = client.get(url, headers={"If-None-Match": cached["ETag"]})
    assert live.status_code == 200 and live.content != cached.content
    # A village far away being stale leaves this tile served from the cache.
    indicators_refresh()
    warm = client.get(url)
    Household.objects.filter(pk=two_villages[1].pk).update(jumlah_ats=2)  # Babulu, stale
    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, headers={"If-None-Match": warm["ETag"]})
    assert again.status_code == 304 and household_queries(queries) == []


def test_a_repeated_values_request_is_answered_from_the_kept_answer(personas, as_user):
    HouseholdFactory.create_batch(2, region_id=PENAJAM_KELURAHAN)
    indicators_refresh()
    first = as_user(None).get(VALUES)
    with CaptureQueriesContext(connection) as queries:
        again = as_user(None).get(VALUES)
    assert again.status_code == 200 and again.content == first.content
    assert again["ETag"] == first["ETag"] and again["Content-Type"] == first["Content-Type"]
    # The versions were read; neither the rollup nor the area names were.
    statements = " ".join(q["sql"] for q in queries.captured_queries)
    assert "desapresisi_dataversion" in statements
    assert "households_indicatorvalue" not in statements
    # Another scope gets its own answer (exact figures), never the public's.
    analyst = as_user(personas["analyst"]).get(VALUES)
    assert analyst["ETag"] != first["ETag"]
    # A refresh that changes the figures makes a new answer at once.
    HouseholdFactory.create_batch(3, region_id=PENAJAM_KELURAHAN)
    indicators_refresh()
    after = as_user(None).get(VALUES)
    assert after["ETag"] != first["ETag"] and after.content != first.content


def test_kept_answers_are_dropped_least_recently_used_first():
    answers = http_cache.PublishedAnswers(limit=100)
    answers.put('"a"', b"x" * 20, "application/json")
    answers.put('"b"', b"y" * 20, "application/json")
    answers.put('"too big"', b"z" * 30, "application/json")  # over a quarter: not kept
    assert answers.get('"too big"') is None
    assert answers.get('"a"') == (b"x" * 20, "application/json")  # a is now the newest
    for name in "cdef":
        answers.put(f'"{name}"', b"w" * 20, "application/json")
    assert answers.size <= 100
    assert answers.get('"b"') is None and answers.get('"a"') is not None
    answers.clear()
    assert answers.size == 0 and answers.get('"a"') is None


def test_versions_are_trusted_for_their_time_to_live(
    settings, monkeypatch, personas, as_user, django_capture_on_commit_callbacks
):
    settings.DATA_VERSION_TTL_MS = 1000
    clock = [1000.0]
    monkeypatch.setattr(http_cache.time, "monotonic", lambda: clock[0])
    HouseholdFactory.create_batch(2, region_id=PENAJAM_KELURAHAN)
    indicators_refresh()
    first = as_user(None).get(VALUES)
    with CaptureQueriesContext(connection) as queries:
        again = as_user(None).get(VALUES)
    assert again.content == first.content
    assert not any("desapresisi_dataversion" in q["sql"] for q in queries.captured_queries)
    # A bump from outside this process (here the area tree's trigger) shows once the
    # time to live has passed ...
    Region.objects.filter(code=PENAJAM_KELURAHAN).update(name="Penajam (baru)")
    assert as_user(None).get(VALUES)["ETag"] == first["ETag"]
    clock[0] += 1.0
    renamed = as_user(None).get(VALUES)
    assert renamed["ETag"] != first["ETag"] and "Penajam (baru)" in renamed.text
    # ... and a refresh made in this process at once (once it commits).
    HouseholdFactory.create_batch(3, region_id=PENAJAM_KELURAHAN)
    with django_capture_on_commit_callbacks(execute=True):
        indicators_refresh()
    refreshed = as_user(None).get(VALUES)
    assert refreshed["ETag"] != renamed["ETag"]
