"""Reads of household data. Views ask these functions; they never aggregate themselves."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, Sum
from rest_framework.exceptions import ValidationError

from villages.models import Level, Region

from .filters import CODE_RE
from .models import DataSource, Household, Indicator, IndicatorValue


def area_summaries(*, parent_code: str) -> list[dict]:
    """Household and member totals per kecamatan under a kabupaten (one grouped query)."""
    kecamatan = {
        region.code: region.name
        for region in Region.objects.filter(parent_id=parent_code, level=Level.KECAMATAN)
    }
    rows = (
        Household.objects.filter(region__code__startswith=f"{parent_code}.")
        .values("region__parent_id")
        .annotate(
            households=Count("id"),
            members=Sum("jumlah_anggota"),
            synthetic=Count("id", filter=Q(sumber_data=DataSource.SYNTHETIC)),
        )
        .order_by("region__parent_id")
    )
    return [
        {
            "code": row["region__parent_id"],
            "name": kecamatan.get(row["region__parent_id"], ""),
            "households": row["households"],
            "members": row["members"] or 0,
            "synthetic": row["synthetic"],
        }
        for row in rows
    ]


# The public sees areas down to the village; `suppressed` is added to every row.
VALUE_COLUMNS = (
    "indicator", "area_code", "area_name", "level", "period", "numerator", "denominator", "value",
)  # fmt: skip
_CHILD_LEVEL = {2: Level.KABUPATEN, 5: Level.KECAMATAN, 8: Level.DESA}

# One statement: the wanted rows and, for the public, which of them to hide. A cell is
# small when its numerator or denominator is between 1 and the limit (primary
# suppression). Where a group of sibling areas (same parent, indicator and period) has
# exactly one small cell, its parent's total would give it away by subtraction, so the
# smallest other non-zero sibling is hidden too (secondary suppression). Groups are whole
# sibling sets, whatever slice of them the request asks for; areas without a parent
# (provinces) get the primary rule only.
_VALUES_SQL = """
WITH wanted (indicator_id, region_id, name, level, period, numerator, denominator, value,
             parent_id) AS ({wanted}),
groups AS (
    SELECT DISTINCT w.indicator_id, w.period, w.parent_id FROM wanted w
    WHERE %(limit)s > 0 AND w.parent_id IS NOT NULL
),
siblings AS (
    SELECT s.indicator_id, s.period, g.parent_id, s.region_id, s.numerator,
           {small_s} AS small
    FROM groups g
    JOIN villages_region sr ON sr.parent_id = g.parent_id
    JOIN households_indicatorvalue s
      ON s.region_id = sr.code AND s.indicator_id = g.indicator_id AND s.period = g.period
),
ranked AS (
    SELECT s.*,
           count(*) FILTER (WHERE s.small) OVER family AS small_cells,
           count(*) OVER family AS cells,
           row_number() OVER (
               PARTITION BY s.indicator_id, s.period, s.parent_id,
                            (NOT s.small AND coalesce(s.numerator, 0) <> 0)
               ORDER BY s.numerator, s.region_id
           ) AS rank_in_kind,
           (NOT s.small AND coalesce(s.numerator, 0) <> 0) AS other
    FROM siblings s
    WINDOW family AS (PARTITION BY s.indicator_id, s.period, s.parent_id)
),
hidden AS (
    SELECT r.indicator_id, r.period, r.region_id FROM ranked r
    WHERE r.small OR (r.small_cells = 1 AND r.cells > 1 AND r.other AND r.rank_in_kind = 1)
)
SELECT w.indicator_id, w.region_id, w.name, w.level, w.period, w.numerator, w.denominator,
       w.value,
       %(limit)s > 0 AND (h.region_id IS NOT NULL OR (w.parent_id IS NULL AND {small_w}))
FROM wanted w
LEFT JOIN hidden h
  ON h.indicator_id = w.indicator_id AND h.period = w.period AND h.region_id = w.region_id
ORDER BY w.indicator_id, w.period, w.region_id
"""


def _small(alias: str) -> str:
    return (
        f"(coalesce({alias}.numerator, 0) BETWEEN 1 AND %(limit)s"
        f" OR coalesce({alias}.denominator, 0) BETWEEN 1 AND %(limit)s)"
    )


def indicator_values_for(
    *,
    indicators: list[str],
    areas: list[str] | None = None,
    level: str | None = None,
    parent: str | None = None,
    periods: list[str] | None = None,
    suppress_up_to: int | None = None,
) -> list[dict]:
    """Rows of the rollup: indicator, area_code, area_name, level, period, numerator,
    denominator, value, suppressed. `parent` selects the areas below it (at `level`, or
    one level down when no level is given). With `suppress_up_to`, small cells are hidden
    (see `_VALUES_SQL`). Unknown indicator codes are a ValidationError."""
    queryset = IndicatorValue.objects.filter(indicator_id__in=indicators)
    if areas:
        queryset = queryset.filter(region_id__in=areas)
    if parent:
        if not CODE_RE.match(parent):
            raise ValidationError(
                {"parent": f"Kode wilayah tidak valid / invalid code: {parent!r}"}
            )
        queryset = queryset.filter(region__code__startswith=f"{parent}.")
        level = level or _CHILD_LEVEL.get(len(parent))
    if level:
        queryset = queryset.filter(region__level=level)
    if periods:
        queryset = queryset.filter(period__in=periods)
    wanted = queryset.order_by().values_list(
        "indicator_id",
        "region_id",
        "region__name",
        "region__level",
        "period",
        "numerator",
        "denominator",
        "value",
        "region__parent_id",
    )
    rows = _run_values_sql(wanted, suppress_up_to or 0)
    _check_indicator_codes(indicators, {row[0] for row in rows})
    result = []
    for *values, suppressed in rows:
        row = dict(zip(VALUE_COLUMNS, values, strict=True))
        row["suppressed"] = suppressed
        if suppressed:
            row["numerator"] = row["denominator"] = row["value"] = None
        result.append(row)
    return result


def _run_values_sql(wanted, limit: int) -> list[tuple]:
    try:
        wanted_sql, wanted_params = wanted.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        # The inner query's values are bound by psycopg2 and escaped for the outer query's
        # named parameters (the same technique as the tiles).
        inner = cursor.mogrify(wanted_sql, wanted_params).decode().replace("%", "%%")
        sql = _VALUES_SQL.format(wanted=inner, small_s=_small("s"), small_w=_small("w"))
        cursor.execute(sql, {"limit": limit})
        return cursor.fetchall()


def _check_indicator_codes(indicators: list[str], found: set[str]) -> None:
    """Codes with no values are either unknown (an error) or not computed yet (no rows).
    Only those are looked up, so a normal request costs no extra query."""
    missing = set(indicators) - found
    if not missing:
        return
    known = set(Indicator.objects.filter(code__in=missing).values_list("code", flat=True))
    if unknown := missing - known:
        raise ValidationError(
            {"indicator": f"Indikator tidak dikenal / unknown: {sorted(unknown)}"}
        )
