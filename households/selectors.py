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
) -> list[dict]:
    """Rows of the rollup: indicator, area_code, area_name, level, period, numerator,
    denominator, value. `parent` selects the areas below it (at `level`, or one level
    down when no level is given)."""
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
    return [dict(zip(VALUE_COLUMNS, row, strict=True)) for row in rows]
