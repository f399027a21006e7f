"""Exports of household and member lists and of indicator tables, and export jobs.

The column names are those of the import template, so an export (unmasked, by an
administrator) imports back unchanged. Text starting with =, +, -, @, tab or CR carries a
leading quote against formula injection (`neutralised`), which the importer removes. Coded answers
carry their label in the chosen language in a `<column>_label` column beside the code.
Rows are read with a server-side cursor in chunks and written out as they come: CSV and
GeoJSON are streamed with constant memory, XLSX is streamed into a file by `xlsx_stream`
(several times faster than openpyxl; see there).

Named-record XLSX files beyond EXPORT_XLSX_SYNC_MAX_ROWS are built by an export job in
the background worker (`export_job_run`), which applies the owner's access scope and
disclosure again when it runs, writes its progress as it goes and leaves the file in the
private EXPORT_ROOT until it expires (`export_files_clean`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.db.models import F, FloatField, Func, QuerySet
from django.utils import translation

from desapresisi.access import Disclosure, disclose_household, disclose_member
from desapresisi.masking import mask_number

from .. import codebook as cb
from .. import schema
from ..census_import.columns import FORMULA_PREFIXES, household_columns, member_columns
from ..filters import annotate_age
from .xlsx import xlsx_write

logger = logging.getLogger(__name__)


CHUNK_ROWS = 2000


def household_headers() -> list[str]:
    """Columns of the household export sheets (see `schema.export_headers`)."""
    return schema.export_headers(schema.HOUSEHOLD)


def member_headers() -> list[str]:
    return schema.export_headers(schema.MEMBER)


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV
# injection"): an address typed as `=HYPERLINK(...)` would become a live link in the
# analyst's Excel. Such text gets a leading single quote, which the spreadsheet shows as
# text; numbers are never touched (a negative coordinate stays a number).
FORMULA_STARTS = FORMULA_PREFIXES  # the importer warns on the same (and undoes the quote)


def neutralised(text: str) -> str:
    """`text` as a spreadsheet will show it, never as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if value is True:
        return 1
    if value is False:
        return 0
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sheet_cell(value: Any) -> Any:
    """A cell of a CSV or XLSX file. GeoJSON keeps the text as it is: no spreadsheet
    reads it, and GIS tools would show the quote."""
    value = _cell(value)
    return neutralised(value) if isinstance(value, str) else value


def _labelled(row: dict, columns, language: str) -> dict:
    for column in columns:
        if column.kind == "coded":
            row[f"{column.name}_label"] = cb.label(column.variable, row[column.name], language)
    return row


def _coordinates(field: str) -> dict:
    """Latitude and longitude read as numbers by PostgreSQL: building a GEOS point per row
    took a third of an export's time. Full precision, so an export imports back unchanged."""
    return {
        "lintang": Func(F(field), function="ST_Y", output_field=FloatField()),
        "bujur": Func(F(field), function="ST_X", output_field=FloatField()),
    }


def _choice_labels(unit: str, language: str) -> list[tuple[str, str, dict]]:
    """(label column, value column, {value: label}) of the derived values with choices."""
    with translation.override(language):  # the rows are read later, in another language
        return [
            (column.name, column.source, {value: str(label) for value, label in column.choices})
            for column in schema.export_tail(unit)
            if column.kind == "label"
        ]


def household_rows(*, queryset: QuerySet, disclosure: Disclosure, language: str) -> Iterator[dict]:
    """Households as export rows (template columns, labels, derived values)."""
    labels = _choice_labels(schema.HOUSEHOLD, language)
    columns = household_columns()
    values = queryset.order_by("id").values(
        *(name for name in schema.export_values(schema.HOUSEHOLD) if name != "lokasi"),
        **_coordinates("lokasi"),
    )
    for row in values.iterator(CHUNK_ROWS):
        row = disclose_household(row, disclosure)
        row["kode_desa"] = row.pop("region_id")
        for name, source, by_value in labels:
            value = row[source]
            row[name] = by_value[value] if value is not None else ""
        yield _labelled(row, columns, language)


