"""Reads of the area tree: filtered lists, one area, and GeoJSON built in PostGIS.

Polygons never travel to Python on these paths: the JSON list carries a bounding box and
an inner point computed in SQL, and GeoJSON is assembled by PostgreSQL as one text value.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .codes import below_q
from .models import Region, UnitKind, VillageUnit

DEFAULT_TOLERANCE = 0.0005  # degrees, about 50 m: village outlines stay recognisable
MAX_TOLERANCE = 0.1
GEOJSON_MAX_FEATURES = 5000

LIST_FIELDS = (
    "code",
    "name",
    "level",
    "kind",
    "parent",  # values("parent") yields the parent's code, not a Region
    "area_km2",
    "bps_code",
    "code_version",
)


class RegionLimitExceeded(ValueError):
    """The filters match more areas than one unpaginated GeoJSON answer may carry."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} regions match")
        self.limit = limit


@dataclass(frozen=True)
class RegionFilter:
    """The filters shared by the JSON list and the GeoJSON collection. Empty means unset."""

    level: str | None = None
    kind: str | None = None
    parent: str | None = None
    within: str | None = None
    q: str | None = None
    has_boundary: bool | None = None

    def apply(self, regions: QuerySet[Region]) -> QuerySet[Region]:
        if self.level:
            regions = regions.filter(level=self.level)
        if self.kind:
            regions = regions.filter(kind=self.kind)
        if self.parent:
            regions = regions.filter(parent_id=self.parent)
        if self.within:
            # Strictly below: the area itself is not "within" it.
            regions = regions.filter(below_q(self.within))
        if self.q:
            regions = regions.filter(Q(name__icontains=self.q) | Q(code__startswith=self.q))
        if self.has_boundary is not None:
            regions = regions.filter(boundary__isnull=not self.has_boundary)
        return regions


class _BoundingBox(Func):
    # Rounded outward, so the 6-decimal box still contains the whole area.
    template = (
        "(SELECT ARRAY[floor(ST_XMin(s.box) * 1e6::float8) / 1e6::float8,"
        " floor(ST_YMin(s.box) * 1e6::float8) / 1e6::float8,"
        " ceil(ST_XMax(s.box) * 1e6::float8) / 1e6::float8,"
        " ceil(ST_YMax(s.box) * 1e6::float8) / 1e6::float8]"
        " FROM Box2D(%(expressions)s) AS s(box) WHERE s.box IS NOT NULL)"
    )
    output_field = ArrayField(FloatField())


class _InnerPoint(Func):
    # ST_PointOnSurface, unlike the centroid, lies inside a bent or multi-part village.
    template = (
        "(SELECT ARRAY[round(ST_X(s.pt)::numeric, 6)::float8,"
        " round(ST_Y(s.pt)::numeric, 6)::float8]"
        " FROM ST_PointOnSurface(%(expressions)s) AS s(pt) WHERE s.pt IS NOT NULL)"
    )
    output_field = ArrayField(FloatField())


def _with_summary(regions: QuerySet[Region]) -> QuerySet[Region]:
    return regions.annotate(
        has_boundary=ExpressionWrapper(Q(boundary__isnull=False), output_field=BooleanField()),
        bbox=_BoundingBox("boundary"),
        centroid=_InnerPoint("boundary"),
    )


def regions_list(*, filters: RegionFilter) -> QuerySet:
    """Rows (dicts) of the areas matching `filters`, ordered by code, ready to paginate."""
    return _with_summary(filters.apply(Region.objects.all())).values(
        *LIST_FIELDS, "has_boundary", "bbox", "centroid"
    )


def region_detail(*, code: str) -> dict | None:
    """One area as a dict (list fields, children_count, boundary_source), or None."""
    children = (
        Region.objects.filter(parent_id=OuterRef("code"))
        .order_by()
        .values("parent_id")
        .annotate(n=Count("code"))
        .values("n")
    )
    return (
        _with_summary(Region.objects.filter(code=code))
        .annotate(children_count=Coalesce(Subquery(children), Value(0)))
        .values(
            *LIST_FIELDS,
            "has_boundary",
            "bbox",
            "centroid",
            "children_count",
            "boundary_source",
        )
        .first()
    )


