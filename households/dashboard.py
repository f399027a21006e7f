"""Reads behind the map dashboard pages (home and village page).

The pages themselves carry little data: area names, household totals per kecamatan and
the indicator definitions, so the browser needs no extra call for them. Indicator values,
boundaries and household points come from the REST API, where access scope and small-cell
suppression apply; nothing here bypasses them.
"""

from __future__ import annotations

from django.db.models import Max
from django.http import HttpRequest

from villages.models import Level, Region

from .models import DataSource, Household, Indicator, IndicatorValue
from .selectors import area_summaries

INDICATOR_FIELDS = (
    "code", "name_id", "name_en", "description_id", "description_en", "topic", "unit",
    "factor", "higher_is_better", "sort_order", "denominator",
)  # fmt: skip


def kabupaten_overview(*, code: str) -> dict | None:
    """The kabupaten with every kecamatan and their household and people totals, or None
    when the kabupaten is not loaded."""
    kabupaten = Region.objects.filter(code=code, level=Level.KABUPATEN).values("code", "name")
    kabupaten = kabupaten.first()
    if kabupaten is None:
        return None
    totals = {row["code"]: row for row in area_summaries(parent_code=code)}
    kecamatan = [
        {
            "code": row["code"],
            "name": row["name"],
            "households": totals.get(row["code"], {}).get("households", 0),
            "members": totals.get(row["code"], {}).get("members", 0),
        }
        for row in Region.objects.filter(parent_id=code, level=Level.KECAMATAN)
        .order_by("code")
        .values("code", "name")
    ]
    return {
        **kabupaten,
        "kecamatan": kecamatan,
        "households": sum(row["households"] for row in kecamatan),
        "members": sum(row["members"] for row in kecamatan),
        "synthetic": any(row["synthetic"] for row in totals.values()),
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


def latest_period() -> str | None:
    """The most recent period that has indicator values (periods are years as text)."""
    return IndicatorValue.objects.aggregate(latest=Max("period"))["latest"]


def api_readable(*, request: HttpRequest, view_class: type) -> bool:
    """Whether this request's user passes the permission checks of an API view, so that
    a page asks the API only for what it will be given (no 401 in the console)."""
    view = view_class()
    view.request = request
    view.kwargs = {}
    try:
        return all(
            permission.has_permission(request, view) for permission in view.get_permissions()
        )
    except AttributeError:
        # A permission that needs DRF's request wrapper: let the page ask, the API decides.
        return True
