"""Household vector tiles: same filters and scope as the list, clusters at low zoom."""

import datetime as dt
import math

import mapbox_vector_tile
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from desapresisi.access import COARSE_DECIMALS
from households.indicators.rollup import indicators_refresh
from households.models import Household, Indicator, TileCell, Topic
from households.tiles import BUFFER, CLUSTER_CELLS, CLUSTER_MAX_ZOOM, EXTENT, tile_bounds
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def features(client, z, x, y, query=""):
    response = client.get(f"/api/v1/tiles/households/{z}/{x}/{y}.pbf?{query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    if not response.content:
        return []
    return mapbox_vector_tile.decode(response.content)["households"]["features"]


@pytest.fixture
def staff(personas, as_user):
    return as_user(personas["official"])


@pytest.fixture
def homes():
    created = [
        HouseholdFactory(region_id=PENAJAM_KELURAHAN),
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, fasilitas_bab=6, jenis_kloset=None,
                         pembuangan_tinja=None),
        HouseholdFactory(region_id=BABULU_DESA, desil_kesejahteraan=2),
    ]  # fmt: skip
    # A child of 11 who left school: the first household is counted by ats_7_18.
    MemberFactory(household=created[0], tanggal_lahir=dt.date(2014, 5, 1), partisipasi_sekolah=3)
    indicators_refresh()  # what every writer does after its commit; it counts the cells
    return created


def cluster_summary(clusters):
    """Clusters as comparable tuples: position and every count."""
    return sorted(
        (
            tuple(c["geometry"]["coordinates"]),
            *(c["properties"][key] for key in sorted(c["properties"])),
        )
        for c in clusters
    )


def test_tile_bounds_of_the_whole_world():
    west, south, east, north = tile_bounds(0, 0, 0)
    assert (west, east) == (-180, 180)
    assert north == pytest.approx(85.0511, abs=1e-4) and south == pytest.approx(-85.0511, abs=1e-4)


def seen_tile(point, z):
    """The tile in which the official (`staff`) sees a household: its point is rounded to
    COARSE_DECIMALS (the disclosure policy), which may move it into a neighbouring tile."""
    return tile_of(round(point.x, COARSE_DECIMALS), round(point.y, COARSE_DECIMALS), z)


def test_high_zoom_tile_carries_the_household_without_personal_data(staff, homes):
    home = homes[1]
    x, y = seen_tile(home.lokasi, 16)
    found = [f for f in features(staff, 16, x, y) if f["properties"]["id"] == home.pk]
    assert len(found) == 1
    properties = found[0]["properties"]
    # One flag per map criterion, named by the indicator's code.
    assert properties["tanpa_jamban"] is True
    assert properties["ats_7_18"] is False and properties["desil_1_4"] is False
    assert not {"no_kk", "nik", "nama", "alamat"} & set(properties)
    # A member numerator flags the household of the member it counts.
    x, y = seen_tile(homes[0].lokasi, 16)
    found = [f for f in features(staff, 16, x, y) if f["properties"]["id"] == homes[0].pk]
    assert found[0]["properties"]["ats_7_18"] is True
    assert found[0]["properties"]["tanpa_jamban"] is False


def test_tile_applies_the_list_filters(staff, homes):
    home = homes[0]
    x, y = seen_tile(home.lokasi, 16)
    assert any(f["properties"]["id"] == home.pk for f in features(staff, 16, x, y))
    assert not any(
        f["properties"]["id"] == home.pk for f in features(staff, 16, x, y, "fasilitas_bab=6")
    )


def test_low_zoom_tile_carries_counted_clusters(staff, homes):
    z = 7  # one tile of 2.8 degrees holds all of PPU
    assert z <= CLUSTER_MAX_ZOOM
    x, y = tile_of(116.6, -1.3, z)
    clusters = features(staff, z, x, y)
    assert clusters and all("count" in c["properties"] for c in clusters)
    assert sum(c["properties"]["count"] for c in clusters) == 3
    assert sum(c["properties"]["tanpa_jamban"] for c in clusters) == 1
    assert sum(c["properties"]["ats_7_18"] for c in clusters) == 1
    assert sum(c["properties"]["desil_1_4"] for c in clusters) == 1
    # The grouped path counts the same.
    grouped = features(staff, z, x, y, "has_location=true")
    assert cluster_summary(grouped) == cluster_summary(clusters)


