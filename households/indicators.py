"""Indicators as data, and their rollup over the area tree.

A spec (an indicator's numerator or denominator) is JSON that selects households or
members and says what to add up:

    {"unit": "household" | "member",
     "aggregate": "count" (default) | "sum", "field": <numeric field, for sum>,
     "where":   {lookup: value, ...},     all must hold
     "exclude": {lookup: value, ...},     none may hold
     "any":     [condition, ...]}         at least one must hold (each a where/exclude/any)

Lookups are a field name, optionally with one of the suffixes in `LOOKUPS`. Members can
also be filtered on `umur` (age in whole years at their household's survey date), on
`anak_tidak_sekolah` (the one rule for a child 7-18 out of school, the SQL function that
also keeps `jumlah_ats`) and on `household__<field>`. Only the fields listed below are
accepted, so a definition can be edited in the admin without opening a door to arbitrary
queries.

The same spec drives the rollup (`indicators_refresh`) and the household and member lists
(`spec_queryset`), so the households an indicator counts are exactly those the list returns.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import ExtractYear

from desapresisi.access import small_cell_threshold
from desapresisi.db import copy_rows

from .models import Household, Indicator, IndicatorValue, Member
from .suppression import suppression_refresh
from .tiles import tile_cells_refresh

DATA_FILE = Path(__file__).resolve().parent / "data" / "indicators.json"

LOOKUPS = {"exact", "in", "range", "gte", "lte", "gt", "lt", "isnull"}
HOUSEHOLD_FIELDS = {
    "fasilitas_bab", "jenis_kloset", "pembuangan_tinja", "tangki_septik_disedot",
    "sumber_air_minum", "jarak_sumber_air_tinja", "sumber_air_mandi", "kepemilikan_rumah",
    "lantai", "dinding", "atap", "penerangan", "bahan_bakar_memasak", "desil_kesejahteraan",
    "desil_tahun", "penerima_pkh", "penerima_bpnt", "penerima_blt_dd", "penerima_pbi_jk",
    "sumber_data", "tangga_sanitasi", "air_minum_layak", "rumah_tidak_layak_huni",
    "jumlah_anggota", "jumlah_ats", "tanggal_survei",
}  # fmt: skip
MEMBER_FIELDS = {
    "jenis_kelamin", "hubungan_keluarga", "partisipasi_sekolah", "jenjang_pendidikan",
    "ijazah_tertinggi", "disabilitas", "umur", "anak_tidak_sekolah",
} | {f"household__{name}" for name in HOUSEHOLD_FIELDS}  # fmt: skip
SUMMABLE = {"household": {"jumlah_anggota", "jumlah_ats"}, "member": set()}
UNITS = {"household": HOUSEHOLD_FIELDS, "member": MEMBER_FIELDS}
CONDITION_KEYS = {"where", "exclude", "any"}
SPEC_KEYS = CONDITION_KEYS | {"unit", "aggregate", "field"}


class AgeAt(models.Func):
    """Whole years between a birth date and a reference date, as PostgreSQL's age() counts."""

    template = "EXTRACT(YEAR FROM age(%(expressions)s))::integer"
    output_field = models.IntegerField()

    def __init__(self, reference, birth_date, **extra):
        super().__init__(reference, birth_date, **extra)


class ChildOutOfSchool(models.Func):
    """A child 7-18 out of school at the survey date: the SQL function the triggers keeping
    `jumlah_ats` call too (households/sql/households_child_out_of_school.sql), so an
    indicator counting it and the stored count cannot disagree."""

    function = "households_child_out_of_school"
    output_field = models.BooleanField()


def members_with_age(queryset: models.QuerySet | None = None) -> models.QuerySet:
    """Members annotated with `umur`, their age at the household's survey date, and
    `anak_tidak_sekolah`."""
    queryset = Member.objects.all() if queryset is None else queryset
    survey_date = F("household__tanggal_survei")
    return queryset.annotate(
        umur=AgeAt(survey_date, F("tanggal_lahir")),
        anak_tidak_sekolah=ChildOutOfSchool(
            F("partisipasi_sekolah"), F("tanggal_lahir"), survey_date
        ),
    )


# --- Specs -----------------------------------------------------------------------------


def validate_spec(spec: Any, *, field: str = "spec") -> None:
    """Raise ValidationError naming what is wrong with a numerator/denominator spec."""
    if not isinstance(spec, dict):
        raise ValidationError(
            {field: "Spesifikasi harus berupa objek JSON. / Must be a JSON object."}
        )
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ValidationError({field: f"Kunci tidak dikenal / unknown keys: {sorted(unknown)}"})
    unit = spec.get("unit")
    if unit not in UNITS:
        raise ValidationError({field: f"unit harus / must be one of {sorted(UNITS)}"})
    aggregate = spec.get("aggregate", "count")
    if aggregate not in ("count", "sum"):
        raise ValidationError({field: "aggregate harus / must be 'count' or 'sum'"})
    if aggregate == "sum" and spec.get("field") not in SUMMABLE[unit]:
        raise ValidationError(
            {field: f"field untuk sum / for sum must be one of {sorted(SUMMABLE[unit])}"}
        )
    _validate_condition(spec, UNITS[unit], field)


