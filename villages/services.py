"""Writes to the area tree: loading the Kemendagri code list and village boundaries."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, InternalError, connection, transaction
from django.utils.translation import gettext

from desapresisi.db import copy_rows
from desapresisi.errors import InvalidInput

from .models import Kind, Level, UnitKind, VillageUnit

DATA_DIR = Path(__file__).resolve().parent / "data"
CODE_VERSION = "Kepmendagri 300.2.2-2138/2025"
BOUNDARY_SOURCE = "cahyadsn/wilayah_boundaries 3c5a796 (MIT), simplified"
UNION_SOURCE = "union of its villages (PostGIS)"


@dataclass(frozen=True)
class Scope:
    codes_file: str
    boundaries_file: str
    # Areas whose whole subtree the code file lists: only these get boundaries built as
    # the union of their children (a province loaded with one kabupaten must not get
    # that kabupaten's outline as its own).
    complete_roots: tuple[str, ...] | None  # None: every province in the file


SCOPES: dict[str, Scope] = {
    "ppu": Scope("wilayah_ppu.csv", "batas_desa_ppu.geojson", ("64.09",)),
    "kaltim": Scope("wilayah_kaltim.csv", "batas_desa_kaltim.geojson", ("64",)),
    "indonesia": Scope("wilayah_indonesia.csv", "batas_desa_kaltim.geojson", None),
}

_LEVEL_ORDER = [Level.PROVINCE, Level.KABUPATEN, Level.KECAMATAN, Level.DESA]
_KIND_BY_TYPE = set(Kind.values)


@dataclass
class LoadResult:
    scope: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    villages_with_boundary: int = 0
    boundaries_built: int = 0

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or self.boundaries_built > 0


class RegionDataError(ValueError):
    """A data file does not have the expected shape; the message names file and row."""


def _read_codes(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        expected = {"code", "name", "level", "parent_code", "type"}
        if not expected.issubset(reader.fieldnames or []):
            raise RegionDataError(f"{path.name}: header must contain {sorted(expected)}")
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if row["level"] not in Level.values or row["type"] not in _KIND_BY_TYPE:
                raise RegionDataError(
                    f"{path.name} row {line_no}: unknown level {row['level']!r} "
                    f"or type {row['type']!r} for code {row['code']!r}"
                )
            rows.append(row)
        return rows


def _read_bps_codes() -> dict[str, str]:
    with (DATA_DIR / "kode_bps_ppu.csv").open(newline="", encoding="utf-8") as handle:
        return {row["kemendagri_code"]: row["bps_code"] for row in csv.DictReader(handle)}


def _read_boundaries(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8") as handle:
        collection = json.load(handle)
    boundaries = {}
    for index, feature in enumerate(collection["features"]):
        code = feature["properties"].get("code")
        if not code or feature.get("geometry") is None:
            raise RegionDataError(f"{path.name} feature {index}: no code or no geometry")
        boundaries[code] = json.dumps(feature["geometry"], separators=(",", ":"))
    return boundaries


_STAGING_DDL = """
CREATE TEMP TABLE region_staging (
    code varchar(13) PRIMARY KEY,
    name varchar(100) NOT NULL,
    level varchar(10) NOT NULL,
    kind varchar(10) NOT NULL,
    parent_code varchar(13),
    geojson text,
    bps_code varchar(10) NOT NULL
) ON COMMIT DROP
"""

# Villages get their polygon from the file; a row with no polygon in this file keeps any
# polygon an earlier, wider load gave it. The WHERE clause makes a re-run a no-op.
_UPSERT_SQL = """
WITH staged AS (
    SELECT s.code, s.name, s.level, s.kind, NULLIF(s.parent_code, '') AS parent_id,
           g.geom AS boundary,
           CASE WHEN g.geom IS NULL THEN NULL
                ELSE round((ST_Area(g.geom::geography) / 1e6)::numeric, 3)::float8 END AS area_km2,
           s.bps_code,
           CASE WHEN g.geom IS NULL THEN '' ELSE %(boundary_source)s END AS boundary_source
    FROM region_staging s
    LEFT JOIN LATERAL (
        SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(
                   ST_SetSRID(ST_GeomFromGeoJSON(s.geojson), 4326)), 3)) AS geom
        WHERE s.geojson IS NOT NULL
    ) g ON true
)
INSERT INTO villages_region AS r
    (code, name, level, kind, parent_id, boundary, area_km2, bps_code, code_version,
     boundary_source)