def test_tile_outside_the_data_is_empty(staff, homes):
    assert features(staff, 14, 0, 0) == []


def test_out_of_range_tile_is_404_and_bad_filter_400(staff):
    assert staff.get("/api/v1/tiles/households/3/8/0.pbf").status_code == 404
    response = staff.get("/api/v1/tiles/households/3/1/1.pbf?bbox=x")
    assert response.status_code == 400
    assert "bbox" in response.json()["error"]["fields"]
    for z in (7, 16):  # cluster cells and points alike
        response = staff.get(f"/api/v1/tiles/households/{z}/1/1.pbf?region=64.x")
        assert response.status_code == 400
        assert "region" in response.json()["error"]["fields"]


def test_tiles_respect_the_access_scope(client, homes, personas):
    client.force_login(personas["analyst_waru"])
    home = homes[0]
    x, y = tile_of(home.lokasi.x, home.lokasi.y, 16)
    assert features(client, 16, x, y) == []


def test_anonymous_visitors_get_no_tiles(client, homes):
    assert client.get("/api/v1/tiles/households/10/840/519.pbf").status_code in (401, 403)


PPU_Z7 = (7, *tile_of(116.6, -1.3, 7))


@pytest.mark.parametrize("z", [7, 10, 13])
def test_cluster_cells_give_the_same_tile_as_grouping_the_households(staff, z):
    # Many households around one kelurahan, so clusters hold several each.
    created = [HouseholdFactory(region_id=PENAJAM_KELURAHAN) for _ in range(30)]
    created += [HouseholdFactory(region_id=BABULU_DESA, fasilitas_bab=6, jenis_kloset=None,
                                 pembuangan_tinja=None) for _ in range(10)]  # fmt: skip
    indicators_refresh()
    home = created[0]
    x, y = tile_of(home.lokasi.x, home.lokasi.y, z)
    with CaptureQueriesContext(connection) as queries:
        from_cells = features(staff, z, x, y)
    assert any("households_tilecell" in q["sql"] for q in queries.captured_queries)
    # Any filter besides the area sends the tile to the per-request grouping of households.
    with CaptureQueriesContext(connection) as queries:
        grouped = features(staff, z, x, y, "has_location=true")
    assert not any("households_tilecell" in q["sql"] for q in queries.captured_queries)
    assert from_cells and cluster_summary(from_cells) == cluster_summary(grouped)


def test_a_neighbour_cell_cut_by_the_tile_margin_clusters_alike_on_both_paths(staff):
    """A cell just west of the tile holds one household inside the tile's drawing margin
    and one outside it: both paths must average the whole cell (this failed at random
    with factory points before the grouped path read whole neighbour cells)."""
    z = 10
    x, y = tile_of(116.70, -1.25, z)
    west, south, east, north = tile_bounds(z, x, y)
    margin = (east - west) * BUFFER / EXTENT
    assert margin < (east - west) / CLUSTER_CELLS  # both points lie in one neighbour cell
    lat = (south + north) / 2
    # Their average, where the cluster is drawn, lies within the margin.
    for lon in (west - margin * 0.2, west - margin * 1.5):
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, lokasi=f"SRID=4326;POINT({lon} {lat})")
    indicators_refresh()
    from_cells = features(staff, z, x, y)
    grouped = features(staff, z, x, y, "has_location=true")
    assert [c["properties"]["count"] for c in from_cells] == [2]
    assert cluster_summary(from_cells) == cluster_summary(grouped)


def test_cluster_cells_follow_the_access_scope_and_the_area_filter(client, homes, personas):
    client.force_login(personas["analyst_waru"])  # Waru: none of the three households
    assert features(client, *PPU_Z7) == []
    client.force_login(personas["official"])  # all of PPU
    assert sum(c["properties"]["count"] for c in features(client, *PPU_Z7)) == 3
    only_babulu = features(client, *PPU_Z7, f"region={BABULU_DESA}")
    assert sum(c["properties"]["count"] for c in only_babulu) == 1
    outside = features(client, *PPU_Z7, "region=64.09.02")
    assert outside == []


