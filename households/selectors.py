"""Reads of household data. Views ask these functions; they never aggregate themselves."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from rest_framework.exceptions import ValidationError

from villages.models import Level, Region

from .filters import CODE_RE
from .models import DataSource, Household, IndicatorValue


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
    (see `_suppressed`)."""
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
    rows = queryset.order_by("indicator_id", "period", "region_id").values_list(
        "indicator_id",
        "region_id",
        "region__name",
        "region__level",
        "period",
        "numerator",
        "denominator",
        "value",
    )
    result = [dict(zip(VALUE_COLUMNS, row, strict=True)) for row in rows]
    hidden = _suppressed(result, suppress_up_to) if suppress_up_to else set()
    for row in result:
        row["suppressed"] = (row["indicator"], row["period"], row["area_code"]) in hidden
        if row["suppressed"]:
            row["numerator"] = row["denominator"] = row["value"] = None
    return result


def _is_small(numerator: float | None, denominator: float | None, limit: int) -> bool:
    return 1 <= (numerator or 0) <= limit or (denominator is not None and 1 <= denominator <= limit)


def _suppressed(rows: list[dict], limit: int) -> set[tuple[str, str, str]]:
    """Cells to hide from the public: counts from 1 to `limit` (primary), and, where a
    group of sibling areas would otherwise have one hidden cell that could be recovered
    by subtraction from their parent's total, the smallest other sibling (secondary).

    Computed over whole sibling groups (all areas with the same parent), so the answer
    does not depend on which slice of them a request asks for."""
    if not rows:
        return set()
    keys = {(row["indicator"], row["period"]) for row in rows}
    parents = {row["area_code"].rpartition(".")[0] for row in rows if "." in row["area_code"]}
    siblings = IndicatorValue.objects.filter(
        indicator_id__in={indicator for indicator, _ in keys},
        period__in={period for _, period in keys},
        region__parent_id__in=parents,
    ).values_list("indicator_id", "period", "region_id", "numerator", "denominator")
    groups: dict[tuple[str, str, str], list[tuple[str, float, float | None]]] = {}
    for indicator, period, code, numerator, denominator in siblings:
        groups.setdefault((indicator, period, code.rpartition(".")[0]), []).append(
            (code, numerator, denominator)
        )
    hidden: set[tuple[str, str, str]] = set()
    for (indicator, period, _parent), members in groups.items():
        small = {code for code, num, den in members if _is_small(num, den, limit)}
        if len(small) == 1 and len(members) > 1:
            others = sorted((num, code) for code, num, den in members if code not in small and num)
            if others:
                small.add(others[0][1])
        hidden |= {(indicator, period, code) for code in small}
    # Top-level areas (provinces) have no siblings here; apply the primary rule to them.
    for row in rows:
        if "." not in row["area_code"] and _is_small(row["numerator"], row["denominator"], limit):
            hidden.add((row["indicator"], row["period"], row["area_code"]))
    return hidden
