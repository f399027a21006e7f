"""Household points as Mapbox Vector Tiles, built by PostGIS (ST_AsMVT).

A tile takes the same filtered, access-scoped queryset as the household list, narrowed to
the tile's bounds (served by the GiST index on the WGS84 point). Up to CLUSTER_MAX_ZOOM a
tile carries counted clusters on a grid instead of every point, so that a kabupaten or a
province stays light at low zoom whatever the number of households; beyond it, one feature
per household with the attributes the map styles on (never a name or an identity number).
"""

from __future__ import annotations

import math

from django.contrib.gis.geos import Polygon
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

EXTENT = 4096
BUFFER = 64
CLUSTER_MAX_ZOOM = 13
CLUSTER_CELLS = 32  # clusters per tile side: one per 8 px of a 256 px tile
WEB_MERCATOR_WIDTH = 40_075_016.685578488
LAYER = "households"
POINT_COLUMNS = [
    "id", "lokasi", "tangga_sanitasi", "air_minum_layak", "rumah_tidak_layak_huni",
    "jumlah_anggota", "jumlah_ats", "desil_kesejahteraan", "fasilitas_bab",
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
    SELECT ST_AsMVTGeom(ST_Transform(f.lokasi, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        %(extent)s, %(buffer)s, true) AS geom,
           f.id, f.tangga_sanitasi, f.air_minum_layak, f.rumah_tidak_layak_huni,
           f.jumlah_anggota, f.jumlah_ats, f.desil_kesejahteraan,
           (f.fasilitas_bab = 6) AS tanpa_jamban
    FROM ({households}) f
) t WHERE t.geom IS NOT NULL
"""

_CLUSTERS_SQL = """
SELECT ST_AsMVT(t, %(layer)s, %(extent)s, 'geom') FROM (
    SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(avg(p.mx), avg(p.my)), 3857),
                        ST_TileEnvelope(%(z)s, %(x)s, %(y)s), %(extent)s, %(buffer)s, true) AS geom,
           count(*) AS count,
           count(*) FILTER (WHERE p.fasilitas_bab = 6) AS tanpa_jamban,
           count(*) FILTER (WHERE p.tangga_sanitasi = 0) AS babs,
           count(*) FILTER (WHERE p.jumlah_ats > 0) AS ada_ats,
           count(*) FILTER (WHERE p.desil_kesejahteraan <= 4) AS desil_1_4,
           sum(p.jumlah_anggota) AS jiwa
    FROM (
        SELECT ST_X(m.g) AS mx, ST_Y(m.g) AS my, m.fasilitas_bab, m.tangga_sanitasi,
               m.jumlah_ats, m.desil_kesejahteraan, m.jumlah_anggota
        FROM (SELECT ST_Transform(f.lokasi, 3857) AS g, f.* FROM ({households}) f) m
    ) p
    GROUP BY floor(p.mx / %(cell)s), floor(p.my / %(cell)s)
) t WHERE t.geom IS NOT NULL
"""


def household_tile(*, queryset: QuerySet, z: int, x: int, y: int) -> bytes:
    """The MVT bytes of one tile for an already filtered and access-scoped queryset."""
    west, south, east, north = tile_bounds(z, x, y)
    # A little beyond the tile, so that symbols at its edge are drawn on both sides.
    margin_x = (east - west) * BUFFER / EXTENT
    margin_y = (north - south) * BUFFER / EXTENT
    envelope = Polygon.from_bbox(
        (west - margin_x, south - margin_y, east + margin_x, north + margin_y)
    )
    envelope.srid = 4326
    households = queryset.filter(lokasi__bboverlaps=envelope).order_by().values(*POINT_COLUMNS)
    template = _CLUSTERS_SQL if z <= CLUSTER_MAX_ZOOM else _POINTS_SQL
    params = {
        "layer": LAYER,
        "extent": EXTENT,
        "buffer": BUFFER,
        "z": z,
        "x": x,
        "y": y,
        "cell": WEB_MERCATOR_WIDTH / 2**z / CLUSTER_CELLS,
    }
    try:
        inner_sql, inner_params = households.query.sql_with_params()
    except EmptyResultSet:  # nothing in scope: an empty tile, not an error
        return b""
    with connection.cursor() as cursor:
        # psycopg2 binds the inner query's values (quoting them itself); the result is
        # escaped for the outer query's own named parameters.
        inner = cursor.mogrify(inner_sql, inner_params).decode().replace("%", "%%")
        cursor.execute(template.format(households=inner), params)
        row = cursor.fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