SELECT code, name, level, kind, parent_id, boundary, area_km2, bps_code, %(code_version)s,
       boundary_source
FROM staged
ON CONFLICT (code) DO UPDATE SET
    name = EXCLUDED.name,
    level = EXCLUDED.level,
    kind = EXCLUDED.kind,
    parent_id = EXCLUDED.parent_id,
    boundary = COALESCE(EXCLUDED.boundary, r.boundary),
    area_km2 = COALESCE(EXCLUDED.area_km2, r.area_km2),
    bps_code = COALESCE(NULLIF(EXCLUDED.bps_code, ''), r.bps_code),
    code_version = EXCLUDED.code_version,
    boundary_source = COALESCE(NULLIF(EXCLUDED.boundary_source, ''), r.boundary_source)
WHERE (r.name, r.level, r.kind, r.parent_id, r.code_version, r.bps_code)
      IS DISTINCT FROM
      (EXCLUDED.name, EXCLUDED.level, EXCLUDED.kind, EXCLUDED.parent_id, EXCLUDED.code_version,
       COALESCE(NULLIF(EXCLUDED.bps_code, ''), r.bps_code))
   OR (EXCLUDED.boundary IS NOT NULL
       AND ST_AsBinary(EXCLUDED.boundary) IS DISTINCT FROM ST_AsBinary(r.boundary))
RETURNING r.level, (xmax = 0) AS inserted
"""

# A parent's boundary is the union of its children, built only when every child has one.
# Unioning in code order keeps the result byte-identical between runs.
_UNION_SQL = """
WITH unions AS (
    SELECT c.parent_id AS code,
           ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(c.boundary ORDER BY c.code)), 3))
               AS geom
    FROM villages_region c
    JOIN villages_region p ON p.code = c.parent_id
    WHERE p.level = %(level)s AND ({root_filter})
    GROUP BY c.parent_id
    HAVING count(*) = count(c.boundary)
)
UPDATE villages_region p
SET boundary = u.geom,
    area_km2 = round((ST_Area(u.geom::geography) / 1e6)::numeric, 3)::float8,
    boundary_source = %(union_source)s
FROM unions u
WHERE p.code = u.code
  AND ST_AsBinary(p.boundary) IS DISTINCT FROM ST_AsBinary(u.geom)