def _validate_condition(condition: dict, allowed: set[str], field: str) -> None:
    for key in ("where", "exclude"):
        lookups = condition.get(key, {})
        if not isinstance(lookups, dict):
            raise ValidationError({field: f"'{key}' harus objek / must be an object"})
        for lookup, value in lookups.items():
            name, _, suffix = lookup.partition("__") if "__" in lookup else (lookup, "", "")
            if lookup.startswith("household__"):
                rest = lookup.removeprefix("household__")
                base, _, suffix = rest.partition("__")
                name = f"household__{base}"
            if name not in allowed or (suffix and suffix not in LOOKUPS):
                raise ValidationError({field: f"Lookup tidak diizinkan / not allowed: {lookup!r}"})
            if suffix == "in" and not isinstance(value, list):
                raise ValidationError({field: f"{lookup!r} butuh daftar / needs a list"})
            if suffix == "range" and not (isinstance(value, list) and len(value) == 2):
                raise ValidationError({field: f"{lookup!r} butuh [min, max] / needs [min, max]"})
    alternatives = condition.get("any", [])
    if not isinstance(alternatives, list):
        raise ValidationError({field: "'any' harus daftar / must be a list"})
    for alternative in alternatives:
        if not isinstance(alternative, dict) or set(alternative) - CONDITION_KEYS:
            raise ValidationError({field: "Setiap isi 'any' berisi where/exclude/any saja."})
        _validate_condition(alternative, allowed, field)


def spec_q(condition: dict) -> Q:
    """The Q object of a (validated) condition."""
    q = Q()
    for lookup, value in condition.get("where", {}).items():
        q &= Q(**{lookup: value})
    for lookup, value in condition.get("exclude", {}).items():
        q &= ~Q(**{lookup: value})
    alternatives = condition.get("any", [])
    if alternatives:
        any_q = Q()
        for alternative in alternatives:
            any_q |= spec_q(alternative)
        q &= any_q
    return q


def spec_queryset(spec: dict, queryset: models.QuerySet | None = None) -> models.QuerySet:
    """The households or members a spec selects (narrowing `queryset` when given)."""
    validate_spec(spec)
    if spec["unit"] == "household":
        base = Household.objects.all() if queryset is None else queryset
    else:
        base = members_with_age(queryset)
    return base.filter(spec_q(spec))


def _aggregate(spec: dict) -> models.Aggregate:
    q = spec_q(spec)
    condition = {"filter": q} if q else {}
    if spec.get("aggregate", "count") == "sum":
        return Sum(spec["field"], **condition)
    return Count("pk", **condition)


# --- Definitions ---------------------------------------------------------------------


def indicator_definitions_load(*, update: bool = False) -> tuple[int, int]:
    """Create the indicators of data/indicators.json that are missing; with `update`,
    also overwrite existing ones. Returns (created, updated)."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        definitions = json.load(handle)["indicators"]
    created = updated = 0
    for definition in definitions:
        values = {key: value for key, value in definition.items() if key != "code"}
        validate_spec(values["numerator"], field=f"{definition['code']}.numerator")
        if values.get("denominator") is not None:
            validate_spec(values["denominator"], field=f"{definition['code']}.denominator")
        indicator = Indicator.objects.filter(code=definition["code"]).first()
        if indicator is None:
            Indicator.objects.create(code=definition["code"], **values)
            created += 1
        elif update:
            for key, value in values.items():
                setattr(indicator, key, value)
            indicator.save()
            updated += 1
    return created, updated


# --- Rollup ----------------------------------------------------------------------------

# The one formula for an indicator's value, for every level.
_VALUE_SQL = """
    CASE WHEN i.denominator IS NULL THEN s.numerator * i.factor
         WHEN s.denominator > 0 THEN s.numerator / s.denominator * i.factor
    END
