"""Reads of household data. Views ask these functions; they never aggregate themselves."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from villages.models import Level, Region

from .models import DataSource, Household


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
