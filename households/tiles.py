"""Household points as Mapbox Vector Tiles, built by PostGIS (ST_AsMVT).

Up to CLUSTER_MAX_ZOOM a tile carries counted clusters on a grid of CLUSTER_CELLS x
CLUSTER_CELLS cells instead of every point, so that a kabupaten or a province stays light
at low zoom whatever the number of households; beyond it, one feature per household with
the attributes the map styles on (never a name or an identity number).

The map criteria (households/indicators/criteria.py) are compiled from the indicators'
numerator specs: a point carries one boolean per criterion, a cluster one count, both
named by the indicator's code.

Clusters come from one of two places, with the same grid and the same attributes:
- `cluster_tile`: the `TileCell` table, the households of each village counted per cell
  and kept by the indicator rollup (`tile_cells_refresh`). A province at zoom 8 is a few
  thousand rows there instead of a million points, so the map's usual request (its area
  and nothing else) costs milliseconds whatever the scale.
- `household_tile`: the same filtered, access-scoped queryset as the household list,
  narrowed to the tile's bounds (GiST index on the WGS84 point), grouped per request. Used
  for points, and for clusters when the caller filters on anything but the area, which the
  cells cannot answer.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Expression, QuerySet

from desapresisi.http_cache import PublishedAnswers, data_versions
from desapresisi.models import DataVersion, data_version_bumped

from .models import Household

EXTENT = 4096
BUFFER = 64
CLUSTER_MAX_ZOOM = 13
CLUSTER_CELLS = 32  # clusters per tile side: one per 8 px of a 256 px tile
# Beyond CLUSTER_MAX_ZOOM and up to DENSE_MAX_ZOOM, a tile of more households than
# DENSE_POINTS, or whose points came to more than MAX_TILE_BYTES, is clustered on the same
# grid: a point costs about 40 bytes of MVT (measured: 3,500 points, 136 KB), a cluster
# tile holds at most (CLUSTER_CELLS + 2)^2 features (about 60 KB), so none passes 150 KB.
DENSE_POINTS = 3000
DENSE_MAX_ZOOM = 16
MAX_TILE_BYTES = 150_000
WEB_MERCATOR_WIDTH = 40_075_016.685578488
HALF_WIDTH = WEB_MERCATOR_WIDTH / 2
LAYER = "households"
POINT_COLUMNS = [
    "id", "lokasi", "tangga_sanitasi", "air_minum_layak", "rumah_tidak_layak_huni",
    "jumlah_anggota", "jumlah_ats", "desil_kesejahteraan",
]  # fmt: skip


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees of an XYZ tile."""
    n = 2**z
    west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180
    north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
    return west, south, east, north


def tile_is_valid(z: int, x: int, y: int) -> bool:
    return 0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z


_POINTS_SQL = """
SELECT ST_AsMVT(t, %(layer)s, %(extent)s, 'geom') FROM (
    SELECT ST_AsMVTGeom({point}, ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        %(extent)s, %(buffer)s, true) AS geom,
           f.id, f.tangga_sanitasi, f.air_minum_layak, f.rumah_tidak_layak_huni,
           f.jumlah_anggota, f.jumlah_ats, f.desil_kesejahteraan{criteria}
    FROM ({rows}) f
) t WHERE t.geom IS NOT NULL
"""

_CLUSTERS_SQL = """
SELECT ST_AsMVT(t, %(layer)s, %(extent)s, 'geom') FROM (
    SELECT ST_AsMVTGeom({point},
                        ST_TileEnvelope(%(z)s, %(x)s, %(y)s), %(extent)s, %(buffer)s, true) AS geom,
           count(*) AS count{criteria},
           sum(p.jumlah_anggota) AS jiwa
    FROM (
        SELECT ST_X(m.g) AS mx, ST_Y(m.g) AS my, m.jumlah_anggota{columns}
        FROM (SELECT ST_Transform(f.lokasi, 3857) AS g, f.* FROM ({rows}) f) m
    ) p
    GROUP BY floor((p.mx + %(half)s) / %(cell)s), floor((%(half)s - p.my) / %(cell)s)
) t WHERE t.geom IS NOT NULL
"""