"""
_LEVEL_PREFIX_LENGTHS = (8, 5, 2)  # kecamatan, kabupaten, province


@dataclass
class RefreshResult:
    villages: int
    rows: int
    seconds: float
    full: bool


def _village_aggregates(
    indicators: list[Indicator], villages: list[str] | None
) -> dict[tuple[str, str], dict[str, float]]:
    """{(village code, period): {spec key: value}}: one grouped query per unit."""
    specs: dict[str, dict[str, dict]] = {"household": {}, "member": {}}
    for indicator in indicators:
        for spec in (indicator.numerator, indicator.denominator):
            if spec is not None:
                specs[spec["unit"]][_spec_key(spec)] = spec

    results: dict[tuple[str, str], dict[str, float]] = {}
    for unit, unit_specs in specs.items():
        if not unit_specs:
            continue
        aliases = {f"a{index}": key for index, key in enumerate(unit_specs)}
        aggregates = {alias: _aggregate(unit_specs[key]) for alias, key in aliases.items()}
        if unit == "household":
            queryset = Household.objects.annotate(
                area=F("region_id"), period=ExtractYear("tanggal_survei")
            )
            area_filter = "region_id__in"
        else:
            queryset = members_with_age().annotate(
                area=F("household__region_id"), period=ExtractYear("household__tanggal_survei")
            )
            area_filter = "household__region_id__in"
        if villages is not None:
            queryset = queryset.filter(**{area_filter: villages})
        rows = queryset.values("area", "period").annotate(**aggregates).order_by()
        for row in rows:
            bucket = results.setdefault((row["area"], str(row["period"])), {})
            for alias, key in aliases.items():
                bucket[key] = float(row[alias] or 0)
    return results


def _spec_key(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True)


def _with_ancestors(villages: list[str]) -> list[str]:
    return sorted({code[:length] for code in villages for length in (13, *_LEVEL_PREFIX_LENGTHS)})


def indicators_refresh(*, full: bool = False) -> RefreshResult:
    """Bring the rollup up to date.

    Incremental by default: recomputes the villages that database triggers marked stale
    (any write to households or members marks its village), then their kecamatan,
    kabupaten and province as sums of village numerators and denominators. `full`
    recomputes everything. Concurrent refreshes queue behind an advisory lock.
    """
    started = time.perf_counter()
    indicators = list(Indicator.objects.filter(active=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('indicators_refresh'))")
        cursor.execute("DELETE FROM households_dirtyregion RETURNING region_id")
        dirty = sorted(row[0] for row in cursor.fetchall())
        if full:
            villages = None
        elif not dirty:
            return RefreshResult(0, 0, time.perf_counter() - started, full)
        else:
            villages = dirty

        aggregates = _village_aggregates(indicators, villages)
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS indicator_staging ("
            " indicator_id varchar(40), region_id varchar(13), period varchar(7),"
            " numerator float8, denominator float8) ON COMMIT DELETE ROWS"
        )
        # Two refreshes in one transaction must not see each other's rows.
        cursor.execute("TRUNCATE indicator_staging")
        copy_rows(
            table="indicator_staging",
            columns=["indicator_id", "region_id", "period", "numerator", "denominator"],
            rows=(
                (
                    indicator.code,
                    area,
                    period,
                    values.get(_spec_key(indicator.numerator), 0.0),
                    None
                    if indicator.denominator is None
                    else values.get(_spec_key(indicator.denominator), 0.0),
                )
                for (area, period), values in aggregates.items()
                for indicator in indicators
            ),
            cursor=cursor,
        )
        if villages is None:
            cursor.execute("DELETE FROM households_indicatorvalue")
            cursor.execute("SELECT DISTINCT region_id FROM indicator_staging")
            affected = [row[0] for row in cursor.fetchall()]
        else:
            affected = villages
            cursor.execute(
                "DELETE FROM households_indicatorvalue WHERE region_id = ANY(%s)", [villages]
            )
        cursor.execute(
            f"""
            INSERT INTO households_indicatorvalue
                (indicator_id, region_id, period, numerator, denominator, value)
            SELECT s.indicator_id, s.region_id, s.period, s.numerator, s.denominator,
                   {_VALUE_SQL}
            FROM indicator_staging s JOIN households_indicator i ON i.code = s.indicator_id
            """  # noqa: S608 - a constant expression, no input
        )
        rows = cursor.rowcount
        for length in _LEVEL_PREFIX_LENGTHS:
            ancestors = sorted({code[:length] for code in affected})
            cursor.execute(
                "DELETE FROM households_indicatorvalue WHERE region_id = ANY(%s)", [ancestors]
            )
            cursor.execute(
                f"""
                INSERT INTO households_indicatorvalue
                    (indicator_id, region_id, period, numerator, denominator, value)
                SELECT s.indicator_id, s.region_id, s.period, s.numerator, s.denominator,
                       {_VALUE_SQL}
                FROM (
                    SELECT v.indicator_id, left(v.region_id, %(length)s) AS region_id, v.period,
                           sum(v.numerator) AS numerator, sum(v.denominator) AS denominator
                    FROM households_indicatorvalue v
                    WHERE length(v.region_id) = 13
                      AND left(v.region_id, %(length)s) = ANY(%(ancestors)s)
                    GROUP BY 1, 2, 3
                ) s JOIN households_indicator i ON i.code = s.indicator_id
                """,  # noqa: S608 - a constant expression, no input
                {"length": length, "ancestors": ancestors},
            )
            rows += cursor.rowcount
        # What the public may see of the groups these rows belong to.
        suppression_refresh(
            cursor,
            areas=None if villages is None else _with_ancestors(affected),
            limit=small_cell_threshold(),
        )
        # The map's cluster cells are counts of the same households: same villages, same
        # transaction, so the map and the figures never disagree after a refresh.
        tile_cells_refresh(cursor, villages)
        if villages is None:
            # Rebuilt tables: fresh statistics, or the planner works from the old ones.
            cursor.execute("ANALYZE households_indicatorvalue, households_tilecell")
    return RefreshResult(
        villages=len(affected), rows=rows, seconds=time.perf_counter() - started, full=full
    )


__all__ = [
    "IndicatorValue",
    "indicator_definitions_load",
    "indicators_refresh",
    "members_with_age",
    "spec_queryset",
    "validate_spec",
]
