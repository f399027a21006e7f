"""Reads of household data. Views ask these functions; they never aggregate themselves."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Max, QuerySet, Sum
from django.utils.translation import gettext as _

from desapresisi.access import area_codes_for, role_of
from desapresisi.errors import InvalidInput
from desapresisi.models import Role
from villages.codes import below_q, is_area_code, subtree_q
from villages.models import Level, Region

from .indicators import suppression
from .indicators.criteria import map_criteria
from .models import DataSource, Household, Indicator, IndicatorValue, Member, TileCell

# --- Who sees which records: the kernel's area rule over the area-code subtree -----------


def _in_areas(user, queryset: QuerySet, field: str) -> QuerySet:
    """The rows of `queryset` whose village (`field`, a code) lies in the caller's areas:
    all for administrators, none for callers without a role or without areas."""
    codes = area_codes_for(user)
    if codes is None:
        return queryset
    return queryset.filter(subtree_q(codes, field)) if codes else queryset.none()


def households_for(user, queryset: QuerySet | None = None) -> QuerySet:
    """The households this user may see (named or as points). Every queryset of households
    passes through here: the API, the dashboard, tiles, exports, imports and the admin."""
    queryset = Household.objects.all() if queryset is None else queryset
    return _in_areas(user, queryset, "region__code")


def members_for(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = Member.objects.all() if queryset is None else queryset
    return _in_areas(user, queryset, "household__region__code")


def tile_cells_for(user) -> QuerySet:
    """The map's cluster cells of the households this user may see (same areas)."""
    return _in_areas(user, TileCell.objects.all(), "region__code")


def can_edit_household(user, household: Household) -> bool:
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if role != Role.OPERATOR:
        return False
    return households_for(user).filter(pk=household.pk).exists()


# The rollup's plain counts of households and people (households/data/indicators.json).
HOUSEHOLDS_INDICATOR = "jumlah_rumah_tangga"
PEOPLE_INDICATOR = "jumlah_jiwa"


def area_summaries(*, parent_code: str) -> list[dict]:
    """Household and people totals of each area directly below `parent_code`, over every
    survey period, read from the rollup (never counted live from the households)."""
    rows = (
        IndicatorValue.objects.filter(
            region__parent_id=parent_code,
            indicator_id__in=[HOUSEHOLDS_INDICATOR, PEOPLE_INDICATOR],
        )
        .values("region_id", "indicator_id")
        .annotate(total=Sum("numerator"))
        .order_by()
    )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.setdefault(row["region_id"], {})[row["indicator_id"]] = round(row["total"] or 0)
    return [
        {
            "code": region["code"],
            "name": region["name"],
            "households": totals.get(region["code"], {}).get(HOUSEHOLDS_INDICATOR, 0),
            "members": totals.get(region["code"], {}).get(PEOPLE_INDICATOR, 0),
        }
        for region in Region.objects.filter(parent_id=parent_code)
        .order_by("code")
        .values("code", "name")
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
# groups, and the rule of households/indicators/suppression.py over them.
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
    (households/indicators/suppression.py). Unknown indicator codes are a InvalidInput."""
    queryset = IndicatorValue.objects.filter(indicator_id__in=indicators)
    if areas:
        queryset = queryset.filter(region_id__in=areas)
    if parent:
        if not is_area_code(parent):
            raise InvalidInput(
                {"parent": _("Kode wilayah tidak valid: %(code)s") % {"code": repr(parent)}}
            )
        queryset = queryset.filter(below_q(parent, "region__code"))
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
        raise InvalidInput(
            {"indicator": _("Indikator tidak dikenal: %(code)s") % {"code": sorted(unknown)}}
        )


INDICATOR_FIELDS = (
    "code", "name_id", "name_en", "description_id", "description_en", "topic", "unit",
    "factor", "higher_is_better", "sort_order", "denominator",
)  # fmt: skip


def kabupaten_overview(*, code: str) -> dict | None:
    """The kabupaten with every kecamatan and their household and people totals (from the
    rollup), or None when the kabupaten is not loaded."""
    kabupaten = Region.objects.filter(code=code, level=Level.KABUPATEN).values("code", "name")
    kabupaten = kabupaten.first()
    if kabupaten is None:
        return None
    kecamatan = area_summaries(parent_code=code)
    return {
        **kabupaten,
        "kecamatan": kecamatan,
        "households": sum(row["households"] for row in kecamatan),
        "members": sum(row["members"] for row in kecamatan),
        # Whether the page must carry the synthetic-data label: provenance, not records.
        "synthetic": Household.objects.filter(
            below_q(code, "region__code"), sumber_data=DataSource.SYNTHETIC
        ).exists(),
    }


def village_overview(*, code: str) -> dict | None:
    """A village (desa/kelurahan) with its kecamatan and kabupaten, or None when the code
    is not a loaded village."""
    village = (
        Region.objects.filter(code=code, level=Level.DESA)
        .values(
            "code",
            "name",
            "kind",
            "area_km2",
            "parent__code",
            "parent__name",
            "parent__parent__code",
            "parent__parent__name",
        )
        .first()
    )
    if village is None:
        return None
    return {
        "code": village["code"],
        "name": village["name"],
        "kind": village["kind"],
        "area_km2": village["area_km2"],
        "kecamatan": {"code": village["parent__code"], "name": village["parent__name"]},
        "kabupaten": {
            "code": village["parent__parent__code"],
            "name": village["parent__parent__name"],
        },
        # Whether the page must carry the synthetic-data label: provenance, not records.
        "synthetic": Household.objects.filter(
            region_id=code, sumber_data=DataSource.SYNTHETIC
        ).exists(),
    }


def indicator_catalogue(*, language: str) -> list[dict]:
    """Active indicator definitions in display order, with `name` and `description` in
    the given language and whether each is a ratio (has a denominator)."""
    english = language.startswith("en")
    rows = Indicator.objects.filter(active=True).order_by("sort_order", "code")
    catalogue = []
    for row in rows.values(*INDICATOR_FIELDS):
        denominator = row.pop("denominator")
        catalogue.append(
            {
                **row,
                "name": row["name_en"] if english else row["name_id"],
                "description": row["description_en"] if english else row["description_id"],
                "ratio": denominator is not None,
            }
        )
    return catalogue


def map_criteria_catalogue(*, language: str) -> list[dict]:
    """The map's criteria (indicator code and name in the language), default first."""
    return [{"code": c.code, "name": c.name(language)} for c in map_criteria()]


def latest_period() -> str | None:
    """The most recent period that has indicator values (periods are years as text)."""
    return IndicatorValue.objects.aggregate(latest=Max("period"))["latest"]
