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

from .indicators.rollup import indicators_refresh_task
from .models import Household, Member

# Coordinates may lie this far outside the village polygon (simplified boundaries, GPS
# error at the edge of a village) before an edit is refused.
LOCATION_TOLERANCE_M = 250

HOUSEHOLD_EDITABLE = {
    "dusun", "rw", "rt", "alamat", "lokasi", "tanggal_survei", "fasilitas_bab", "jenis_kloset",
    "pembuangan_tinja", "tangki_septik_disedot", "sumber_air_minum", "jarak_sumber_air_tinja",
    "sumber_air_mandi", "kepemilikan_rumah", "lantai", "dinding", "atap", "penerangan",
    "bahan_bakar_memasak", "desil_kesejahteraan", "desil_sumber", "desil_tahun", "penerima_pkh",
    "penerima_bpnt", "penerima_blt_dd", "penerima_pbi_jk",
}  # fmt: skip
MEMBER_EDITABLE = {
    "nama", "jenis_kelamin", "tanggal_lahir", "hubungan_keluarga", "partisipasi_sekolah",
    "jenjang_pendidikan", "ijazah_tertinggi", "disabilitas", "pekerjaan",
}  # fmt: skip


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
        raise ValidationError(
            dict.fromkeys(unknown, "Kolom ini tidak dapat diubah. / Not editable.")
        )
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
            editable=HOUSEHOLD_EDITABLE,
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
            editable=MEMBER_EDITABLE,
            expected_version=expected_version,
        )


def _checked_location(household: Household, value) -> Point:
    try:
        lon, lat = (float(part) for part in value)
    except (TypeError, ValueError):
        raise ValidationError({"lokasi": "Format: [bujur, lintang] / [lon, lat]."}) from None
    swapped_in_range = -180 <= lat <= 180 and -90 <= lon <= 90
    in_range = -180 <= lon <= 180 and -90 <= lat <= 90
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT %(in_range)s AND ST_DWithin(
                       boundary::geography,
                       ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography, %(tol)s),
                   %(swapped_in_range)s AND ST_DWithin(
                       boundary::geography,
                       ST_SetSRID(ST_MakePoint(%(swapped_lon)s, %(swapped_lat)s), 4326)::geography,
                       %(tol)s)
            FROM villages_region WHERE code = %(code)s
            """,
            {
                # Out-of-range values would make the geography cast fail: test 0,0 instead.
                "lon": lon if in_range else 0.0,
                "lat": lat if in_range else 0.0,
                "swapped_lon": lat if swapped_in_range else 0.0,
                "swapped_lat": lon if swapped_in_range else 0.0,
                "tol": LOCATION_TOLERANCE_M,
                "code": household.region_id,
                "in_range": in_range,
                "swapped_in_range": swapped_in_range,
            },
        )
        near, swapped_near = cursor.fetchone()
    if near:
        return Point(lon, lat, srid=4326)
    if swapped_near:
        message = (
            "Lintang dan bujur tertukar: kirim [bujur, lintang]. / Latitude and longitude swapped."
        )
    elif not in_range:
        message = "Koordinat di luar jangkauan. / Coordinates out of range."
    else:
        message = f"Titik di luar desa/kelurahan {household.region_id}. / Outside the village."
    raise ValidationError({"lokasi": message})


__all__ = ["Member", "StaleEdit", "household_update", "member_update"]
