"""Named-record workbooks, their summary sheet, the import template and indicator tables."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from openpyxl import Workbook

from desapresisi.access import Disclosure
from desapresisi.errors import InvalidInput

from ..census_import.columns import (
    HOUSEHOLD_SHEET,
    MEMBER_SHEET,
    household_columns,
    member_columns,
)
from ..filters import HouseholdFilter, MemberFilter
from ..models import ExportKind
from ..selectors import households_for, members_for
from .rows import (
    codebook_rows,
    household_headers,
    household_rows,
    member_headers,
    member_rows,
    workbook_write,
)

logger = logging.getLogger(__name__)


# --- named-record workbooks (households and members) ---------------------------------------


def export_queryset(*, kind: str, user, query) -> QuerySet:
    """The rows of a named export: the user's access scope, then the list's filters.

    `query` is the request's query parameters (a QueryDict or a MultiValueDict); invalid
    filters raise InvalidInput, answered as 400 as in the lists."""
    if kind == ExportKind.HOUSEHOLDS:
        filterset = HouseholdFilter(query, queryset=households_for(user), user=user)
    elif kind == ExportKind.MEMBERS:
        filterset = MemberFilter(query, queryset=members_for(user), user=user)
    else:
        raise ValueError(f"unknown export kind {kind!r}")
    if not filterset.is_valid():
        raise InvalidInput(filterset.errors)
    return filterset.qs


def _named_querysets(*, kind: str, user, queryset: QuerySet) -> tuple[QuerySet, QuerySet]:
    if kind == ExportKind.HOUSEHOLDS:
        households = queryset
        members = members_for(user).filter(household_id__in=queryset.values("id"))
    else:
        members = queryset
        households = households_for(user).filter(id__in=queryset.values("household_id"))
    return households, members


def named_rows_written(*, kind: str, user, queryset: QuerySet) -> int:
    """The data rows a named workbook writes: its households and members together. This,
    not the households alone, is what its building time follows (a household brings 3 to
    4 members); EXPORT_XLSX_SYNC_MAX_ROWS is compared with it."""
    households, members = _named_querysets(kind=kind, user=user, queryset=queryset)
    return households.count() + members.count()


def named_sheets(
    *, kind: str, user, queryset: QuerySet, disclosure: Disclosure, language: str
) -> tuple[list[tuple[str, list[str], Iterable[dict]]], dict[str, int]]:
    """The households and members sheets of a named XLSX export, and their row counts.

    Either export carries both sheets, like the import template: a households export
    the members of those households, a members export the households of those members.
    The other sheet passes through the same access scope and disclosure."""
    households, members = _named_querysets(kind=kind, user=user, queryset=queryset)
    counts = {HOUSEHOLD_SHEET: households.count(), MEMBER_SHEET: members.count()}
    sheets = [
        (
            HOUSEHOLD_SHEET,
            household_headers(),
            household_rows(queryset=households, disclosure=disclosure, language=language),
        ),
        (
            MEMBER_SHEET,
            member_headers(),
            member_rows(queryset=members, disclosure=disclosure, language=language),
        ),
    ]
    return sheets, counts


# Not "-": a cell starting with a minus is neutralised like a formula (FORMULA_STARTS).
NO_FILTER = gettext_noop("(tanpa filter)")


def export_summary(
    *,
    kind: str,
    username: str,
    query_string: str,
    disclosure: Disclosure,
    counts: dict[str, int],
) -> list[tuple[str, Any]]:
    """The summary sheet, in the active language (the request's, or the job's)."""
    title = {
        ExportKind.HOUSEHOLDS: _("ekspor rumah tangga"),
        ExportKind.MEMBERS: _("ekspor anggota"),
    }[kind]
    return [
        ("Desa Presisi", title),
        (_("dibuat"), timezone.localtime().isoformat(timespec="seconds")),
        (_("oleh"), username),
        (_("filter"), query_string or _(NO_FILTER)),
        (_("baris rumah tangga"), counts[HOUSEHOLD_SHEET]),
        (_("baris anggota"), counts[MEMBER_SHEET]),
        ("NIK/KK", _("lengkap") if disclosure.unmasked else _("disamarkan")),
        (_("data pribadi"), _("UU PDP 27/2022: simpan dan bagikan seperlunya")),
    ]


def template_workbook():
    """The import template: both sheets with their headers, notes and the codebook."""
    notes = [
        (_("Templat impor sensus Desa Presisi"), ""),
        (
            _("Lembar"),
            _("%(households)s (satu baris per KK), %(members)s (satu baris per orang)")
            % {"households": HOUSEHOLD_SHEET, "members": MEMBER_SHEET},
        ),
        (_("NIK dan No. KK"), _("16 digit, kolom berformat Teks (bukan angka)")),
        (_("Tanggal"), "YYYY-MM-DD"),
        (_("Ya/tidak"), "1 / 0"),
        (_("Koordinat"), _("lintang (latitude) dan bujur (longitude), WGS84")),
        (_("Kode"), _("lihat lembar kodebook")),
        ("CSV", _("satu berkas per lembar, kolom sama; pemisah koma atau titik koma, UTF-8")),
    ]
    sheets = ((HOUSEHOLD_SHEET, household_columns()), (MEMBER_SHEET, member_columns()))
    for column in (column for _title, columns in sheets for column in columns):
        if column.help_id:
            notes.append((column.name, _(column.help_id)))
    workbook = Workbook()
    info = workbook.active
    info.title = "petunjuk"
    for row in notes:
        info.append(list(row))
    for title, columns in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append([column.name for column in columns])
        for index, column in enumerate(columns, start=1):
            # Text format on whole columns keeps Excel from turning NIK/KK into numbers.
            if column.kind in ("kk", "nik", "text", "region"):
                letter = sheet.cell(row=1, column=index).column_letter
                for cell_row in range(2, 1002):
                    sheet[f"{letter}{cell_row}"].number_format = "@"
    codebook = workbook.create_sheet("kodebook")
    codebook.append(["variabel", "kode", "label_id", "label_en", "sumber"])
    for row in codebook_rows():
        codebook.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


INDICATOR_HEADERS = [
    "indicator", "indicator_name", "area_code", "area_name", "level", "period", "numerator",
    "denominator", "value", "suppressed", "suppression_reason", "suppression_threshold",
]  # fmt: skip


def indicator_rows(*, rows: list[dict], names: dict[str, str]) -> list[dict]:
    return [{**row, "indicator_name": names.get(row["indicator"], "")} for row in rows]


def named_workbook_write(
    *,
    kind: str,
    user,
    queryset: QuerySet,
    disclosure: Disclosure,
    language: str,
    query_string: str,
    target: Path | None = None,
    on_total: Callable[[int], None] | None = None,
    on_row: Callable[[], None] | None = None,
):
    """The named-record workbook, the same wherever it is built (the request, the export
    worker, the benchmark): the summary sheet, households and members, the codebook.
    Into `target` when given, else a rewound temporary file the caller closes. `on_total`
    hears the number of data rows before the first is written. Returns (file or None,
    rows per sheet)."""
    sheets, counts = named_sheets(
        kind=kind, user=user, queryset=queryset, disclosure=disclosure, language=language
    )
    if on_total is not None:
        on_total(sum(counts.values()))
    summary = export_summary(
        kind=kind,
        username=user.get_username(),
        query_string=query_string,
        disclosure=disclosure,
        counts=counts,
    )
    handle = workbook_write(summary=summary, sheets=sheets, target=target, on_row=on_row)
    return handle, counts
