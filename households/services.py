"""Writes of single households and members (village operators' edits).

Edits use optimistic locking: the caller sends the `versi` it read; if the row has moved
on, nothing is written and the caller learns the current version (HTTP 409). The database
raises `versi` on every real change and keeps the history (see migration 0006).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from desapresisi.i18n import Message

from . import schema
from .indicators.rollup import indicators_refresh_task
from .models import Household, Member

# Coordinates may lie this far outside the village polygon (simplified boundaries, GPS
# error at the edge of a village) before an edit is refused.
LOCATION_TOLERANCE_M = 250


def household_editable() -> set[str]:
    """What an edit may change (the catalogue's editable household fields)."""
    return schema.editable(schema.HOUSEHOLD)


def member_editable() -> set[str]:
    return schema.editable(schema.MEMBER)


class StaleEdit(Exception):
    def __init__(self, current_version: int):
        super().__init__(current_version)
        self.current_version = current_version


@dataclass
class EditResult:
    pk: int
    versi: int
    changed: list[str]


def _apply(
    *, instance, changes: dict[str, Any], editable: set[str], expected_version: int
) -> EditResult:
    unknown = sorted(set(changes) - editable)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, _("Kolom ini tidak dapat diubah.")))
    if instance.versi != expected_version:
        raise StaleEdit(instance.versi)
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    if not changed:
        return EditResult(instance.pk, instance.versi, [])
    instance.full_clean(exclude=["household", "region"])
    try:
        with transaction.atomic():
            instance.save(update_fields=[*changed, "diubah"])
    except IntegrityError as exc:
        raise ValidationError(str(exc).split("\n")[0]) from exc
    instance.refresh_from_db(fields=["versi"])
    # Triggers marked the village stale; the worker brings its figures and map cells up to
    # date once this edit is committed, without holding up the request.
    transaction.on_commit(indicators_refresh_task.enqueue)
    return EditResult(instance.pk, instance.versi, changed)


def household_update(
    *, queryset: QuerySet, pk: int, changes: dict[str, Any], expected_version: int
) -> EditResult:
    """Edit one household of `queryset` (already narrowed to what the caller may edit)."""
    with transaction.atomic():
        household = queryset.select_for_update().get(pk=pk)
        location = changes.get("lokasi")
        if location is not None:
            changes["lokasi"] = _checked_location(household, location)
        return _apply(
            instance=household,
            changes=changes,
            editable=household_editable(),
            expected_version=expected_version,
        )


def member_update(
    *, queryset: QuerySet, pk: int, changes: dict[str, Any], expected_version: int
) -> EditResult:
    with transaction.atomic():
        member = queryset.select_for_update(of=("self",)).get(pk=pk)
        return _apply(
            instance=member,
            changes=changes,
            editable=member_editable(),
            expected_version=expected_version,
        )


@dataclass(frozen=True)
class PointToCheck:
    key: Any  # the caller's handle on the point (a row number, a household)
    village: str
    lon: float
    lat: float


OUT_OF_RANGE = gettext_noop(
    "Koordinat di luar jangkauan: lintang -90 s.d. 90, bujur -180 s.d. 180."
)


def locations_check(*, points: list[PointToCheck]) -> dict[Any, Message]:
    """The one location rule, for imports and edits alike: what is wrong with each point,
    by key (points with nothing wrong are left out). A point must lie in its village or
    within LOCATION_TOLERANCE_M of its boundary (boundaries are simplified, GPS errs at a
    village's edge); one that lies there with latitude and longitude exchanged is named
    as swapped. A village whose boundary is not loaded cannot be checked: its points pass,
    whoever sends them. One query for every point. The problems are messages kept as
    msgids (an import stores them and shows them in the reader's language)."""
    problems: dict[Any, Message] = {}
    checks = []
    for point in points:
        in_range = -180 <= point.lon <= 180 and -90 <= point.lat <= 90
        swapped_in_range = -180 <= point.lat <= 180 and -90 <= point.lon <= 90
        if not in_range and not swapped_in_range:
            problems[point.key] = Message(OUT_OF_RANGE)
            continue
        checks.append((point, in_range, swapped_in_range))
    if not checks:
        return problems
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.i,
                   r.boundary IS NULL,
                   t.x IS NOT NULL AND (ST_Intersects(r.boundary, g.p)
                       OR ST_DWithin(r.boundary::geography, g.p::geography, %(tolerance)s)),
                   t.sx IS NOT NULL AND (ST_Intersects(r.boundary, s.p)
                       OR ST_DWithin(r.boundary::geography, s.p::geography, %(tolerance)s))
            FROM unnest(%(i)s::int[], %(code)s::text[], %(x)s::float8[], %(y)s::float8[],
                        %(sx)s::float8[], %(sy)s::float8[]) AS t(i, code, x, y, sx, sy)
            JOIN villages_region r ON r.code = t.code
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS p) g
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(t.sx, t.sy), 4326) AS p) s
            """,
            {
                "tolerance": LOCATION_TOLERANCE_M,
                "i": list(range(len(checks))),
                "code": [point.village for point, _, _ in checks],
                # Out-of-range values would make the geography cast fail: NULL instead.
                "x": [point.lon if ok else None for point, ok, _ in checks],
                "y": [point.lat if ok else None for point, ok, _ in checks],
                "sx": [point.lat if ok else None for point, _, ok in checks],
                "sy": [point.lon if ok else None for point, _, ok in checks],
            },
        )
        results = cursor.fetchall()
    for index, no_boundary, near, swapped_near in results:
        point, in_range, _swapped = checks[index]
        if no_boundary or near:
            continue
        if swapped_near:
            problems[point.key] = Message(
                gettext_noop(
                    "Lintang dan bujur tertukar: titik ini berada di desanya bila keduanya ditukar."
                )
            )
        elif not in_range:
            problems[point.key] = Message(OUT_OF_RANGE)
        else:
            problems[point.key] = Message(
                gettext_noop("Titik berada di luar desa/kelurahannya (lebih dari %(meters)s m)."),
                meters=LOCATION_TOLERANCE_M,
            )
    return problems


def _checked_location(household: Household, value) -> Point:
    try:
        lon, lat = (float(part) for part in value)
    except (TypeError, ValueError):
        raise ValidationError({"lokasi": _("Format: [bujur, lintang].")}) from None
    problems = locations_check(
        points=[PointToCheck(key="lokasi", village=household.region_id, lon=lon, lat=lat)]
    )
    if problems:
        raise ValidationError({key: str(message) for key, message in problems.items()})
    return Point(lon, lat, srid=4326)


__all__ = ["Member", "StaleEdit", "household_update", "member_update"]