def _point_sql(mercator: str, snap_decimals: int | None) -> str:
    """A symbol's position in Web Mercator; with `snap_decimals`, moved to the nearest
    point of that grid of degrees (callers who see rounded points only, see
    desapresisi.access.Disclosure): a cluster of one household is that household's point."""
    if snap_decimals is None:
        return mercator
    grid = 10**-snap_decimals
    return f"ST_Transform(ST_SnapToGrid(ST_Transform({mercator}, 4326), {grid!r}), 3857)"


# The map criteria: (indicator code, boolean expression over households) each, in the
# page's order, compiled from the indicators by
# households.indicators.criteria.map_criteria_conditions (the tiles sit below the
# indicators: they are given the criteria, they do not read them).
Criteria = list[tuple[str, Expression]]


def criteria_pairs(codes: list[str]) -> list[tuple[str, str]]:
    """(column alias, indicator code) per criterion: aliases, not codes, name the SQL
    columns (a code is data); the tiles name their properties by the codes."""
    return [(f"criterion_{index}", code) for index, code in enumerate(codes)]


def with_criteria(queryset: QuerySet, criteria: Criteria) -> tuple[QuerySet, list[tuple[str, str]]]:
    """The household queryset with one boolean column per criterion, and their pairs."""
    pairs = criteria_pairs([code for code, _condition in criteria])
    conditions = {
        alias: condition for (alias, _code), (_c, condition) in zip(pairs, criteria, strict=True)
    }
    return queryset.annotate(**conditions), pairs


def _criteria_sql(pairs: list[tuple[str, str]], template: str) -> str:
    """One output column per criterion, `template` formatted with the column's alias
    (`{alias}`) and named by the indicator code; codes are slugs, quoted as identifiers."""
    quote = connection.ops.quote_name
    return "".join(
        ", " + template.format(alias=alias) + " AS " + quote(code) for alias, code in pairs
    )


def points_template(pairs: list[tuple[str, str]], snap_decimals: int | None = None) -> str:
    """The SQL of a tile of household points around `{rows}`: households with
    POINT_COLUMNS and the criteria's aliases (`with_criteria`)."""
    return _POINTS_SQL.replace(
        "{point}", _point_sql("ST_Transform(f.lokasi, 3857)", snap_decimals)
    ).replace("{criteria}", _criteria_sql(pairs, "coalesce(f.{alias}, false)"))


def cells_template(pairs: list[tuple[str, str]], snap_decimals: int | None = None) -> str:
    """The SQL of a cluster tile around `{rows}`, rows of `TileCell` with CELL_COLUMNS; the
    criteria's codes are parameters named by their aliases. A criterion flagged since the
    last refresh has no count yet: 0 until the refresh."""
    point = (
        "ST_SetSRID(ST_MakePoint(sum(c.sum_x) / sum(c.households),"
        " sum(c.sum_y) / sum(c.households)), 3857)"
    )
    counts = _criteria_sql(pairs, "coalesce(sum((c.criteria ->> %({alias})s)::int), 0)")
    return _CELLS_SQL.replace("{point}", _point_sql(point, snap_decimals)).replace(
        "{criteria}", counts
    )


@dataclass(frozen=True)
class Rendered:
    """A tile's bytes, the villages of the rows it read and the envelope it read them in
    (west, south, east, north in degrees): what the tile cache invalidates it by."""

    tile: bytes
    regions: list[str]
    bounds: tuple[float, float, float, float]


def household_tile(
    *,
    queryset: QuerySet,
    criteria: Criteria,
    z: int,
    x: int,
    y: int,
    snap_decimals: int | None = None,
) -> bytes:
    """The MVT bytes of one tile for an already filtered and access-scoped queryset."""
    return household_tile_rendered(
        queryset=queryset, criteria=criteria, z=z, x=x, y=y, snap_decimals=snap_decimals
    ).tile