def member_rows(
    *, queryset: QuerySet, disclosure: Disclosure, language: str, with_location: bool = False
) -> Iterator[dict]:
    """Members as export rows; `with_location` adds their household's point (GeoJSON)."""
    if "umur" not in queryset.query.annotations:
        queryset = annotate_age(queryset, None)
    extra = {"no_kk": F("household__no_kk"), "kode_desa": F("household__region_id")}
    if with_location:
        extra.update(_coordinates("household__lokasi"))
    values = queryset.order_by("household_id", "hubungan_keluarga", "id").values(
        *schema.export_values(schema.MEMBER), **extra
    )
    columns = member_columns()
    labels = _choice_labels(schema.MEMBER, language)
    for row in values.iterator(CHUNK_ROWS):
        row = disclose_member(row, disclosure)
        if not disclosure.unmasked:
            row["no_kk"] = mask_number(row["no_kk"])
        for name, source, by_value in labels:
            value = row[source]
            row[name] = by_value[value] if value is not None else ""
        yield _labelled(row, columns, language)


def csv_stream(*, headers: list[str], rows: Iterable[dict]) -> Iterator[str]:
    """CSV text in pieces; the BOM makes Excel read UTF-8 (the importer accepts it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headers)
    for index, row in enumerate(rows, start=1):
        writer.writerow([_sheet_cell(row.get(header)) for header in headers])
        if index % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def geojson_stream(*, rows: Iterable[dict], headers: list[str]) -> Iterator[str]:
    """A FeatureCollection in WGS84 (RFC 7946: EPSG:4326 lon/lat), one feature a row."""
    yield '{"type":"FeatureCollection","features":['
    first = True
    properties = [h for h in headers if h not in ("lintang", "bujur")]
    for row in rows:
        lon, lat = row.get("bujur"), row.get("lintang")
        feature = {
            "type": "Feature",
            "geometry": None if lon is None else {"type": "Point", "coordinates": [lon, lat]},
            "properties": {key: _cell(row.get(key)) for key in properties},
        }
        yield ("" if first else ",") + json.dumps(feature, ensure_ascii=False, default=str)
        first = False
    yield "]}"


def codebook_rows() -> Iterator[list]:
    for variable, entries in cb.codebook().items():
        for entry in entries:
            yield [variable, entry.code, entry.label_id, entry.label_en, entry.source]


def workbook_write(
    *,
    summary: list[tuple[str, Any]],
    sheets: list[tuple[str, list[str], Iterable[dict]]],
    with_codebook: bool = True,
    target: Path | None = None,
    on_row: Callable[[], None] | None = None,
):
    """A real XLSX, streamed by `xlsx_stream` (see there why not openpyxl). Into `target`
    when given; otherwise a temporary file, rewound, which the caller closes. `on_row` is
    called after each data row of `sheets`. Every text cell is neutralised (`neutralised`)
    and written as text: no cell of an export is ever a formula."""

    def table(headers: list[str], rows: Iterable[dict]) -> Iterator[list]:
        yield headers
        for row in rows:
            yield [_sheet_cell(row.get(header)) for header in headers]
            if on_row is not None:
                on_row()

    def workbook() -> Iterator[tuple[str, Iterable[list]]]:
        yield "ringkasan", ([_sheet_cell(key), _sheet_cell(value)] for key, value in summary)
        for title, headers, rows in sheets:
            yield title, table(headers, rows)
        if with_codebook:
            header = ["variabel", "kode", "label_id", "label_en", "sumber"]
            codebook = ([_sheet_cell(value) for value in row] for row in codebook_rows())
            yield "kodebook", itertools.chain([header], codebook)

    if target is not None:
        with target.open("wb") as handle:
            xlsx_write(handle, workbook())
        return None
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    xlsx_write(handle, workbook())
    handle.seek(0)
    return handle