# One Feature per row of villages_region r. A region without a boundary keeps its place
# with "geometry": null (ST_AsGeoJSON(NULL) is NULL). Tolerance 0 leaves every vertex.
# GEOS hands back a Polygon for a one-part MultiPolygon; ST_Multi keeps one geometry type
# per collection, which GIS clients (QGIS, GDAL) need to read it as one layer.
_FEATURE_SQL = """
json_build_object(
    'type', 'Feature',
    'id', r.code,
    'geometry', ST_AsGeoJSON(ST_Multi(ST_SimplifyPreserveTopology(r.boundary, %s)), 6)::json,
    'properties', json_build_object(
        'code', r.code,
        'name', r.name,
        'level', r.level,
        'kind', r.kind,
        'parent', r.parent_id,
        'area_km2', r.area_km2
    )
)
"""

# Composed from constants only (S608): request values travel as parameters.
_COLLECTION_SQL = f"""
SELECT json_build_object(
    'type', 'FeatureCollection',
    'features', COALESCE(json_agg({_FEATURE_SQL} ORDER BY r.code), '[]'::json)
)::text
FROM villages_region r
WHERE r.code IN ({{codes}})
"""  # noqa: S608

_FEATURE_BY_CODE_SQL = f"""
SELECT ({_FEATURE_SQL})::text FROM villages_region r WHERE r.code = %s
"""  # noqa: S608


def regions_geojson(
    *,
    filters: RegionFilter,
    tolerance: float = DEFAULT_TOLERANCE,
    limit: int = GEOJSON_MAX_FEATURES,
) -> str:
    """A GeoJSON FeatureCollection (text) of the areas matching `filters`, by code.

    Raises RegionLimitExceeded when more than `limit` areas match: the collection is not
    paginated, so the caller must narrow the filters instead.
    """
    codes = filters.apply(Region.objects.all()).order_by().values("code")
    if codes[: limit + 1].count() > limit:
        raise RegionLimitExceeded(limit)
    # The ORM compiles the shared filters into placeholders plus parameters; only that
    # compiled text is spliced in, never a value from the request.
    codes_sql, codes_params = codes.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_COLLECTION_SQL.format(codes=codes_sql), [tolerance, *codes_params])
        return cursor.fetchone()[0]


def region_geojson(*, code: str, tolerance: float = DEFAULT_TOLERANCE) -> str | None:
    """One area as a GeoJSON Feature (text), or None when the code is unknown."""
    with connection.cursor() as cursor:
        cursor.execute(_FEATURE_BY_CODE_SQL, [tolerance, code])
        row = cursor.fetchone()
    return row[0] if row else None


NATIONAL_CODES_FILE = Path(__file__).resolve().parent / "data" / "wilayah_indonesia.csv"


@functools.cache
def _national_names() -> dict[str, dict[str, str]]:
    """Names of the provinces, kabupaten and kecamatan of the national code list, by code."""
    names: dict[str, dict[str, str]] = {"province": {}, "kabupaten": {}, "kecamatan": {}}
    with NATIONAL_CODES_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["level"] in names:
                names[row["level"]][row["code"]] = row["name"]
    return names


@functools.cache
def kecamatan_of_identity_prefix() -> dict[str, str]:
    """Every kecamatan of Indonesia by the 6 digits a NIK or No. KK begins with
    (`640901` -> "Penajam, Kabupaten Penajam Paser Utara").

    Read from the national Kemendagri code list shipped in `villages/data/` rather than
    from the Region table, which usually holds one kabupaten: people registered anywhere
    in Indonesia live in PPU.
    """
    names = _national_names()
    return {
        code.replace(".", ""): f"{name}, {names['kabupaten'].get(code[:5], code[:5])}"
        for code, name in names["kecamatan"].items()
    }


