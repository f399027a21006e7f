"""Reads of household data. Views ask these functions; they never aggregate themselves."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, Sum
from rest_framework.exceptions import ValidationError

from villages.models import Level, Region

from . import suppression
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
# The rollup's fields behind VALUE_COLUMNS, in the same order.
_VALUE_FIELDS = (
    "indicator_id", "region_id", "region__name", "region__level", "period", "numerator",
    "denominator", "value",
)  # fmt: skip
_CHILD_LEVEL = {2: Level.KABUPATEN, 5: Level.KECAMATAN, 8: Level.DESA}

# Per request, for a limit the rollup has not stored: the wanted rows, their whole sibling
# groups, and the rule of households/suppression.py over them.
_LIVE_SQL = """
WITH wanted (indicator_id, region_id, name, level, period, numerator, denominator, value,
             parent_id) AS ({wanted}),
groups AS MATERIALIZED (
    SELECT DISTINCT w.indicator_id, w.period, w.parent_id FROM wanted w
),
siblings AS MATERIALIZED (
    -- Every child of the groups' parents, for the groups' indicators and periods (a pair
    -- from two groups may add a whole group nobody asked for: harmless, it is whole).
    SELECT s.indicator_id, s.period, sr.parent_id, s.region_id, s.numerator,
           {small_s} AS small
    FROM villages_region sr
    JOIN households_indicatorvalue s ON s.region_id = sr.code
    WHERE (sr.parent_id IN (SELECT g.parent_id FROM groups g)
           OR (sr.parent_id IS NULL AND sr.code IN (SELECT w.region_id FROM wanted w)))
      AND (s.indicator_id, s.period) IN (SELECT g.indicator_id, g.period FROM groups g)
),
{ranked},
hidden AS MATERIALIZED (
    SELECT r.indicator_id, r.period, r.region_id FROM ranked r WHERE {hidden}
)
SELECT w.indicator_id, w.region_id, w.name, w.level, w.period, w.numerator, w.denominator,
       w.value, h.region_id IS NOT NULL
FROM wanted w
LEFT JOIN hidden h
  ON h.indicator_id = w.indicator_id AND h.period = w.period AND h.region_id = w.region_id
ORDER BY w.indicator_id, w.period, w.region_id
"""


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
    (households/suppression.py). Unknown indicator codes are a ValidationError."""
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
    rows = list(
        queryset.order_by("indicator_id", "period", "region_id").values_list(
            *_VALUE_FIELDS, "suppressed", "suppression_limit"
        )
    )
    _check_indicator_codes(indicators, {row[0] for row in rows})
    limit = suppress_up_to or 0
    if limit and any(row[-1] != limit for row in rows):
        # The rollup stored another limit (or none yet): decide here, same rule.
        rows = [(*row, None) for row in _live_suppression(queryset, limit)]
    result = []
    for *values, suppressed, _stored_limit in rows:
        row = dict(zip(VALUE_COLUMNS, values, strict=True))
        row["suppressed"] = bool(limit and suppressed)
        # Why a figure is missing, so that an integration can say so: the cell is itself
        # small (primary), or it would give a small sibling away by subtraction from the
        # parent's total (secondary).
        row["suppression_reason"] = None
        row["suppression_threshold"] = None
        if row["suppressed"]:
            own_small = any(1 <= (row[key] or 0) <= limit for key in ("numerator", "denominator"))
            row["suppression_reason"] = "primary" if own_small else "secondary"
            row["suppression_threshold"] = limit
            row["numerator"] = row["denominator"] = row["value"] = None
        result.append(row)
    return result


def _live_suppression(queryset, limit: int) -> list[tuple]:
    wanted = queryset.order_by().values_list(*_VALUE_FIELDS, "region__parent_id")
    try:
        wanted_sql, wanted_params = wanted.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        # The inner query's values are bound by psycopg2 and escaped for the outer query's
        # named parameters (the same technique as the tiles).
        inner = cursor.mogrify(wanted_sql, wanted_params).decode().replace("%", "%%")
        sql = _LIVE_SQL.format(
            wanted=inner,
            small_s=suppression.small("s"),
            ranked=suppression.ranked_cte("siblings"),
            hidden=suppression.HIDDEN,
        )
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