"""


def regions_load(*, scope: str) -> LoadResult:
    """Load codes and boundaries for `scope` ('ppu', 'kaltim' or 'indonesia').

    Idempotent: a second run with the same files changes no row, and the result says so.
    All-or-nothing: any error rolls the whole load back.
    """
    if scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}; choose one of {sorted(SCOPES)}")
    config = SCOPES[scope]
    codes = _read_codes(DATA_DIR / config.codes_file)
    boundaries = _read_boundaries(DATA_DIR / config.boundaries_file)
    bps_codes = _read_bps_codes()

    known = {row["code"] for row in codes}
    unknown = sorted(set(boundaries) - known)
    if scope != "indonesia" and unknown:
        raise RegionDataError(
            f"{config.boundaries_file}: codes not in the code list: {unknown[:5]}"
        )

    result = LoadResult(scope=scope)
    with transaction.atomic(), connection.cursor() as cursor:
        # ON COMMIT DROP alone is not enough when two loads share one transaction.
        cursor.execute("DROP TABLE IF EXISTS region_staging")
        cursor.execute(_STAGING_DDL)
        copy_rows(
            table="region_staging",
            columns=["code", "name", "level", "kind", "parent_code", "geojson", "bps_code"],
            rows=(
                (
                    row["code"],
                    row["name"],
                    row["level"],
                    row["type"],
                    row["parent_code"],
                    boundaries.get(row["code"]) if row["level"] == Level.DESA else None,
                    bps_codes.get(row["code"], ""),
                )
                for row in codes
            ),
            cursor=cursor,
        )
        cursor.execute(
            _UPSERT_SQL, {"code_version": CODE_VERSION, "boundary_source": BOUNDARY_SOURCE}
        )
        for level, inserted in cursor.fetchall():
            bucket = result.created if inserted else result.updated
            bucket[level] = bucket.get(level, 0) + 1
        counts = dict.fromkeys(_LEVEL_ORDER, 0)
        for row in codes:
            counts[row["level"]] += 1
        for level, total in counts.items():
            done = result.created.get(level, 0) + result.updated.get(level, 0)
            result.unchanged[level] = total - done

        if config.complete_roots is None:
            root_filter, params = "true", {}
        else:
            clauses = []
            params = {}
            for index, root in enumerate(config.complete_roots):
                clauses.append(f"(p.code = %(root{index})s OR p.code LIKE %(prefix{index})s)")
                params[f"root{index}"] = root
                params[f"prefix{index}"] = f"{root}.%"
            root_filter = " OR ".join(clauses)
        # Bottom-up, so that a kabupaten is the union of freshly built kecamatan.
        for level in (Level.KECAMATAN, Level.KABUPATEN, Level.PROVINCE):
            cursor.execute(
                _UNION_SQL.format(root_filter=root_filter),
                {"level": level, "union_source": UNION_SOURCE, **params},
            )
            result.boundaries_built += cursor.rowcount

        cursor.execute(
            "SELECT count(*) FROM villages_region r JOIN region_staging s USING (code) "
            "WHERE r.level = 'desa' AND r.boundary IS NOT NULL"
        )
        result.villages_with_boundary = cursor.fetchone()[0]
    return result


# --- The units below a village (dusun, RW, RT) -------------------------------------------

# The database's names for the rules a unit's write can break (migrations of both apps).
_UNIT_UNIQUE = "village_unit_unique_name"
_UNIT_IN_USE = "village_unit_in_use"


def _unit_save(unit: VillageUnit) -> VillageUnit:
    try:
        unit.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(_fields(exc)) from exc
    duplicate = (
        VillageUnit.objects.filter(
            region_id=unit.region_id, kind=unit.kind, parent_id=unit.parent_id, name=unit.name
        )
        .exclude(pk=unit.pk)
        .exists()
    )
    if duplicate:
        raise InvalidInput({"name": [_duplicate_message(unit)]})
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError as exc:
        if _constraint_of(exc) == _UNIT_UNIQUE:
            raise InvalidInput({"name": [_duplicate_message(unit)]}) from exc
        raise
    return unit


def _fields(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def _duplicate_message(unit: VillageUnit) -> str:
    return gettext("%(kind)s “%(name)s” sudah ada di sini.") % {
        "kind": unit.get_kind_display(),
        "name": unit.name,
    }


def _constraint_of(exc: DatabaseError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def unit_create(
    *,
    region_code: str,
    kind: str,
    name: str,
    parent: VillageUnit | None = None,
    kepala: str = "",
    batas=None,
) -> VillageUnit:
    """A new dusun, RW or RT of a village. Raises InvalidInput naming the field."""
    if kind not in UnitKind.values:
        raise InvalidInput({"kind": [gettext("Jenis wilayah tidak dikenal.")]})
    return _unit_save(
        VillageUnit(
            region_id=region_code,
            kind=kind,
            name=(name or "").strip(),
            parent=parent,
            kepala=(kepala or "").strip(),
            batas=batas,
        )
    )


_UNSET = object()


def unit_update(
    *, unit: VillageUnit, name: str | None = None, kepala: str | None = None, batas=_UNSET
) -> VillageUnit:
    """Rename a unit, set its head or outline. A rename follows into the households that
    name the unit (a database trigger does it in the same transaction)."""
    if name is not None:
        unit.name = name.strip()
    if kepala is not None:
        unit.kepala = kepala.strip()
    if batas is not _UNSET:
        unit.batas = batas
    return _unit_save(unit)


def unit_delete(*, unit: VillageUnit) -> None:
    """Delete a unit no household uses and with no unit under it; otherwise InvalidInput
    saying why (how many households of its village use it)."""
    if unit.children.exists():
        raise InvalidInput(
            {"__all__": [gettext("Hapus dulu RW/RT di bawah %(unit)s.") % {"unit": unit}]}
        )
    try:
        with transaction.atomic():
            unit.delete()
    except (IntegrityError, InternalError) as exc:
        if _constraint_of(exc) != _UNIT_IN_USE:
            raise
        used = int(exc.__cause__.diag.message_detail or 0)
        raise InvalidInput(
            {
                "__all__": [
                    gettext("%(unit)s masih dipakai oleh %(count)s rumah tangga; pindahkan dulu.")
                    % {"unit": unit, "count": used}
                ]
            }
        ) from exc
