"""An area's households as an ODK Entity list, for follow-up visits.

The CSV has the columns ODK needs of a list a form chooses from (`name`, `label`) and the
entity properties: the household's answers the visit form asks again (in the visit's
question names and the importer's values: codes, 1/0, ISO dates), the village, the head's
name and the version (`versi`) the list was exported at, which the visit sends back as its
optimistic lock. Upload it to ODK Central as the entity list `rumah_tangga` (or attach it
to the visit form as `rumah_tangga.csv`, in KoboToolbox too).

Only the households the caller may edit are listed (`households_editable_by`: the one
area rule), numbers masked as the portal masks them; the export is a named-record export
and is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from desapresisi import audit
from desapresisi.masking import mask_number
from desapresisi.models import AuditAction

from ..selectors import households_editable_by
from .service import entity_name
from .xlsform import visit_columns

HEAD = 1


# The visit asks the survey date afresh (today): the stored one is not pre-filled.
_NOT_PREFILLED = {"tanggal_survei"}


def _prefilled():
    return [c for c in visit_columns() if c.name not in _NOT_PREFILLED]


def entity_properties() -> list[str]:
    return ["versi", "no_kk", "kode_desa", "kepala", *(c.name for c in _prefilled())]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def entity_rows(user) -> list[list[str]]:
    """The entity list: a header, then one row per household the caller may edit."""
    columns = [c for c in _prefilled() if c.kind != "coord"]
    households = (
        households_editable_by(user)
        .prefetch_related("members")
        .order_by("region_id", "dusun", "rw", "rt", "no_kk")
    )
    rows = [["name", "label", *entity_properties()]]
    for household in households:
        head = next((m for m in household.members.all() if m.hubungan_keluarga == HEAD), None)
        head_name = head.nama if head else ""
        masked = mask_number(household.no_kk)
        place = " ".join(
            part
            for part in (
                household.alamat,
                f"RT {household.rt}" if household.rt else "",
                f"RW {household.rw}" if household.rw else "",
            )
            if part
        )
        label = f"{head_name} - {place} (KK {masked})" if place else f"{head_name} (KK {masked})"
        point = household.lokasi
        values = {c.name: _text(getattr(household, c.name)) for c in columns}
        values["lintang"] = repr(point.y) if point else ""
        values["bujur"] = repr(point.x) if point else ""
        rows.append(
            [
                entity_name(household.pk),
                label,
                str(household.versi),
                masked,
                household.region_id,
                head_name,
                *(values[c.name] for c in _prefilled()),
            ]
        )
    return rows


def entity_list_csv(*, user, request=None) -> bytes:
    rows = entity_rows(user)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    audit.record(
        action=AuditAction.EXPORT,
        request=request,
        user=user,
        rows=len(rows) - 1,
        filters={"format": "odk_entities"},
        detail="ODK entity list of households (follow-up visits)",
    )
    return buffer.getvalue().encode("utf-8")
