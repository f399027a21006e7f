"""A streaming XLSX writer for the export sheets: rows in, one worksheet XML stream out.

Why not a library: measured on the same 74,804 rows (one kecamatan: households, members,
codebook; see docs/benchmark.md), openpyxl's write-only mode with lxml wrote 0.41-0.47 ms
a row and XlsxWriter in constant_memory mode 0.24-0.36 ms a row, while the whole export
has to stay within 0.213 ms a row written (issue 11, item 9) including reading the rows.
Both spend their time on a cell object or a method call per cell. The sheets here are
plain tables (text and numbers, no styles, no formulas), so each row is written as one
string of SpreadsheetML into a deflate stream: 0.06 ms a row, in constant memory.

What the files hold (ECMA-376 / ISO 29500, the parts Excel, LibreOffice, openpyxl and
pandas need): the content types, the package and workbook relationships, a workbook with
the sheets in order, a minimal style sheet, and one worksheet per sheet whose text cells
are inline strings (`t="inlineStr"`, no shared-string table to hold in memory).
Text is always written as text and numbers as numbers: no cell is ever a formula.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

BUFFER_ROWS = 500  # rows of XML joined before they go to the deflate stream
# Level 1: the file is about a third larger than at the default level, written in a
# fraction of the time; it is a download, not an archive.
COMPRESS_LEVEL = 1
MAX_SHEET_TITLE = 31  # Excel's limit

# XML 1.0 has no place for these; OOXML writes them as _xHHHH_ (ECMA-376 22.4.2.4), where
# openpyxl raised IllegalCharacterError (a 500 for one stray control character).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _text(value: str) -> str:
    # A literal "_x0041_" is left as it is, as openpyxl writes it (and reads it back, in
    # the importer): escaping its underscore would change it for every openpyxl reader.
    if _SPECIAL.search(value):
        value = _CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", escape(value))
    return value


def _letters(count: int) -> list[str]:
    """Column letters A, B, ..., Z, AA, ... for `count` columns."""
    letters = []
    for number in range(1, count + 1):
        name = ""
        while number:
            number, rest = divmod(number - 1, 26)
            name = chr(65 + rest) + name
        letters.append(name)
    return letters


def _row(number: int, values: Iterable[Any], letters: list[str]) -> str:
    """One <row>; None and "" leave the cell out. Booleans are 1/0 and dates ISO text,
    as in the CSV exports; text is the caller's (already neutralised for formulas)."""
    parts = [f'<row r="{number}">']
    append = parts.append
    for letter, value in zip(letters, values, strict=False):
        if value is None or value == "":
            continue
        if value is True or value is False:
            append(f'<c r="{letter}{number}"><v>{int(value)}</v></c>')
        elif isinstance(value, int | float | Decimal):
            append(f'<c r="{letter}{number}"><v>{value}</v></c>')
        else:
            if isinstance(value, dt.date):
                value = value.isoformat()
            append(
                f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">'
                f"{_text(str(value))}</t></is></c>"
            )
    append("</row>")
    return "".join(parts)


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:MAX_SHEET_TITLE] or "sheet"


def _package_parts(titles: list[str]) -> dict[str, str]:
    sheets = "".join(
        f"<sheet name={quoteattr(_sheet_title(title))} sheetId={quoteattr(str(index))} "
        f'r:id="rId{index}"/>'
        for index, title in enumerate(titles, start=1)
    )
    relationships = "".join(
        f'<Relationship Id="rId{index}" Type="{_REL}/worksheet" '
        f'Target="worksheets/sheet{index}.xml"/>'
        for index in range(1, len(titles) + 1)
    )
    styles_id = len(titles) + 1
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{index}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for index in range(1, len(titles) + 1)
    )
    return {
        "[Content_Types].xml": (
            f"{_XML_HEAD}<Types "
            'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'{_XML_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<sheets>{sheets}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL}">{relationships}'
            f'<Relationship Id="rId{styles_id}" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": (
            f'{_XML_HEAD}<styleSheet xmlns="{_MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
            'xfId="0"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        ),
    }


def xlsx_write(handle: IO[bytes], sheets: Iterable[tuple[str, Iterable[Iterable[Any]]]]) -> None:
    """Write a workbook of `sheets` (title, rows of values; a header is a row like any
    other) into `handle`, a binary file open for writing. Rows are consumed as they come,
    so a generator of rows streams in constant memory."""
    titles: list[str] = []
    with zipfile.ZipFile(
        handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as package:
        for index, (title, rows) in enumerate(sheets, start=1):
            titles.append(title)
            letters: list[str] = []
            with package.open(f"xl/worksheets/sheet{index}.xml", "w", force_zip64=True) as out:
                out.write(f'{_XML_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
                buffer: list[str] = []
                for number, row in enumerate(rows, start=1):
                    row = list(row)
                    if len(row) > len(letters):
                        letters = _letters(len(row))
                    buffer.append(_row(number, row, letters))
                    if len(buffer) >= BUFFER_ROWS:
                        out.write("".join(buffer).encode())
                        buffer.clear()
                out.write("".join(buffer).encode())
                out.write(b"</sheetData></worksheet>")
        for name, text in _package_parts(titles).items():
            package.writestr(name, text)