def province_of_identity_prefix(prefix: str) -> str | None:
    """The province a NIK or No. KK prefix names (its first 2 digits), or None."""
    return _national_names()["province"].get(prefix[:2])


# --- The units below a village (dusun, RW, RT) -------------------------------------------

UNIT_FIELDS = ("dusun", "rw", "rt")


@dataclass(frozen=True)
class UnitRow:
    id: int
    kind: str
    name: str
    parent_id: int | None


@dataclass
class UnitIndex:
    """The units of one village, for resolving a household's (dusun, rw, rt).

    The rule (the same as the database's `households_unit_resolve`): a blank name names no
    unit; a dusun by its name; an RW by its name under the household's dusun, else one
    directly under the village; an RT by its name under the household's RW, else its
    dusun, else directly under the village. A village without units checks nothing."""

    region_code: str
    units: list[UnitRow] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_key = {(u.kind, u.parent_id, u.name): u for u in self.units}

    @property
    def defined(self) -> bool:
        return bool(self.units)

    def _find(self, kind: str, name: str, parents: list[int | None]) -> UnitRow | None:
        for parent in parents:
            unit = self._by_key.get((kind, parent, name))
            if unit is not None:
                return unit
        return None

    def resolve(self, dusun: str, rw: str, rt: str) -> tuple[list[UnitRow], str | None]:
        """(the chain of units from the dusun down, the first field that names no unit)."""
        chain: list[UnitRow] = []
        if not self.defined:
            return chain, None
        d = w = None
        if dusun:
            d = self._find(UnitKind.DUSUN, dusun, [None])
            if d is None:
                return chain, "dusun"
            chain.append(d)
        if rw:
            w = self._find(UnitKind.RW, rw, [*([d.id] if d else []), None])
            if w is None:
                return chain, "rw"
            chain.append(w)
        if rt:
            parents = [*([w.id] if w else []), *([d.id] if d else []), None]
            t = self._find(UnitKind.RT, rt, parents)
            if t is None:
                return chain, "rt"
            chain.append(t)
        return chain, None

    def problems(self, dusun: str, rw: str, rt: str) -> dict[str, str]:
        """{field: message} for a household naming a unit this village does not have."""
        _chain, problem = self.resolve(dusun or "", rw or "", rt or "")
        if problem is None:
            return {}
        return {problem: unit_problem_message(problem, {"dusun": dusun, "rw": rw, "rt": rt})}

    def children(self, parent_id: int | None, kind: str) -> list[UnitRow]:
        return sorted(
            (u for u in self.units if u.parent_id == parent_id and u.kind == kind),
            key=lambda u: u.name,
        )


# The messages for a name that is not a unit of the village: the form, the API and the
# import say the same (the import stores the msgid and its parameters, see i18n.Message).
UNIT_PROBLEM_MESSAGES = {
    "dusun": gettext_noop("Dusun/lingkungan “%(name)s” tidak terdaftar di desa/kelurahan ini."),
    "rw": gettext_noop("RW “%(name)s” tidak terdaftar di dusun ini (lihat daftar wilayah)."),
    "rt": gettext_noop("RT “%(name)s” tidak terdaftar di RW/dusun ini (lihat daftar wilayah)."),
}


def unit_problem_message(problem: str, names: dict[str, str]) -> str:
    """The message for a name that is not a unit of the village, in the active language."""
    return _(UNIT_PROBLEM_MESSAGES[problem]) % {"name": names.get(problem) or ""}


def unit_index_for(*, region_code: str) -> UnitIndex:
    rows = VillageUnit.objects.filter(region_id=region_code).values_list(
        "id", "kind", "name", "parent_id"
    )
    return UnitIndex(region_code, [UnitRow(*row) for row in rows])


def units_of(*, region_code: str) -> QuerySet[VillageUnit]:
    """The units of one village, dusun first, then by name."""
    return VillageUnit.objects.filter(region_id=region_code).select_related("parent")