def test_cluster_cells_follow_edits_after_the_refresh(staff, homes):
    def total():
        return sum(c["properties"]["count"] for c in features(staff, *PPU_Z7))

    assert total() == 3
    Household.objects.filter(pk=homes[2].pk).delete()
    indicators_refresh()  # the touched village only
    assert total() == 2
    assert not TileCell.objects.filter(region_id=BABULU_DESA).exists()
    assert TileCell.objects.filter(region_id=PENAJAM_KELURAHAN, z=0).get().households == 2


def test_an_official_sees_a_household_near_a_tile_edge_in_the_tile_of_its_rounded_point(
    staff,
):
    """A point east of a z16 tile's edge, beyond the tile's drawing margin, whose rounded
    point lies inside the tile: the tile that draws the rounded point must read the
    household, or it would vanish from the official's map."""
    z = 16
    step = 10**-COARSE_DECIMALS
    x, y = tile_of(116.70, -1.25, z)
    # A tile whose east edge lies just east of a grid line of the rounding.
    while True:
        west, south, east, north = tile_bounds(z, x, y)
        grid_x = math.floor(east / step) * step
        if 0 < east - grid_x < step / 4:
            break
        x += 1
    margin = (east - west) * BUFFER / EXTENT
    lon = east + 1.5 * margin  # outside this tile and its margin...
    assert round(lon, COARSE_DECIMALS) == pytest.approx(grid_x)  # ...drawn inside it
    lat = round((south + north) / 2, COARSE_DECIMALS)
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN, lokasi=f"SRID=4326;POINT({lon} {lat})")
    assert seen_tile(home.lokasi, z) == (x, y)
    assert any(f["properties"]["id"] == home.pk for f in features(staff, z, x, y))


def test_an_indicator_flagged_as_map_criterion_reaches_points_and_clusters(staff, homes, client):
    """A new indicator becomes a map criterion by its flag alone: its numerator (here a
    member one) is counted in the cluster cells and flagged on the points, named by its
    code, and the page offers it."""
    Indicator.objects.create(
        code="ada_perempuan", name_id="Rumah tangga dengan anggota perempuan",
        name_en="Households with a woman", topic=Topic.POPULATION,
        numerator={"unit": "member", "where": {"jenis_kelamin": 2}}, denominator=None,
        factor=1, unit="rumah tangga", sort_order=200, map_criterion=True,
    )  # fmt: skip
    MemberFactory(household=homes[2], jenis_kelamin=2)
    indicators_refresh(full=True)

    for home in homes:
        x, y = seen_tile(home.lokasi, 16)
        point = next(f for f in features(staff, 16, x, y) if f["properties"]["id"] == home.pk)
        assert point["properties"]["ada_perempuan"] is (home == homes[2])
    from_cells = features(staff, *PPU_Z7)
    grouped = features(staff, *PPU_Z7, "has_location=true")
    assert sum(c["properties"]["ada_perempuan"] for c in from_cells) == 1
    assert cluster_summary(from_cells) == cluster_summary(grouped)
    cell = TileCell.objects.get(region_id=BABULU_DESA, z=0)
    assert cell.criteria == {"tanpa_jamban": 0, "ats_7_18": 0, "desil_1_4": 1, "ada_perempuan": 1}

    page = staff.get("/")
    assert '<option value="ada_perempuan">Rumah tangga dengan anggota perempuan</option>' in (
        page.text
    )


def test_a_criterion_no_longer_flagged_leaves_the_tiles(staff, homes):
    Indicator.objects.filter(code="desil_1_4").update(map_criterion=False)
    indicators_refresh(full=True)
    clusters = features(staff, *PPU_Z7)
    assert clusters and not any("desil_1_4" in c["properties"] for c in clusters)
    assert sum(c["properties"]["tanpa_jamban"] for c in clusters) == 1
    assert "desil_1_4" not in TileCell.objects.filter(z=0).first().criteria


def test_a_map_criterion_must_count_households():
    indicator = Indicator(
        code="anggota", name_id="Anggota", name_en="Members", topic=Topic.POPULATION,
        numerator={"unit": "household", "aggregate": "sum", "field": "jumlah_anggota"},
        factor=1, unit="jiwa", map_criterion=True,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="map criterion counts"):
        indicator.full_clean()
    indicator.map_criterion = False
    indicator.full_clean()  # as a figure it is fine
