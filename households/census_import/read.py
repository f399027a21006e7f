"""Reading census files (CSV, XLSX) into rows of text, within the configured limits."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext_noop
from openpyxl import load_workbook

from .columns import FIRST_DATA_ROW, HOUSEHOLD_SHEET, MEMBER_SHEET, ImportFileError, SheetRows

# --- reading files -----------------------------------------------------------------------


Source = bytes | IO[bytes]
_CHUNK = 1024 * 1024


def _file(source: Source) -> IO[bytes]:
    """A seekable binary file of `source`: the file itself (a stored upload spooled to
    disk, households/uploads.py), or the bytes wrapped (tests, small files)."""
    return io.BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source


def _chunks(handle: IO[bytes]):
    handle.seek(0)
    while chunk := handle.read(_CHUNK):
        yield chunk
    handle.seek(0)


def _starts_zip(handle: IO[bytes]) -> bool:
    handle.seek(0)
    start = handle.read(2)
    handle.seek(0)
    return start == b"PK"


def census_read(*, name: str, data: Source, members_data: Source | None = None) -> list[SheetRows]:
    """The household and member sheets of an XLSX workbook, or of two CSV files, from
    bytes or from seekable binary files (read a chunk at a time, never whole).

    Headers are read here and the rows only when the import iterates them; the limits on
    size, rows and cells are checked before (XLSX sizes) or while (rows, cells) reading."""
    lower = name.lower()
    data = _file(data)
    if lower.endswith(".xlsx") or _starts_zip(data):
        return _read_xlsx(data)
    if lower.endswith(".csv") or lower.endswith(".txt"):
        sheets = [_read_csv(data, HOUSEHOLD_SHEET)]
        if members_data is not None:
            sheets.append(_read_csv(_file(members_data), MEMBER_SHEET))
        else:
            raise ImportFileError(
                gettext_noop("Impor CSV butuh dua berkas: rumah tangga dan anggota.")
            )
        return sheets
    raise ImportFileError(gettext_noop("Jenis berkas tidak dikenal: gunakan .xlsx atau .csv."))


def work_bytes(data: Source) -> int:
    """What parsing `data` has to read: an XLSX's declared uncompressed size (Python's
    zipfile never inflates a member past its declared size), otherwise its own size."""
    handle = _file(data)
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    if not _starts_zip(handle):
        return size
    try:
        with zipfile.ZipFile(handle) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return size
    finally:
        handle.seek(0)


def _encoding(data: Source) -> str:
    handle = _file(data)
    handle.seek(0)
    if handle.read(3) == b"\xef\xbb\xbf":
        handle.seek(0)
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in _chunks(handle):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page, Windows-1252 here.
        return "cp1252"
    finally:
        handle.seek(0)
    return "utf-8"


def _read_csv(handle: IO[bytes], sheet: str) -> SheetRows:
    encoding = _encoding(handle)
    lines = sum(chunk.count(b"\n") for chunk in _chunks(handle))
    first_line = handle.readline().decode(encoding, errors="replace")
    handle.seek(0)
    # Excel in an Indonesian locale writes semicolons (the comma is the decimal mark).
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    text = io.TextIOWrapper(handle, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        headers = [_header(value) for value in next(reader)]
    except StopIteration:
        raise ImportFileError(gettext_noop("Berkas %(sheet)s kosong."), sheet=sheet) from None
    except csv.Error as exc:
        raise _csv_error(sheet, exc) from None

    def rows():
        max_rows, max_chars = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_CELL_CHARS
        number = FIRST_DATA_ROW - 1
        try:
            for number, values in enumerate(reader, start=FIRST_DATA_ROW):
                if number - 1 > max_rows:
                    raise _row_limit(sheet, max_rows)
                if not any(value.strip() for value in values):
                    continue
                row = {}
                for header, value in zip(headers, values, strict=False):
                    if len(value) > max_chars:
                        raise _cell_limit(sheet, number, header, max_chars)
                    row[header] = value.strip()
                yield number, row, frozenset()
        except csv.Error as exc:
            if "field larger" in str(exc):  # the csv module's own cap (131,072) is higher
                raise _cell_limit(sheet, number + 1, "?", settings.IMPORT_MAX_CELL_CHARS) from None
            raise _csv_error(sheet, exc, number + 1) from None

    return SheetRows(sheet, headers, rows(), estimated_rows=max(lines - 1, 0))


def _csv_error(sheet: str, exc: Exception, row: int | None = None) -> ImportFileError:
    if row:
        return ImportFileError(
            gettext_noop("Berkas %(sheet)s baris %(row)s bukan CSV yang benar (%(reason)s)."),
            sheet=sheet,
            row=row,
            reason=str(exc),
        )
    return ImportFileError(
        gettext_noop("Berkas %(sheet)s bukan CSV yang benar (%(reason)s)."),
        sheet=sheet,
        reason=str(exc),
    )


def _row_limit(sheet: str, limit: int) -> ImportFileError:
    return ImportFileError(
        gettext_noop(
            "Jumlah baris lembar %(sheet)s melebihi batas %(limit)s; pecah berkas per desa."
        ),
        sheet=sheet,
        limit=f"{limit:,}",
    )


def _cell_limit(sheet: str, row: int, column: str, limit: int) -> ImportFileError:
    return ImportFileError(
        gettext_noop(
            "Sel %(sheet)s baris %(row)s kolom %(column)s lebih dari %(limit)s karakter "
            "(IMPORT_MAX_CELL_CHARS)."
        ),
        sheet=sheet,
        row=row,
        column=column,
        limit=f"{limit:,}",
    )


def _header(value: Any) -> str:
    return str(value or "").strip().lower().replace(" ", "_")


IDENTITY_COLUMNS = {"no_kk", "nik"}


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _check_archive(data: IO[bytes]) -> None:
    """Sizes as the zip declares them, before openpyxl inflates anything: openpyxl holds
    the whole shared-strings part in memory, so one huge string in an 800 KB file would
    cost gigabytes; the sheets themselves are streamed, but bounded too."""
    try:
        data.seek(0)
        with zipfile.ZipFile(data) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _unreadable(exc) from None
    finally:
        data.seek(0)
    total_limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    if sum(info.file_size for info in infos) > total_limit:
        raise ImportFileError(
            gettext_noop(
                "Ukuran XLSX setelah dibuka (IMPORT_MAX_UNCOMPRESSED_BYTES) melebihi batas "
                "%(limit)s byte; pecah berkas per desa."
            ),
            limit=f"{total_limit:,}",
        )
    strings_limit = settings.IMPORT_MAX_SHARED_STRINGS_BYTES
    for info in infos:
        if info.filename.lower().endswith("sharedstrings.xml") and info.file_size > strings_limit:
            raise ImportFileError(
                gettext_noop(
                    "Teks bersama XLSX (sharedStrings.xml, IMPORT_MAX_SHARED_STRINGS_BYTES) "
                    "melebihi batas %(limit)s byte; pecah berkas per desa."
                ),
                limit=f"{strings_limit:,}",
            )


def _unreadable(exc: Exception) -> ImportFileError:
    return ImportFileError(
        gettext_noop("Berkas XLSX tidak dapat dibaca (%(reason)s)."), reason=str(exc)
    )


def _read_xlsx(data: IO[bytes]) -> list[SheetRows]:
    _check_archive(data)
    try:
        workbook = load_workbook(data, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise _unreadable(exc) from None
    sheets = []
    for sheet in (HOUSEHOLD_SHEET, MEMBER_SHEET):
        if sheet not in workbook.sheetnames:
            raise ImportFileError(
                gettext_noop("Lembar '%(sheet)s' tidak ada (ada: %(sheets)s)."),
                sheet=sheet,
                sheets=", ".join(workbook.sheetnames),
            )
        worksheet = workbook[sheet]
        try:
            first = next(worksheet.iter_rows(max_row=1, values_only=True), ())
            declared = worksheet.max_row or 0
        except Exception as exc:  # a broken sheet part
            raise ImportFileError(
                gettext_noop("Lembar '%(sheet)s' tidak dapat dibaca (%(reason)s)."),
                sheet=sheet,
                reason=str(exc),
            ) from None
        if declared - 1 > settings.IMPORT_MAX_ROWS:
            raise _row_limit(sheet, settings.IMPORT_MAX_ROWS)
        headers = [_header(value) for value in first]
        sheets.append(
            SheetRows(
                sheet,
                headers,
                _xlsx_rows(worksheet, sheet, headers),
                estimated_rows=max(declared - 1, 0),
            )
        )
    return sheets


def _xlsx_rows(worksheet, sheet: str, headers: list[str]):
    max_rows, max_chars = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_CELL_CHARS
    rows = worksheet.iter_rows(min_row=FIRST_DATA_ROW, values_only=True)
    for number, values in enumerate(rows, start=FIRST_DATA_ROW):
        # Counted before the emptiness test: a million empty rows are work too.
        if number - 1 > max_rows:
            raise _row_limit(sheet, max_rows)
        if not any(value not in (None, "") for value in values):
            continue
        row = {}
        mangled = []
        for header, value in zip(headers, values, strict=False):
            if header in IDENTITY_COLUMNS and isinstance(value, int | float):
                mangled.append(header)
            text = _cell_text(value)
            if len(text) > max_chars:
                raise _cell_limit(sheet, number, header, max_chars)
            row[header] = text
        yield number, row, frozenset(mangled)