def _cluster_envelope(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's own cells and a ring of whole neighbour cells, exactly what
    `cluster_tile` reads: a neighbour cell cut at a margin would average only part of its
    households and put its symbol elsewhere than the cell path does."""
    west, north = _cell_corner(z, x * CLUSTER_CELLS - 1, y * CLUSTER_CELLS - 1)
    east, south = _cell_corner(z, (x + 1) * CLUSTER_CELLS + 1, (y + 1) * CLUSTER_CELLS + 1)
    return west, south, east, north


def _points_envelope(
    z: int, x: int, y: int, snap_decimals: int | None
) -> tuple[float, float, float, float]:
    west, south, east, north = tile_bounds(z, x, y)
    # A little beyond the tile, so that symbols at its edge are drawn on both sides.
    margin_x = (east - west) * BUFFER / EXTENT
    margin_y = (north - south) * BUFFER / EXTENT
    if snap_decimals is not None:
        # Households are drawn where their rounded point is: one whose point lies just
        # outside the tile may be drawn inside it, and must be read by this tile.
        margin_x += 10**-snap_decimals / 2
        margin_y += 10**-snap_decimals / 2
    return west - margin_x, south - margin_y, east + margin_x, north + margin_y


def _polygon(bounds: tuple[float, float, float, float]) -> Polygon:
    envelope = Polygon.from_bbox(bounds)
    envelope.srid = 4326
    return envelope


def household_tile_rendered(
    *,
    queryset: QuerySet,
    criteria: Criteria,
    z: int,
    x: int,
    y: int,
    snap_decimals: int | None = None,
) -> Rendered:
    """One tile for an already filtered and access-scoped queryset: clusters up to
    CLUSTER_MAX_ZOOM; beyond it one point per household, unless the tile holds more than
    DENSE_POINTS of them (a dense village at zoom 14-16), when it is clustered on the same
    grid, so that no tile grows past about 150 KB whatever the density."""
    if z <= CLUSTER_MAX_ZOOM:
        return _grouped_tile(queryset, criteria, z, x, y, snap_decimals, clustered=True)
    if z <= DENSE_MAX_ZOOM:
        bounds = _points_envelope(z, x, y, snap_decimals)
        in_tile = queryset.filter(lokasi__bboverlaps=_polygon(bounds)).order_by()
        if in_tile.values("pk")[: DENSE_POINTS + 1].count() > DENSE_POINTS:
            return _grouped_tile(queryset, criteria, z, x, y, snap_decimals, clustered=True)
    rendered = _grouped_tile(queryset, criteria, z, x, y, snap_decimals, clustered=False)
    if z <= DENSE_MAX_ZOOM and len(rendered.tile) > MAX_TILE_BYTES:
        # Fewer points than DENSE_POINTS but more attributes each (more map criteria).
        return _grouped_tile(queryset, criteria, z, x, y, snap_decimals, clustered=True)
    return rendered


def _grouped_tile(
    queryset: QuerySet,
    criteria: Criteria,
    z: int,
    x: int,
    y: int,
    snap_decimals: int | None,
    *,
    clustered: bool,
) -> Rendered:
    bounds = _cluster_envelope(z, x, y) if clustered else _points_envelope(z, x, y, snap_decimals)
    households, pairs = with_criteria(
        queryset.filter(lokasi__bboverlaps=_polygon(bounds)).order_by(), criteria
    )
    households = households.values(*POINT_COLUMNS, "region_id", *(alias for alias, _code in pairs))
    if clustered:
        point = "ST_SetSRID(ST_MakePoint(avg(p.mx), avg(p.my)), 3857)"
        template = (
            _CLUSTERS_SQL.replace("{point}", _point_sql(point, snap_decimals))
            .replace("{criteria}", _criteria_sql(pairs, "count(*) FILTER (WHERE p.{alias})"))
            .replace("{columns}", "".join(f", m.{alias}" for alias, _code in pairs))
        )
    else:
        template = points_template(pairs, snap_decimals)
    params = {
        "layer": LAYER,
        "extent": EXTENT,
        "buffer": BUFFER,
        "z": z,
        "x": x,
        "y": y,
        "cell": cell_size(z),
        "half": HALF_WIDTH,
    }
    tile, regions = _render(template, households, params)
    return Rendered(tile=tile, regions=regions, bounds=bounds)


def _cell_corner(z: int, cx: int, cy: int) -> tuple[float, float]:
    """(lon, lat) of the north-west corner of cluster cell (cx, cy) at zoom z: cells are
    the tiles of zoom z + 5 (CLUSTER_CELLS = 32 per side)."""
    west, _south, _east, north = tile_bounds(z + int(math.log2(CLUSTER_CELLS)), cx, cy)
    return west, north


def bound_sql(cursor, queryset: QuerySet) -> str:
    """A queryset's SQL with its values bound (psycopg2 quotes them itself), escaped for
    the outer query's own named parameters. Raises EmptyResultSet when nothing matches."""
    inner_sql, inner_params = queryset.query.sql_with_params()
    return cursor.mogrify(inner_sql, inner_params).decode().replace("%", "%%")


_WITH_REGIONS_SQL = """
WITH src AS MATERIALIZED ({rows})
SELECT ({tile}) AS tile, (SELECT array_agg(DISTINCT src.region_id) FROM src) AS regions
"""


def _render(template: str, queryset: QuerySet, params: dict) -> tuple[bytes, list[str]]:
    """Run an ST_AsMVT template around a queryset's SQL (with a `region_id` column):
    the tile's bytes (b"" when nothing is in scope) and the villages of its rows."""
    with transaction.atomic(), connection.cursor() as cursor:
        try:
            inner = bound_sql(cursor, queryset)
        except EmptyResultSet:  # nothing in scope: an empty tile, not an error
            return b"", []
        # The planner's cost of a dense tile (thousands of points, a subquery per map
        # criterion) passes the JIT threshold; compiling costs more than it saves there
        # (measured at 100,000 households, the densest z14 tile: 690 ms with JIT, 280 without).
        cursor.execute("SET LOCAL jit = off")
        tile_sql = template.format(rows="SELECT * FROM src")
        cursor.execute(_WITH_REGIONS_SQL.format(rows=inner, tile=tile_sql), params)
        row = cursor.fetchone()
    tile = bytes(row[0]) if row and row[0] is not None else b""
    return tile, sorted(row[1] or []) if row else []


def cell_size(z: int) -> float:
    """Side of a cluster cell at zoom z, in Web Mercator metres."""
    return WEB_MERCATOR_WIDTH / 2**z / CLUSTER_CELLS


_CELLS_SQL = """
SELECT ST_AsMVT(t, %(layer)s, %(extent)s, 'geom') FROM (
    SELECT ST_AsMVTGeom(
               {point},
               ST_TileEnvelope(%(z)s, %(x)s, %(y)s), %(extent)s, %(buffer)s, true) AS geom,
           sum(c.households) AS count{criteria}, sum(c.jiwa) AS jiwa
    FROM ({rows}) c
    GROUP BY c.cx, c.cy
) t WHERE t.geom IS NOT NULL
"""


def cluster_tile(
    *,
    cells: QuerySet,
    codes: list[str],
    z: int,
    x: int,
    y: int,
    snap_decimals: int | None = None,
) -> bytes:
    """The MVT bytes of a cluster tile (z <= CLUSTER_MAX_ZOOM) from an access-scoped
    queryset of `TileCell`: the tile's own cells and a ring of neighbours, whose symbols
    may reach into it; `codes` are the map criteria counted."""
    return cluster_tile_rendered(
        cells=cells, codes=codes, z=z, x=x, y=y, snap_decimals=snap_decimals
    ).tile


def cluster_tile_rendered(
    *,
    cells: QuerySet,
    codes: list[str],
    z: int,
    x: int,
    y: int,
    snap_decimals: int | None = None,
) -> Rendered:
    """`cluster_tile` with the villages and envelope it read (for the tile cache)."""
    if z > CLUSTER_MAX_ZOOM:
        raise ValueError(f"cluster tiles stop at zoom {CLUSTER_MAX_ZOOM}")
    first_x, first_y = x * CLUSTER_CELLS, y * CLUSTER_CELLS
    rows = (
        cells.filter(
            z=z,
            cx__range=(first_x - 1, first_x + CLUSTER_CELLS),
            cy__range=(first_y - 1, first_y + CLUSTER_CELLS),
        )
        .order_by()
        .values(*CELL_COLUMNS, "region_id")
    )
    pairs = criteria_pairs(codes)
    params = {"layer": LAYER, "extent": EXTENT, "buffer": BUFFER, "z": z, "x": x, "y": y}
    tile, regions = _render(cells_template(pairs, snap_decimals), rows, {**params, **dict(pairs)})
    return Rendered(tile=tile, regions=regions, bounds=_cluster_envelope(z, x, y))


CELL_COLUMNS = ["cx", "cy", "households", "criteria", "jiwa", "sum_x", "sum_y"]

# Households counted at the finest cluster zoom, then every coarser zoom from those
# counts (a cell of zoom z is 2 x 2 cells of zoom z+1, hence the shifts). `{rows}` are the
# households with their criteria (`with_criteria`), `{counts}` one count per criterion,
# `{criteria}` the pairs of the jsonb of counts.
_CELLS_REFRESH_SQL = """
INSERT INTO households_tilecell
    (region_id, z, cx, cy, households, criteria, jiwa, sum_x, sum_y)
SELECT f.region_id, zoom.z, f.cx >> (%(finest)s - zoom.z), f.cy >> (%(finest)s - zoom.z),
       sum(f.households), jsonb_build_object({criteria}), sum(f.jiwa), sum(f.sum_x),
       sum(f.sum_y)
FROM (
    SELECT p.region_id,
           floor((ST_X(p.g) + %(half)s) / %(cell)s)::int AS cx,
           floor((%(half)s - ST_Y(p.g)) / %(cell)s)::int AS cy,
           count(*) AS households{counts},
           coalesce(sum(p.jumlah_anggota), 0) AS jiwa,
           sum(ST_X(p.g)) AS sum_x, sum(ST_Y(p.g)) AS sum_y
    FROM (SELECT ST_Transform(h.lokasi, 3857) AS g, h.* FROM ({rows}) h) p
    GROUP BY 1, 2, 3
) f CROSS JOIN generate_series(0, %(finest)s) AS zoom(z)
GROUP BY 1, 2, 3, 4
"""


def tile_cells_refresh(cursor, villages: list[str] | None, criteria: Criteria) -> int:
    """Recount the cluster cells of these villages (all when None), with a count per map
    criterion, inside the caller's transaction; returns the number of cells written."""
    households = Household.objects.filter(lokasi__isnull=False)
    if villages is None:
        # DELETE, not TRUNCATE: tiles keep reading the old cells until the commit.
        cursor.execute("DELETE FROM households_tilecell")
    else:
        cursor.execute("DELETE FROM households_tilecell WHERE region_id = ANY(%s)", [villages])
        households = households.filter(region_id__in=villages)
    households, pairs = with_criteria(households.order_by(), criteria)
    households = households.values(
        "region_id", "lokasi", "jumlah_anggota", *(alias for alias, _code in pairs)
    )
    sql = _CELLS_REFRESH_SQL.format(
        rows=bound_sql(cursor, households),
        counts="".join(f", count(*) FILTER (WHERE p.{alias}) AS {alias}" for alias, _code in pairs),
        criteria=", ".join(f"%({alias})s::text, sum(f.{alias})" for alias, _code in pairs),
    )
    params = {"finest": CLUSTER_MAX_ZOOM, "half": HALF_WIDTH, "cell": cell_size(CLUSTER_MAX_ZOOM)}
    cursor.execute(sql, {**params, **dict(pairs)})
    return cursor.rowcount


# --- The tile cache ------------------------------------------------------------------------
#
# Rendered tiles kept in households_tilecache by (variant, z, x, y). The rollup refresh
# drops, in its own transaction, every tile that read a village it recomputes (`regions`)
# and every tile whose envelope now holds a household of one (a household moved or
# added where the village drew nothing before): the same dirty-region marks, so a tile is
# exactly as fresh as the figures. A tile is stored only if the figures' DataVersion it
# was rendered under is still current (read FOR SHARE: a refresh about to commit holds
# the row, the insert waits and is skipped), so a tile rendered from data a concurrent
# refresh has just replaced never outlives it.

_CACHE_PUT_SQL = """
INSERT INTO households_tilecache (variant, z, x, y, tile, etag, regions, bounds)
SELECT %(variant)s, %(z)s, %(x)s, %(y)s, %(tile)s, %(etag)s, %(regions)s::varchar[],
       ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)
WHERE EXISTS (
    SELECT 1 FROM desapresisi_dataversion
    WHERE name = 'figures' AND version = %(version)s FOR SHARE
)
ON CONFLICT (variant, z, x, y) DO NOTHING
"""


# A cached tile that may show a village edited since the last refresh (marked stale, not
# yet recomputed) is not served: the request renders it from the households, as it was
# before the cache, until the refresh drops the row. Such a village is one the tile read
# (`regions`: old positions) or one whose boundary, widened by the location rule's
# tolerance (250 m, households.services.locations_check), meets the tile (new ones).
# `households_dirtyregion` is empty between refreshes: the check costs nothing then.
_CACHE_GET_SQL = """
SELECT {columns} FROM households_tilecache t
WHERE t.variant = %s AND t.z = %s AND t.x = %s AND t.y = %s
  AND NOT EXISTS (
      SELECT 1 FROM households_dirtyregion d JOIN villages_region r ON r.code = d.region_id
      WHERE d.region_id = ANY(t.regions) OR r.boundary IS NULL
         OR r.boundary && ST_Expand(t.bounds, 0.003)
  )
"""


def tile_etag(variant: str, tile: bytes) -> str:
    """A tile's ETag (quoted): its bytes and its variant, so that two scopes never share
    one even when their tiles happen to be equal."""
    digest = hashlib.sha256(variant.encode() + b"\0" + tile).hexdigest()[:32]
    return f'"{digest}"'


def tile_cache_etag(*, variant: str, z: int, x: int, y: int) -> str | None:
    """The ETag of a cached tile, or None (a conditional request needs no bytes)."""
    with connection.cursor() as cursor:
        cursor.execute(_CACHE_GET_SQL.format(columns="etag"), [variant, z, x, y])
        row = cursor.fetchone()
    return row[0] if row else None


def tile_cache_get(*, variant: str, z: int, x: int, y: int) -> tuple[bytes, str] | None:
    """(bytes, ETag) of a cached tile, or None."""
    with connection.cursor() as cursor:
        cursor.execute(_CACHE_GET_SQL.format(columns="tile, etag"), [variant, z, x, y])
        row = cursor.fetchone()
    return (bytes(row[0]), row[1]) if row else None


def tile_cache_put(
    *, variant: str, z: int, x: int, y: int, rendered: Rendered, version: int
) -> str:
    """Keep a rendered tile (if `version` of the figures is still current); its ETag."""
    etag = tile_etag(variant, rendered.tile)
    west, south, east, north = rendered.bounds
    with connection.cursor() as cursor:
        cursor.execute(
            _CACHE_PUT_SQL,
            {
                "variant": variant, "z": z, "x": x, "y": y, "tile": rendered.tile,
                "etag": etag, "regions": rendered.regions, "west": west, "south": south,
                "east": east, "north": north, "version": version,
            },
        )  # fmt: skip
    return etag


def tile_cache_invalidate(cursor, villages: list[str] | None) -> int:
    """Drop the cached tiles of these villages (all when None), inside the refresh's
    transaction; returns how many."""
    if villages is None:
        cursor.execute("DELETE FROM households_tilecache")
        return cursor.rowcount
    cursor.execute("DELETE FROM households_tilecache WHERE regions && %s::varchar[]", [villages])
    dropped = cursor.rowcount
    # Candidates first, the tiles overlapping each village's extent (GiST on bounds), then
    # whether one of its households lies in them: probing every cached tile instead took
    # 115 ms for 5,000 cached tiles, this 2 ms (EXPLAIN ANALYZE, docs/benchmark.md).
    cursor.execute(
        """
        WITH village AS MATERIALIZED (
            SELECT region_id, ST_SetSRID(ST_Extent(lokasi), 4326) AS box
            FROM households_household WHERE region_id = ANY(%s) AND lokasi IS NOT NULL
            GROUP BY region_id
        )
        DELETE FROM households_tilecache t USING village v
        WHERE t.bounds && v.box AND EXISTS (
            SELECT 1 FROM households_household h
            WHERE h.region_id = v.region_id AND h.lokasi && t.bounds
        )
        """,
        [villages],
    )
    return dropped + cursor.rowcount


# Part of every cache key: the SQL and the constants a tile is drawn with, so that a
# deployment that changes how tiles look never serves tiles drawn the old way.
TILE_FORMAT = hashlib.sha256(
    "\0".join(
        [_POINTS_SQL, _CLUSTERS_SQL, _CELLS_SQL, _WITH_REGIONS_SQL, *POINT_COLUMNS]
        + [str(n) for n in (EXTENT, BUFFER, CLUSTER_MAX_ZOOM, CLUSTER_CELLS, DENSE_POINTS)]
        + [str(n) for n in (DENSE_MAX_ZOOM, MAX_TILE_BYTES)]
    ).encode()
).hexdigest()[:16]


# --- Tiles kept in the web process ---------------------------------------------------------
#
# A tile the cache served is also kept in the process (`KEPT_TILES`, KEPT_TILES_MB), under
# its variant, its address and the state of the data it was drawn from: the figures, the
# area tree and the indicators' versions, read as the other published answers read them
# (trusted for DATA_VERSION_TTL_MS, http_cache.data_versions). Only while no village is
# marked stale: a marked village may hold households that moved since the tile was drawn,
# and only the cache's own query (`_CACHE_GET_SQL`) tells which tiles it touches, so from
# the first mark to the refresh that clears the marks every tile goes through it again.
# The refresh bumps the figures, which changes the state of every kept tile.

KEPT_TILES = PublishedAnswers(settings.KEPT_TILES_BYTES)


class _KeptMarks:
    """Whether some village is marked stale, as this process read it last, and when."""

    def __init__(self) -> None:
        self._read: tuple[float, bool] = (-math.inf, True)
        self._lock = threading.Lock()

    def any(self, *, ttl: float) -> bool:
        with self._lock:
            read_at, marked = self._read
        if time.monotonic() - read_at < ttl:
            return marked
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM households_dirtyregion)")
            marked = cursor.fetchone()[0]
        with self._lock:
            self._read = (time.monotonic(), marked)
        return marked

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._read = (-math.inf, True)


KEPT_MARKS = _KeptMarks()
# A refresh made by this process is seen at once, as its versions are.
data_version_bumped.connect(KEPT_MARKS.clear, dispatch_uid="tiles-kept-marks")

KEPT_STATE_VERSIONS = (DataVersion.FIGURES, DataVersion.REGIONS, DataVersion.INDICATORS)


def kept_tiles_state() -> str | None:
    """The state under which tiles kept in the process are valid, or None when none may
    be served from the process (none kept, or a village marked stale)."""
    if not KEPT_TILES.limit:
        return None
    if KEPT_MARKS.any(ttl=settings.DATA_VERSION_TTL_MS / 1000):
        return None
    return data_versions(*KEPT_STATE_VERSIONS).key


def kept_tile_key(*, variant: str, z: int, x: int, y: int, state: str) -> str:
    return f"{variant}/{z}/{x}/{y}@{state}"
