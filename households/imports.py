"""Census import: parse, validate, stage with COPY, upsert in one transaction.

One importer serves the web upload, the API and `manage.py import_census`. A file is an
XLSX workbook with the sheets `rumah_tangga` and `anggota`, or two CSV files (one per
sheet). Every cell is read as text: a number where an identity number belongs means Excel
has already mangled it, and the row is rejected with a message saying so.

Writes are all-or-nothing: validated rows are copied into temporary staging tables and
upserted with set-based SQL (households on `no_kk`, then members on `nik`), only rows that
really change are updated, so re-importing a file changes nothing. A dry run does the very
same work and rolls it back, which is how its counts of new, updated and unchanged rows are
exact.

Errors block the commit; warnings do not. A warning marks a value that is legitimate but
worth a look, such as a NIK issued in another kecamatan (people move, and a NIK is kept for
life), and is reported with its row, column and value like an error.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils.translation import gettext as _

from desapresisi import audit
from desapresisi.access import areas_of, can_import, role_of
from desapresisi.audit import actor_label
from desapresisi.db import copy_rows
from desapresisi.masking import mask_number
from desapresisi.models import AuditAction, Role
from villages.models import Level, Region
from villages.selectors import kecamatan_of_identity_prefix, province_of_identity_prefix

from . import codebook as cb
from .indicators import indicators_refresh
from .models import DataSource

HOUSEHOLD_SHEET = "rumah_tangga"
MEMBER_SHEET = "anggota"
KEEP, REMOVE = "keep", "remove"
# Points this far outside their village polygon (GPS error, a house on the border) pass.
LOCATION_TOLERANCE_M = 250
# Uploads that take up to this many bytes to parse (an XLSX's uncompressed size, see
# `work_bytes`) are processed in the request; larger ones by the background worker.
SYNC_MAX_BYTES = settings.IMPORT_SYNC_MAX_BYTES
MAX_STORED_ERRORS = 1000
FIRST_DATA_ROW = 2  # row 1 holds the headers


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # kk, nik, region, text, date, coded, bool, bool_null, int, coord
    variable: str = ""
    exclude: tuple[int, ...] = ()
    max_length: int = 0
    required: bool = False
    help_id: str = ""


def _coded(name: str, variable: str = "", exclude: tuple[int, ...] = ()) -> Column:
    return Column(name, "coded", variable=variable or name, exclude=exclude)


HOUSEHOLD_COLUMNS = [
    Column("no_kk", "kk", required=True, help_id="16 digit, sebagai teks"),
    Column("kode_desa", "region", required=True, help_id="mis. 64.09.01.2001"),
    Column("dusun", "text", max_length=60),
    Column("rw", "text", max_length=3),
    Column("rt", "text", max_length=3),
    Column("alamat", "text", max_length=200),
    Column("lintang", "coord", help_id="latitude WGS84, mis. -1.25"),
    Column("bujur", "coord", help_id="longitude WGS84, mis. 116.7"),
    Column("tanggal_survei", "date", required=True, help_id="YYYY-MM-DD"),
    _coded("fasilitas_bab"),
    _coded("jenis_kloset"),
    _coded("pembuangan_tinja"),
    Column("tangki_septik_disedot", "bool_null"),
    _coded("sumber_air_minum"),
    _coded("jarak_sumber_air_tinja"),
    _coded("sumber_air_mandi", "sumber_air_minum"),
    _coded("kepemilikan_rumah"),
    _coded("lantai"),
    _coded("dinding"),
    _coded("atap"),
    _coded("penerangan"),
    _coded("bahan_bakar_memasak"),
    _coded("desil_kesejahteraan"),
    Column("desil_sumber", "text", max_length=20),
    Column("desil_tahun", "int"),
    Column("penerima_pkh", "bool"),
    Column("penerima_bpnt", "bool"),
    Column("penerima_blt_dd", "bool"),
    Column("penerima_pbi_jk", "bool"),
]
MEMBER_COLUMNS = [
    Column("no_kk", "kk", required=True, help_id="KK rumah tangganya"),
    Column("nik", "nik", required=True, help_id="16 digit, sebagai teks"),
    Column("nama", "text", max_length=120, required=True),
    _coded("jenis_kelamin"),
    Column("tanggal_lahir", "date", required=True, help_id="YYYY-MM-DD"),
    _coded("hubungan_keluarga"),
    _coded("partisipasi_sekolah"),
    _coded("jenjang_pendidikan", exclude=(23,)),
    _coded("ijazah_tertinggi", "jenjang_pendidikan"),
    Column("disabilitas", "bool"),
    Column("pekerjaan", "text", max_length=100),
]
REQUIRED_CODED = {"jenis_kelamin", "hubungan_keluarga"}


def _required(column: Column) -> bool:
    return column.required or column.name in REQUIRED_CODED


# Columns of the tables, in staging order (the staging tables carry the same names).
_HOUSEHOLD_DB = [
    "no_kk", "region_id", "dusun", "rw", "rt", "alamat", "lokasi", "tanggal_survei",
    "fasilitas_bab", "jenis_kloset", "pembuangan_tinja", "tangki_septik_disedot",
    "sumber_air_minum", "jarak_sumber_air_tinja", "sumber_air_mandi", "kepemilikan_rumah",
    "lantai", "dinding", "atap", "penerangan", "bahan_bakar_memasak", "desil_kesejahteraan",
    "desil_sumber", "desil_tahun", "penerima_pkh", "penerima_bpnt", "penerima_blt_dd",
    "penerima_pbi_jk",
]  # fmt: skip
_MEMBER_DB = [
    "no_kk", "nik", "nama", "jenis_kelamin", "tanggal_lahir", "hubungan_keluarga",
    "partisipasi_sekolah", "jenjang_pendidikan", "ijazah_tertinggi", "disabilitas",
    "pekerjaan",
]  # fmt: skip


class ImportFileError(ValueError):
    """The file cannot be read at all (wrong type, missing sheet or header)."""


@dataclass
class RowError:
    sheet: str
    row: int | None
    column: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.message,
        }


@dataclass
class ImportResult:
    dry_run: bool
    committed: bool
    counts: dict[str, dict[str, int]]
    errors: list[RowError]
    missing_members: list[dict] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    # All of them; `errors` and `warnings` keep the first MAX_KEPT_MESSAGES.
    error_count: int = 0
    warning_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows(self) -> int:
        return sum(self.counts.get(sheet, {}).get("total", 0) for sheet in self.counts)


@dataclass
class SheetRows:
    """One sheet: its headers (read first, before any row) and its data rows, streamed once
    as (row number in the file, {header: text}, headers of cells that held a number where
    an identity number belongs). Nothing holds every row: a census is validated and staged
    as it is read."""

    name: str
    headers: list[str]
    rows: Iterable[tuple[int, dict[str, str], frozenset[str]]] = ()
    # From the file's own dimensions or line count, for progress only: never trusted.
    estimated_rows: int = 0


# --- reading files -----------------------------------------------------------------------


def _limit_error(what_id: str, what_en: str, limit: int) -> ImportFileError:
    return ImportFileError(
        f"{what_id} melebihi batas {limit:,} ({what_en} exceeds the limit of {limit:,}); "
        "pecah berkas per desa. / Split the file by village."
    )


def census_read(*, name: str, data: bytes, members_data: bytes | None = None) -> list[SheetRows]:
    """The household and member sheets of an XLSX workbook, or of two CSV files.

    Headers are read here and the rows only when the import iterates them; the limits on
    size, rows and cells are checked before (XLSX sizes) or while (rows, cells) reading."""
    lower = name.lower()
    if lower.endswith(".xlsx") or data[:2] == b"PK":
        return _read_xlsx(data)
    if lower.endswith(".csv") or lower.endswith(".txt"):
        sheets = [_read_csv(data, HOUSEHOLD_SHEET)]
        if members_data is not None:
            sheets.append(_read_csv(members_data, MEMBER_SHEET))
        else:
            raise ImportFileError(
                "Impor CSV butuh dua berkas: rumah tangga dan anggota. / "
                "A CSV import needs two files: households and members."
            )
        return sheets
    raise ImportFileError(
        "Jenis berkas tidak dikenal: gunakan .xlsx atau .csv. / "
        "Unknown file type: use .xlsx or .csv."
    )


def work_bytes(data: bytes) -> int:
    """What parsing `data` has to read: an XLSX's declared uncompressed size (Python's
    zipfile never inflates a member past its declared size), otherwise its own size."""
    if data[:2] != b"PK":
        return len(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return len(data)


def _encoding(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 1024 * 1024
    try:
        for start in range(0, len(data), step):
            decoder.decode(data[start : start + step], final=start + step >= len(data))
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page, Windows-1252 here.
        return "cp1252"
    return "utf-8"


def _read_csv(data: bytes, sheet: str) -> SheetRows:
    encoding = _encoding(data)
    first_line = data.split(b"\n", 1)[0].decode(encoding, errors="replace")
    # Excel in an Indonesian locale writes semicolons (the comma is the decimal mark).
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        headers = [_header(value) for value in next(reader)]
    except StopIteration:
        raise ImportFileError(f"Berkas {sheet} kosong. / The {sheet} file is empty.") from None
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

    return SheetRows(sheet, headers, rows(), estimated_rows=max(data.count(b"\n") - 1, 0))


def _csv_error(sheet: str, exc: Exception, row: int | None = None) -> ImportFileError:
    where = f" baris {row}" if row else ""
    return ImportFileError(
        f"Berkas {sheet}{where} bukan CSV yang benar ({exc}). / "
        f"The {sheet} file is not valid CSV{f' at row {row}' if row else ''}."
    )


def _row_limit(sheet: str, limit: int) -> ImportFileError:
    return _limit_error(
        f"Jumlah baris lembar {sheet}", f"the number of rows of sheet {sheet}", limit
    )


def _cell_limit(sheet: str, row: int, column: str, limit: int) -> ImportFileError:
    return ImportFileError(
        f"Sel {sheet} baris {row} kolom {column} lebih dari {limit:,} karakter "
        f"(IMPORT_MAX_CELL_CHARS). / The cell of sheet {sheet}, row {row}, column {column} "
        f"has more than {limit:,} characters."
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


def _check_archive(data: bytes) -> None:
    """Sizes as the zip declares them, before openpyxl inflates anything: openpyxl holds
    the whole shared-strings part in memory, so one huge string in an 800 KB file would
    cost gigabytes; the sheets themselves are streamed, but bounded too."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ImportFileError(
            f"Berkas XLSX tidak dapat dibaca. / The XLSX file cannot be read ({exc})."
        ) from None
    total_limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    if sum(info.file_size for info in infos) > total_limit:
        raise _limit_error(
            "Ukuran XLSX setelah dibuka (IMPORT_MAX_UNCOMPRESSED_BYTES)",
            "the uncompressed size of the XLSX, in bytes,",
            total_limit,
        )
    strings_limit = settings.IMPORT_MAX_SHARED_STRINGS_BYTES
    for info in infos:
        if info.filename.lower().endswith("sharedstrings.xml") and info.file_size > strings_limit:
            raise _limit_error(
                "Teks bersama XLSX (sharedStrings.xml, IMPORT_MAX_SHARED_STRINGS_BYTES)",
                "the XLSX shared strings part, in bytes,",
                strings_limit,
            )


def _read_xlsx(data: bytes) -> list[SheetRows]:
    from openpyxl import load_workbook

    _check_archive(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ImportFileError(
            f"Berkas XLSX tidak dapat dibaca. / The XLSX file cannot be read ({exc})."
        ) from None
    sheets = []
    for sheet in (HOUSEHOLD_SHEET, MEMBER_SHEET):
        if sheet not in workbook.sheetnames:
            raise ImportFileError(
                f"Lembar '{sheet}' tidak ada (ada: {', '.join(workbook.sheetnames)}). / "
                f"Sheet '{sheet}' is missing."
            )
        worksheet = workbook[sheet]
        try:
            first = next(worksheet.iter_rows(max_row=1, values_only=True), ())
            declared = worksheet.max_row or 0
        except Exception as exc:  # a broken sheet part
            raise ImportFileError(
                f"Lembar '{sheet}' tidak dapat dibaca. / Sheet '{sheet}' cannot be read ({exc})."
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


# --- validating --------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[0-9]([.,][0-9]+)?[eE][+]?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^[0-9]+[.,]0+$")
_TRUE = {"1", "ya", "y", "true", "t", "benar"}
_FALSE = {"0", "tidak", "n", "false", "f", "salah", "tdk"}


_LONG_DIGITS = re.compile(r"[0-9]{11,}")


def mask_digits(text: str) -> str:
    """Every identity-length run of digits in `text` masked as the portal masks NIK/KK
    (a mangled cell such as 6409010903850001.0 keeps its shape, not its digits)."""
    return _LONG_DIGITS.sub(lambda match: mask_number(match.group()), text)


def _identity_problem(text: str, label: str) -> str | None:
    if re.fullmatch(r"[0-9]{16}", text):
        return None
    if _SCIENTIFIC.match(text):
        return (
            f"{label} ditulis dalam notasi ilmiah ({text}): Excel mengubahnya menjadi angka dan "
            "digit terakhirnya hilang. Format kolom sebagai Teks dan ketik ulang. / "
            f"The {label} is in scientific notation: Excel turned it into a number and lost "
            "its last digits. Format the column as Text and re-enter it."
        )
    if _FLOAT_TEXT.match(text):
        return (
            f"{label} tersimpan sebagai angka desimal ({mask_digits(text)}). Format kolom "
            "sebagai Teks. / "
            f"The {label} was stored as a decimal number. Format the column as Text."
        )
    if re.fullmatch(r"[0-9]{1,15}", text):
        return (
            f"{label} hanya {len(text)} digit, harus 16: angka 0 di depan kemungkinan hilang "
            "karena kolom disimpan sebagai angka. / "
            f"The {label} has only {len(text)} digits, 16 are needed: leading zeros were "
            "probably dropped because the column was stored as a number."
        )
    return f"{label} harus 16 digit angka. / The {label} must be 16 digits."


def _mangled_message(label: str, raw: str) -> str:
    return (
        f"Sel {label} berisi angka, bukan teks ({mask_digits(raw)}): Excel menyimpan angka "
        "16 digit sebagai 6.40901E+15 dan membulatkan digit terakhirnya. Format kolom sebagai "
        f"Teks dan ketik ulang. / The {label} cell holds a number, not text: Excel stores 16-digit "
        "numbers as 6.40901E+15 and rounds their last digits. Format the column as Text and "
        "re-enter it."
    )


# A spreadsheet runs a cell beginning with one of these as a formula (OWASP "CSV
# injection"). A lone character ("-" for "none") is no formula and is not flagged; tab and
# CR are stripped from the edges of every cell on reading, so they never reach the tables.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _coded_hint(column: Column) -> str:
    """A label typed where its code belongs: the message lists every code with its label."""
    entries = [
        entry for entry in cb.codebook()[column.variable] if entry.code not in column.exclude
    ]
    listed = ", ".join(f"{entry.code} = {entry.label()}" for entry in entries)
    return _("Isi dengan kode angka, bukan teks. Kode yang berlaku: %(codes)s.") % {"codes": listed}


def _parse_date(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


# Errors and warnings kept with their text; beyond this they are only counted, so that a
# file of a million bad rows cannot fill the memory with messages.
MAX_KEPT_MESSAGES = 10_000


class _Validator:
    def __init__(self, *, user, check_access: bool):
        self.user = user
        self.check_access = check_access
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.error_count = 0
        self.warning_counts: Counter[str] = Counter()
        self.bad_rows: dict[str, set[int]] = defaultdict(set)
        # One string per village code, shared by every row that names it.
        codes = Region.objects.filter(level=Level.DESA).values_list("code", flat=True)
        self.villages = {code: code for code in codes}
        self.scope = import_scope(user) if check_access else None
        # Rows naming a number stored outside the caller's rights (audited, never detailed).
        self.elsewhere: list[dict] = []

    def error(self, sheet: str, row: int | None, column: str, value: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_MESSAGES:
            self.errors.append(RowError(sheet, row, column, value, message))
        if row is not None:
            self.bad_rows[sheet].add(row)

    def warn(self, sheet: str, row: int | None, column: str, value: str, message: str) -> None:
        """Reported like an error, but the row is still written."""
        self.warning_counts[sheet] += 1
        if len(self.warnings) < MAX_KEPT_MESSAGES:
            self.warnings.append(RowError(sheet, row, column, value, message))

    def headers(self, sheet: SheetRows, columns: list[Column]) -> bool:
        # An optional column left out of the file reads as empty, like an empty cell.
        missing = [
            column.name
            for column in columns
            if _required(column) and column.name not in sheet.headers
        ]
        if missing:
            self.error(
                sheet.name,
                1,
                ", ".join(missing),
                "",
                f"Kolom wajib tidak ada: {', '.join(missing)} (lihat templat). / "
                f"Required columns missing: {', '.join(missing)} (see the template).",
            )
            self.bad_rows[sheet.name].discard(1)  # the header row is no data row
        return not missing

    def cell(self, sheet: str, number: int, row: dict, mangled: frozenset, column: Column) -> Any:
        text = row.get(column.name, "")
        name = column.name
        shown = mask_digits(text) if column.kind in ("kk", "nik") else text

        def fail(message: str) -> None:
            self.error(sheet, number, name, shown, message)

        if text == "":
            if _required(column):
                fail("Wajib diisi. / Required.")
            if column.kind == "bool":
                return False
            return "" if column.kind == "text" else None
        if column.kind in ("kk", "nik"):
            label = "No. KK" if column.kind == "kk" else "NIK"
            if name in mangled:
                fail(_mangled_message(label, text))
                return None
            problem = _identity_problem(text, label)
            if problem:
                fail(problem)
                return None
            return text
        if column.kind == "region":
            if text not in self.villages:
                fail(f"Kode desa/kelurahan tidak dikenal: {text}. / Unknown village code: {text}.")
                return None
            if self.check_access and not can_import(self.user, text):
                fail(
                    f"Anda tidak berhak mengimpor data desa {text}. / "
                    f"You may not import data of village {text}."
                )
                return None
            return self.villages[text]
        if column.kind == "text":
            if len(text) >= 2 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
                # The quote our own exports put before formula-like text (exports.neutralised):
                # an export imports back as it was exported.
                text = text[1:]
            if len(text) > column.max_length:
                fail(
                    f"Terlalu panjang (maks. {column.max_length} karakter). / "
                    f"Too long (max. {column.max_length} characters)."
                )
                return None
            if len(text) > 1 and text[0] in FORMULA_PREFIXES:
                self.warn(
                    sheet,
                    number,
                    name,
                    text,
                    _(
                        "Kolom %(column)s diawali %(char)s: aplikasi lembar kerja dapat "
                        "menjalankannya sebagai rumus. Periksa isinya."
                    )
                    % {"column": name, "char": repr(text[0])},
                )
            return text
        if column.kind == "date":
            value = _parse_date(text)
            if value is None:
                fail("Tanggal tidak valid (YYYY-MM-DD). / Invalid date (YYYY-MM-DD).")
            return value
        if column.kind in ("coded", "int"):
            try:
                value = int(text)
            except ValueError:
                if column.kind == "coded":
                    fail(_coded_hint(column))
                else:
                    fail("Harus berupa bilangan bulat. / Must be a whole number.")
                return None
            if column.kind == "int" and not -32768 <= value <= 32767:
                fail(_("Angka di luar rentang yang mungkin."))
                return None
            if column.kind == "coded" and value not in cb.codes(
                column.variable, exclude=column.exclude
            ):
                allowed = ", ".join(map(str, cb.codes(column.variable, exclude=column.exclude)))
                fail(
                    f"Kode tidak ada di kodebook {column.variable} (boleh: {allowed}). / "
                    f"Code not in the codebook of {column.variable} (allowed: {allowed})."
                )
                return None
            return value
        if column.kind in ("bool", "bool_null"):
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            fail("Isi 1 (ya) atau 0 (tidak). / Use 1 (yes) or 0 (no).")
            return None
        if column.kind == "coord":
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                fail("Koordinat harus angka desimal. / Coordinates must be decimal numbers.")
                return None
            return value
        raise AssertionError(column.kind)

    def parse(self, sheet: str, columns: list[Column], rows: list) -> list[tuple[int, dict]]:
        return [
            (number, {c.name: self.cell(sheet, number, row, mangled, c) for c in columns})
            for number, row, mangled in rows
        ]


@dataclass
class _FileState:
    """What the cross-row rules need of the rows already read: compact, one small tuple per
    household; everything else about earlier rows lives in the staging tables."""

    # No. KK -> (its first row, village code, survey date)
    households: dict[str, tuple[int, str | None, dt.date | None]] = field(default_factory=dict)
    regions: set[str] = field(default_factory=set)
    rows: Counter[str] = field(default_factory=Counter)


def _household_rules(v: _Validator, rows: list[tuple[int, dict]], state: _FileState) -> None:
    sheet = HOUSEHOLD_SHEET
    for number, row in rows:
        kk = row["no_kk"]
        if row["kode_desa"]:
            state.regions.add(row["kode_desa"])
        if kk:
            if kk in state.households:
                first = state.households[kk][0]
                v.error(
                    sheet,
                    number,
                    "no_kk",
                    mask_number(kk),
                    f"No. KK ganda di berkas (juga di baris {first}). / "
                    f"Duplicate No. KK in the file (also row {first}).",
                )
            else:
                state.households[kk] = (number, row["kode_desa"], row["tanggal_survei"])
            _check_issuing_kecamatan(v, sheet, number, "no_kk", kk, "No. KK", home=row["kode_desa"])
        if row["jenis_kloset"] is not None and row["fasilitas_bab"] not in (1, 2, 3):
            v.error(
                sheet,
                number,
                "jenis_kloset",
                str(row["jenis_kloset"]),
                "Jenis kloset (309b) hanya diisi bila fasilitas BAB (309a) = 1-3. / "
                "The toilet type (309b) is only asked when the facility (309a) is 1-3.",
            )
        if row["desil_kesejahteraan"] is not None and not row["desil_sumber"]:
            v.error(
                sheet,
                number,
                "desil_sumber",
                "",
                "Desil butuh sumbernya (mis. DTSEN). / A decile needs its source (e.g. DTSEN).",
            )
        survey = row["tanggal_survei"]
        if survey and not (dt.date(2000, 1, 1) <= survey <= dt.date.today()):
            v.error(
                sheet,
                number,
                "tanggal_survei",
                survey.isoformat(),
                "Tanggal survei tidak masuk akal (2000 s.d. hari ini). / "
                "Implausible survey date (2000 to today).",
            )
        lat, lon = row["lintang"], row["bujur"]
        if (lat is None) != (lon is None):
            v.error(
                sheet,
                number,
                "lintang" if lat is None else "bujur",
                "",
                "Lintang dan bujur diisi berdua atau dikosongkan berdua. / "
                "Fill in both latitude and longitude, or neither.",
            )
    _check_locations(v, rows)


def _check_locations(v: _Validator, rows: list[tuple[int, dict]]) -> None:
    """Points inside their village (with a tolerance); swapped latitude/longitude named."""
    checks = []
    for number, row in rows:
        lat, lon, code = row["lintang"], row["bujur"], row["kode_desa"]
        if lat is None or lon is None or not code:
            continue
        given_ok = -90 <= lat <= 90 and -180 <= lon <= 180
        swapped_ok = -90 <= lon <= 90 and -180 <= lat <= 180
        checks.append(
            (
                number,
                code,
                lon if given_ok else None,
                lat if given_ok else None,
                lat if swapped_ok else None,
                lon if swapped_ok else None,
            )
        )
    if not checks:
        return
    columns = list(zip(*checks, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.n,
                   CASE WHEN ST_Intersects(r.boundary, g.p) THEN true
                        ELSE ST_DWithin(r.boundary::geography, g.p::geography, %s) END,
                   CASE WHEN ST_Intersects(r.boundary, s.p) THEN true
                        ELSE ST_DWithin(r.boundary::geography, s.p::geography, %s) END,
                   r.boundary IS NULL
            FROM unnest(%s::int[], %s::text[], %s::float8[], %s::float8[], %s::float8[],
                        %s::float8[]) AS t(n, code, x, y, sx, sy)
            JOIN villages_region r ON r.code = t.code
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS p) g
            CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(t.sx, t.sy), 4326) AS p) s
            """,
            [LOCATION_TOLERANCE_M, LOCATION_TOLERANCE_M, *map(list, columns)],
        )
        results = cursor.fetchall()
    for number, inside, swapped_inside, no_boundary in results:
        if inside or no_boundary:
            continue
        if swapped_inside:
            message = (
                "Lintang dan bujur tertukar: titik ini berada di desanya bila keduanya ditukar. / "
                "Latitude and longitude are swapped: the point lies in its village when "
                "they are exchanged."
            )
        else:
            message = (
                f"Titik berada di luar desa/kelurahannya (lebih dari {LOCATION_TOLERANCE_M} m). / "
                f"The point lies outside its village (by more than {LOCATION_TOLERANCE_M} m)."
            )
        v.error(HOUSEHOLD_SHEET, number, "lintang", "", message)


def _member_rules(v: _Validator, rows: list[tuple[int, dict]], state: _FileState) -> None:
    """Rules of one member row against its household; duplicates and heads per household
    are counted in SQL over the staging table once every row is in (`_cross_checks`)."""
    sheet = MEMBER_SHEET
    for number, row in rows:
        nik, kk = row["nik"], row["no_kk"]
        household = state.households.get(kk) if kk else None
        if kk and household is None:
            v.error(
                sheet,
                number,
                "no_kk",
                mask_number(kk),
                "No. KK ini tidak ada di lembar rumah_tangga. / "
                "This No. KK is not in the households sheet.",
            )
        _unused, village, survey = household or (None, None, None)
        if nik:
            _check_issuing_kecamatan(v, sheet, number, "nik", nik, "NIK", home=village)
            _check_birth(v, number, row, survey)
        if row["jenjang_pendidikan"] is not None and row["partisipasi_sekolah"] not in (2, 3):
            v.error(
                sheet,
                number,
                "jenjang_pendidikan",
                str(row["jenjang_pendidikan"]),
                "Jenjang pendidikan (413) hanya diisi bila pernah/masih sekolah (412 = 2 atau 3). "
                "/ The level attended (413) is only asked of those who ever went to school "
                "(412 = 2 or 3).",
            )


def _check_issuing_kecamatan(
    v: _Validator,
    sheet: str,
    number: int,
    column: str,
    identity: str,
    label: str,
    *,
    home: str | None,
) -> None:
    """The first 6 digits of a NIK or No. KK: the kecamatan where it was issued.

    A prefix whose first 2 digits are no province is a typing error. A kecamatan missing
    from the current Kemendagri list is a warning, not an error: it may be a typing error,
    but also a code retired since the number was issued (a NIK is kept for life; the
    kabupaten that left Kalimantan Timur for Kalimantan Utara in 2012 left codes such as
    64.04 behind, which the current list no longer has), and refusing it would lock that
    household out. A real
    kecamatan other than the household's is a warning too: digits 1-6 are the kecamatan of
    registration, not of residence, and a family card is not reissued for every move."""
    prefix = identity[:6]
    issued_in = kecamatan_of_identity_prefix().get(prefix)
    if issued_in is None and province_of_identity_prefix(prefix) is None:
        v.error(
            sheet,
            number,
            column,
            mask_number(identity),
            f"{label} berawalan {prefix}: {prefix[:2]} bukan kode provinsi Kemendagri; "
            f"periksa pengetikannya. / The {label} begins {prefix}: {prefix[:2]} is not a "
            "Kemendagri province code; check how it was typed.",
        )
        return
    if issued_in is None:
        v.warn(
            sheet,
            number,
            column,
            mask_number(identity),
            f"6 digit awal {label} ({prefix}) tidak ada dalam daftar kecamatan Kemendagri "
            f"terkini: salah ketik, atau kode lama yang sudah diganti (mis. Kalimantan Utara "
            f"sebelum 2012); periksa. / The first 6 digits of the {label} ({prefix}) are not "
            "in the current Kemendagri kecamatan list: a typing error, or an old code since "
            "replaced (e.g. Kalimantan Utara before 2012); check it.",
        )
        return
    if home and prefix != home[:8].replace(".", ""):
        v.warn(
            sheet,
            number,
            column,
            mask_number(identity),
            f"{label} diterbitkan di kecamatan lain ({prefix}: {issued_in}), bukan kecamatan "
            f"rumah tangga ini ({home[:8]}): wajar bagi pendatang, periksa bila bukan. / The "
            f"{label} was issued in another kecamatan ({prefix}: {issued_in}), not this "
            f"household's ({home[:8]}): normal for people who moved, check it otherwise.",
        )


def _check_birth(v: _Validator, number: int, row: dict, survey: dt.date | None) -> None:
    birth, nik, sex = row["tanggal_lahir"], row["nik"], row["jenis_kelamin"]
    if birth is None:
        return
    limit = survey or dt.date.today()
    if not (dt.date(1900, 1, 1) <= birth <= limit):
        v.error(
            MEMBER_SHEET,
            number,
            "tanggal_lahir",
            birth.isoformat(),
            "Tanggal lahir tidak masuk akal (1900 s.d. tanggal survei). / "
            "Implausible birth date (1900 to the survey date).",
        )
        return
    day = int(nik[6:8])
    nik_female = day > 40
    day -= 40 if nik_female else 0
    if (day, int(nik[8:10]), int(nik[10:12])) != (birth.day, birth.month, birth.year % 100):
        v.error(
            MEMBER_SHEET,
            number,
            "tanggal_lahir",
            birth.isoformat(),
            f"Tanggal lahir tidak cocok dengan NIK (digit 7-12 menyatakan {nik[6:12]}: "
            "DDMMYY, +40 pada tanggal untuk perempuan). / The birth date does not match the "
            "NIK (digits 7-12 are DDMMYY, +40 on the day for women).",
        )
    elif sex is not None and nik_female != (sex == 2):
        v.error(
            MEMBER_SHEET,
            number,
            "jenis_kelamin",
            str(sex),
            "Jenis kelamin tidak cocok dengan NIK (tanggal +40 berarti perempuan). / "
            "The sex does not match the NIK (day +40 means female).",
        )


def import_scope(user) -> list[str] | None:
    """Villages whose stored households this caller may change by import: None for every
    village (the command line, administrators), else the villages `can_import` allows."""
    if user is None or role_of(user) == Role.ADMIN:
        return None
    return [code for code in (areas_of(user) or []) if can_import(user, code)]


NEUTRAL_ELSEWHERE = "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."


def _elsewhere(v: _Validator, sheet: str, number: int, column: str, identity: str) -> None:
    """A stored number outside the caller's rights: one message that names no place and no
    other record, so that the answer cannot tell where (or whose) it is."""
    v.error(sheet, number, column, mask_number(identity), _(NEUTRAL_ELSEWHERE))
    v.elsewhere.append({"sheet": sheet, "row": number, "column": column})


def _cross_checks(v: _Validator, cursor) -> None:
    """The rules over all rows of the file, in SQL over the staging tables (which hold
    every row read, rejected ones included, until `_drop_rejected`)."""
    cursor.execute(
        """
        SELECT n, nik, first FROM (
            SELECT n, nik, min(n) OVER (PARTITION BY nik) AS first
            FROM import_member WHERE nik IS NOT NULL
        ) d WHERE n > first ORDER BY n
        """
    )
    for number, nik, first in cursor.fetchall():
        v.error(
            MEMBER_SHEET,
            number,
            "nik",
            mask_number(nik),
            f"NIK ganda di berkas (juga di baris {first}). / "
            f"Duplicate NIK in the file (also row {first}).",
        )
    cursor.execute(
        """
        SELECT h.n, h.no_kk, (SELECT count(*) FROM import_member m
                              WHERE m.no_kk = h.no_kk AND m.hubungan_keluarga = 1) AS heads
        FROM (SELECT DISTINCT ON (no_kk) n, no_kk FROM import_household
              WHERE no_kk IS NOT NULL ORDER BY no_kk, n) h
        ORDER BY h.n
        """
    )
    for number, kk, count in cursor.fetchall():
        if count != 1:
            v.error(
                HOUSEHOLD_SHEET,
                number,
                "no_kk",
                mask_number(kk),
                f"Rumah tangga harus punya tepat satu kepala keluarga di lembar anggota "
                f"(ada {count}). / A household needs exactly one head in the members sheet "
                f"(found {count}).",
            )


def _against_database(v: _Validator, cursor, *, missing_members: str) -> tuple[list[dict], int]:
    """Checks against stored rows; returns the members missing from the file (the first
    MAX_STORED_ERRORS of them) and how many there are.

    The caller's scope is part of every query: a stored row outside it contributes one
    flag (in scope or not) and nothing else, so no name, number, count or village code of
    another area can reach the answer, the job row or the audit trail."""
    scope = v.scope
    in_scope = "(%(scope)s::text[] IS NULL OR h.region_id = ANY(%(scope)s::text[]))"
    cursor.execute(
        f"""
        SELECT DISTINCT ON (s.no_kk) s.n, s.no_kk FROM import_household s
        JOIN households_household h ON h.no_kk = s.no_kk
        WHERE NOT {in_scope} ORDER BY s.no_kk, s.n
        """,  # noqa: S608 - a constant of this module
        {"scope": scope},
    )
    for number, kk in sorted(cursor.fetchall()):
        _elsewhere(v, HOUSEHOLD_SHEET, number, "no_kk", kk)
    cursor.execute(
        f"""
        SELECT s.n, s.nik, CASE WHEN {in_scope} THEN h.no_kk END
        FROM import_member s
        JOIN households_member m ON m.nik = s.nik
        JOIN households_household h ON h.id = m.household_id
        WHERE s.no_kk IS NOT NULL AND h.no_kk <> s.no_kk
        ORDER BY s.n
        """,  # noqa: S608 - a constant of this module
        {"scope": scope},
    )
    for number, nik, home in cursor.fetchall():
        if home is None:
            _elsewhere(v, MEMBER_SHEET, number, "nik", nik)
        else:
            v.error(
                MEMBER_SHEET,
                number,
                "nik",
                mask_number(nik),
                f"NIK ini sudah terdaftar di KK lain ({mask_number(home)}); pindahkan dulu "
                "lewat pengubahan data. / This NIK is already registered in another family "
                "card; move it by an edit first.",
            )
    cursor.execute(
        f"""
        SELECT h.no_kk, m.nik, m.nama, m.hubungan_keluarga,
               (SELECT min(f.n) FROM import_household f WHERE f.no_kk = h.no_kk),
               EXISTS (SELECT 1 FROM import_member f WHERE f.no_kk = h.no_kk
                       AND f.nik IS NOT NULL AND f.hubungan_keluarga = 1)
        FROM households_household h JOIN households_member m ON m.household_id = h.id
        WHERE h.no_kk IN (SELECT no_kk FROM import_household) AND {in_scope}
          AND NOT EXISTS (SELECT 1 FROM import_member f
                          WHERE f.nik = m.nik AND f.no_kk IS NOT NULL)
        ORDER BY h.no_kk, m.nik
        """,  # noqa: S608 - a constant of this module
        {"scope": scope},
    )
    missing: list[dict] = []
    count = 0
    while batch := cursor.fetchmany(STAGE_CHUNK_ROWS):
        for kk, nik, name, relation, household_row, file_has_head in batch:
            count += 1
            if len(missing) < MAX_STORED_ERRORS:
                missing.append({"no_kk": mask_number(kk), "nik": mask_number(nik), "nama": name})
            if missing_members == KEEP and relation == 1 and file_has_head:
                v.error(
                    HOUSEHOLD_SHEET,
                    household_row,
                    "no_kk",
                    mask_number(kk),
                    f"Kepala keluarga tersimpan (NIK {mask_number(nik)}) tidak ada di berkas, "
                    "sedangkan berkas memuat kepala baru: pilih missing_members=remove atau "
                    "cantumkan dia. / The stored head is not in the file while the file "
                    "names a new head: use missing_members=remove or include them.",
                )
    return missing, count


# --- writing -----------------------------------------------------------------------------

# progress(done, total, phase): rows done of total in a phase; the phases, in order, are
# validate, stage (COPY into the staging tables), upsert and refresh (indicators).
Progress = Callable[[int, int, str], None]

# ON COMMIT DROP cleans up after a real commit; the DROP covers a caller's outer
# transaction (tests, a command run inside atomic) where a second import follows. `n` is
# the row number in the file: every row read is staged, rejected ones too (their failing
# cells NULL), so the cross-row rules run in SQL; rejected rows are dropped before the
# upserts.
_STAGING_SQL = """
DROP TABLE IF EXISTS pg_temp.import_household, pg_temp.import_member;
CREATE TEMP TABLE import_household (
    n integer, no_kk varchar(16), region_id varchar(13), dusun varchar(60), rw varchar(3),
    rt varchar(3), alamat varchar(200), lokasi geometry(Point, 4326), tanggal_survei date,
    fasilitas_bab smallint, jenis_kloset smallint, pembuangan_tinja smallint,
    tangki_septik_disedot boolean, sumber_air_minum smallint,
    jarak_sumber_air_tinja smallint, sumber_air_mandi smallint, kepemilikan_rumah smallint,
    lantai smallint, dinding smallint, atap smallint, penerangan smallint,
    bahan_bakar_memasak smallint, desil_kesejahteraan smallint, desil_sumber varchar(20),
    desil_tahun smallint, penerima_pkh boolean, penerima_bpnt boolean,
    penerima_blt_dd boolean, penerima_pbi_jk boolean
) ON COMMIT DROP;
CREATE TEMP TABLE import_member (
    n integer, no_kk varchar(16), nik varchar(16), nama varchar(120), jenis_kelamin smallint,
    tanggal_lahir date, hubungan_keluarga smallint, partisipasi_sekolah smallint,
    jenjang_pendidikan smallint, ijazah_tertinggi smallint, disabilitas boolean,
    pekerjaan varchar(100)
) ON COMMIT DROP;
"""
_STAGING_INDEX_SQL = """
CREATE INDEX ON import_household (no_kk);
CREATE INDEX ON import_member (nik);
CREATE INDEX ON import_member (no_kk);
ANALYZE import_household;
ANALYZE import_member;
"""


def _set_list(columns: list[str], *, skip: tuple[str, ...] = ()) -> tuple[str, str, str]:
    kept = [c for c in columns if c not in skip]
    assignments = ", ".join(f"{c} = EXCLUDED.{c}" for c in kept)
    old = ", ".join(f"t.{c}" for c in kept)
    new = ", ".join(f"EXCLUDED.{c}" for c in kept)
    return assignments, old, new


def _upsert_households(cursor) -> tuple[int, int]:
    """(inserted, updated) households; unchanged rows are not touched at all."""
    columns = list(_HOUSEHOLD_DB)
    assignments, _old, _new = _set_list(columns, skip=("no_kk",))
    _unused, old, new = _set_list(columns, skip=("no_kk", "lokasi"))
    # Spreadsheets keep 15 significant digits: a point that moved less than ~0.1 mm is the
    # same point, or a re-imported export would count as changed.
    cursor.execute(
        f"""
        INSERT INTO households_household AS t ({", ".join(columns)}, sumber_data, dibuat, diubah)
        SELECT {", ".join(columns)}, %(source)s, now(), now() FROM import_household
        ON CONFLICT (no_kk) DO UPDATE SET {assignments}, sumber_data = %(source)s, diubah = now()
        WHERE ({old}) IS DISTINCT FROM ({new})
           OR (t.lokasi IS NULL) <> (EXCLUDED.lokasi IS NULL)
           OR NOT ST_DWithin(t.lokasi, EXCLUDED.lokasi, 1e-9)
        RETURNING (xmax = 0)
        """,  # noqa: S608 - column names are constants of this module
        {"source": DataSource.IMPORT},
    )
    flags = [row[0] for row in cursor.fetchall()]
    return sum(flags), len(flags) - sum(flags)


def _remove_missing_members(cursor) -> int:
    cursor.execute(
        """
        DELETE FROM households_member m USING households_household h
        WHERE h.id = m.household_id
          AND h.no_kk IN (SELECT no_kk FROM import_household)
          AND m.nik NOT IN (SELECT nik FROM import_member)
        """
    )
    return cursor.rowcount


def _upsert_members(cursor) -> tuple[int, int]:
    """(inserted, updated) members, matched on NIK."""
    columns = [c for c in _MEMBER_DB if c != "no_kk"]
    assignments, old, new = _set_list(columns, skip=("nik",))
    # A new head is written only after the old one stepped down: the "at most one head"
    # index is checked row by row, not at the end of the statement.
    cursor.execute(
        """
        UPDATE households_member m SET hubungan_keluarga = s.hubungan_keluarga, diubah = now()
        FROM import_member s
        WHERE s.nik = m.nik AND m.hubungan_keluarga = 1 AND s.hubungan_keluarga <> 1
        RETURNING m.nik
        """
    )
    demoted = {row[0] for row in cursor.fetchall()}
    cursor.execute(
        f"""
        INSERT INTO households_member AS t (household_id, {", ".join(columns)}, dibuat, diubah)
        SELECT h.id, {", ".join("s." + c for c in columns)}, now(), now()
        FROM import_member s JOIN households_household h ON h.no_kk = s.no_kk
        ORDER BY s.hubungan_keluarga DESC
        ON CONFLICT (nik) DO UPDATE SET {assignments}, diubah = now()
        WHERE ({old}) IS DISTINCT FROM ({new})
        RETURNING (xmax = 0), nik
        """  # noqa: S608 - column names are constants of this module
    )
    rows = cursor.fetchall()
    inserted = sum(1 for flag, _nik in rows if flag)
    updated_niks = {nik for flag, nik in rows if not flag}
    return inserted, len(updated_niks | demoted)


def _household_copy_row(number: int, row: dict) -> list:
    point = None
    if row["lintang"] is not None and row["bujur"] is not None:
        point = f"SRID=4326;POINT({row['bujur']!r} {row['lintang']!r})"
    values = {**row, "region_id": row["kode_desa"], "lokasi": point}
    return [number, *(values[c] for c in _HOUSEHOLD_DB)]


def _member_copy_row(number: int, row: dict) -> list:
    return [number, *(row[c] for c in _MEMBER_DB)]


STAGE_CHUNK_ROWS = 5000


def _chunks(rows: Iterable, size: int = STAGE_CHUNK_ROWS) -> Iterable[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_and_stage(
    v: _Validator,
    cursor,
    *,
    sheet: SheetRows,
    columns: list[Column],
    rules: Callable[[_Validator, list[tuple[int, dict]], _FileState], None],
    table: str,
    copy_columns: list[str],
    copy_row: Callable[[int, dict], list],
    state: _FileState,
    step: Callable[[int], None],
) -> None:
    """Read a sheet chunk by chunk: parse, check, COPY into its staging table, forget."""
    for raw in _chunks(sheet.rows):
        parsed = v.parse(sheet.name, columns, raw)
        rules(v, parsed, state)
        copy_rows(
            table=table,
            columns=copy_columns,
            rows=[copy_row(number, row) for number, row in parsed],
            cursor=cursor,
        )
        state.rows[sheet.name] += len(parsed)
        step(len(parsed))


def _drop_rejected(v: _Validator, cursor) -> tuple[int, int]:
    """Leaves only the rows to write; returns how many households and members they are."""
    cursor.execute(
        "DELETE FROM import_household WHERE n = ANY(%s)", [sorted(v.bad_rows[HOUSEHOLD_SHEET])]
    )
    cursor.execute(
        """
        DELETE FROM import_member s WHERE s.n = ANY(%s)
           OR NOT EXISTS (SELECT 1 FROM import_household h WHERE h.no_kk = s.no_kk)
        """,
        [sorted(v.bad_rows[MEMBER_SHEET])],
    )
    cursor.execute(
        "SELECT (SELECT count(*) FROM import_household), (SELECT count(*) FROM import_member)"
    )
    return cursor.fetchone()


@dataclass
class _Outcome:
    written: dict[str, int] | None = None
    missing: list[dict] = field(default_factory=list)
    missing_count: int = 0
    committed: bool = False


def _validate_and_write(
    v: _Validator,
    cursor,
    *,
    households: SheetRows,
    members: SheetRows,
    state: _FileState,
    dry_run: bool,
    missing_members: str,
    progress: Progress,
) -> _Outcome:
    """Inside the import's one transaction: read, check and stage both sheets, run the
    checks over all rows, then (any row left to write) upsert; rolled back unless it is a
    commit without errors.

    `progress` is called from inside the transaction: the job writes it through a
    connection of its own (see `_JobProgress`), or pollers would see nothing until the
    commit."""
    outcome = _Outcome()
    estimate = households.estimated_rows + members.estimated_rows
    done = 0

    def step(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done, max(estimate, done), "validate")

    cursor.execute(_STAGING_SQL)
    _read_and_stage(
        v,
        cursor,
        sheet=households,
        columns=HOUSEHOLD_COLUMNS,
        rules=_household_rules,
        table="import_household",
        copy_columns=["n", *_HOUSEHOLD_DB],
        copy_row=_household_copy_row,
        state=state,
        step=step,
    )
    if not state.rows[HOUSEHOLD_SHEET]:
        v.error(
            HOUSEHOLD_SHEET,
            None,
            "",
            "",
            "Lembar rumah_tangga tidak berisi data. / The households sheet holds no rows.",
        )
        transaction.set_rollback(True)
        return outcome
    _read_and_stage(
        v,
        cursor,
        sheet=members,
        columns=MEMBER_COLUMNS,
        rules=_member_rules,
        table="import_member",
        copy_columns=["n", *_MEMBER_DB],
        copy_row=_member_copy_row,
        state=state,
        step=step,
    )
    total = done
    progress(total, total, "validate")
    cursor.execute(_STAGING_INDEX_SQL)
    _cross_checks(v, cursor)
    outcome.missing, outcome.missing_count = _against_database(
        v, cursor, missing_members=missing_members
    )
    good_households, _good_members = _drop_rejected(v, cursor)
    progress(total, total, "stage")
    keep = not dry_run and not v.error_count
    if good_households:
        progress(0, total, "upsert")
        removed = _remove_missing_members(cursor) if missing_members == REMOVE else 0
        hh_new, hh_updated = _upsert_households(cursor)
        progress(good_households, total, "upsert")
        m_new, m_updated = _upsert_members(cursor)
        # Deferred checks (one head per household) run now, so a dry run catches them too;
        # not when rows were already rejected: the rollback is certain, and the check would
        # only repeat, without a row number, what a rejected member row already says.
        if not v.error_count:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        progress(total, total, "upsert")
        outcome.written = {
            "households_new": hh_new,
            "households_updated": hh_updated,
            "members_new": m_new,
            "members_updated": m_updated,
            "members_removed": removed,
        }
    outcome.committed = keep and good_households > 0
    if not outcome.committed:
        transaction.set_rollback(True)
    return outcome


# --- the service -------------------------------------------------------------------------

_SHEET_ORDER = {HOUSEHOLD_SHEET: 0, MEMBER_SHEET: 1}


def _in_file_order(messages: list[RowError]) -> list[RowError]:
    """By sheet, then row: checks run per chunk and in SQL, not in the order of the file."""
    return sorted(messages, key=lambda e: (_SHEET_ORDER.get(e.sheet, 2), e.row or 0))


def census_import(
    *,
    sheets: list[SheetRows],
    user=None,
    dry_run: bool = True,
    missing_members: str = KEEP,
    progress: Progress | None = None,
    refresh: bool = True,
) -> ImportResult:
    """Validate the sheets and, unless `dry_run` or any row is in error, write them.

    `user` None is the command line (system rights); otherwise `can_import` is checked for
    every village named in the file and every stored household the file would change.
    `refresh=False` leaves the touched villages marked stale for a later
    `indicators_refresh()` (the benchmark times the refresh on its own).

    Rows are read as they are validated and staged, inside the one transaction of the
    write, so memory holds one chunk of rows and a small tuple per household, whatever
    the size of the file. Raises ImportFileError when the file breaks a limit of
    `census_read` (rows, cell length) while it is read: nothing is then written.
    """
    if missing_members not in (KEEP, REMOVE):
        raise ValueError(f"missing_members must be {KEEP!r} or {REMOVE!r}")
    report = progress or (lambda done, total, phase: None)
    by_name = {sheet.name: sheet for sheet in sheets}
    validator = _Validator(user=user, check_access=user is not None)
    household_sheet = by_name.get(HOUSEHOLD_SHEET) or SheetRows(HOUSEHOLD_SHEET, [])
    member_sheet = by_name.get(MEMBER_SHEET) or SheetRows(MEMBER_SHEET, [])
    report(0, household_sheet.estimated_rows + member_sheet.estimated_rows, "validate")

    # Headers first: a file without the required columns is refused before any row is read.
    headers_ok = validator.headers(household_sheet, HOUSEHOLD_COLUMNS) & validator.headers(
        member_sheet, MEMBER_COLUMNS
    )
    state = _FileState()
    outcome = _Outcome()
    if headers_ok:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('desapresisi.actor', %s, true)",
                    [actor_label(user) or "import_census"],
                )
                outcome = _validate_and_write(
                    validator,
                    cursor,
                    households=household_sheet,
                    members=member_sheet,
                    state=state,
                    dry_run=dry_run,
                    missing_members=missing_members,
                    progress=report,
                )
        except DatabaseError as exc:
            # Nothing was written (the transaction rolled back). With rejected rows this
            # can be a consequence of them; the errors above then tell what to fix.
            outcome = _Outcome(missing=outcome.missing, missing_count=outcome.missing_count)
            validator.error(
                "",
                None,
                "",
                "",
                "Basis data menolak impor; tidak ada yang disimpan. / The database refused the "
                f"import; nothing was saved. ({mask_digits(str(exc).splitlines()[0])})",
            )
    counts = {
        "households": {
            "total": state.rows[HOUSEHOLD_SHEET],
            "rejected": len(validator.bad_rows[HOUSEHOLD_SHEET]),
        },
        "members": {
            "total": state.rows[MEMBER_SHEET],
            "rejected": len(validator.bad_rows[MEMBER_SHEET]),
        },
    }
    written = outcome.written
    if written:
        for unit in ("households", "members"):
            valid = counts[unit]["total"] - counts[unit]["rejected"]
            counts[unit]["new"] = written[f"{unit}_new"]
            counts[unit]["updated"] = written[f"{unit}_updated"]
            counts[unit]["unchanged"] = max(
                0, valid - written[f"{unit}_new"] - written[f"{unit}_updated"]
            )
        counts["members"]["removed"] = written["members_removed"]
    counts["members"]["missing"] = outcome.missing_count
    for unit, sheet in (("households", HOUSEHOLD_SHEET), ("members", MEMBER_SHEET)):
        counts[unit]["warnings"] = validator.warning_counts[sheet]
    if validator.elsewhere:
        # Someone probed (or mistyped) numbers registered where they have no rights: the
        # answer says nothing about them, the trail says it happened and where in the file.
        # Recorded here, after the import's transaction, which a dry run rolls back.
        audit.record(
            action=AuditAction.ACCESS_DENIED,
            user=user,
            rows=len(validator.elsewhere),
            filters={"import_rows": validator.elsewhere[:MAX_STORED_ERRORS]},
            detail="import: numbers registered outside the caller's area",
        )
    if outcome.committed and refresh:
        report(0, 1, "refresh")
        indicators_refresh()
    return ImportResult(
        dry_run=dry_run,
        committed=outcome.committed,
        counts=counts,
        errors=_in_file_order(validator.errors),
        missing_members=outcome.missing,
        regions=sorted(state.regions),
        warnings=_in_file_order(validator.warnings),
        error_count=validator.error_count,
        warning_count=sum(validator.warning_counts.values()),
    )


def errors_as_dicts(errors: Iterable[RowError]) -> list[dict]:
    return [error.as_dict() for error in errors]


def error_summary(errors: list[RowError]) -> dict[str, int]:
    return dict(Counter(f"{e.sheet}:{e.column}" for e in errors))


# --- jobs --------------------------------------------------------------------------------


# Share of the whole job each phase covers, in percent: validation is about half of the
# work, staging (COPY) and the upserts most of the rest.
PHASE_PERCENT = {"validate": (0, 50), "stage": (50, 80), "upsert": (80, 96), "refresh": (96, 99)}


class _JobProgress:
    """Writes a job's progress so that other sessions (the page, the API) see it at once.

    Outside the import's transaction an ordinary UPDATE does. Inside it (staging and
    upserts, which can take minutes) an UPDATE on the same connection would stay invisible
    until the commit, so it goes through a second connection of its own, in autocommit.
    SKIP LOCKED makes that write give way instead of waiting when the job row is locked by
    the importing transaction itself (a caller's outer transaction), which would deadlock.
    The data stays all-or-nothing: only the job row is written on the side."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        # A caller's own transaction (a test, a command run inside atomic) is not ours.
        self.base_depth = len(connection.atomic_blocks)
        self.side = None

    def __call__(self, done: int, total: int, phase: str) -> None:
        low, high = PHASE_PERCENT[phase]
        share = min(done / total, 1.0) if total else 1.0
        fields = {
            "progress_rows": done,
            "progress_total": total,
            "progress_percent": int(low + (high - low) * share),
            "progress_phase": phase,
        }
        if len(connection.atomic_blocks) <= self.base_depth:
            from .io_models import ImportJob

            ImportJob.objects.filter(pk=self.job_id).update(**fields)
            return
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.side.cursor() as cursor:
            cursor.execute(
                """
                UPDATE households_importjob SET progress_rows = %s, progress_total = %s,
                       progress_percent = %s, progress_phase = %s, updated = now()
                WHERE id = (SELECT id FROM households_importjob WHERE id = %s
                            FOR UPDATE SKIP LOCKED)
                """,
                [*fields.values(), self.job_id],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def import_job_run(*, job_id: int) -> None:
    """Run a stored job (in the request, or in the background worker) and record the
    outcome on it, with its progress visible to pollers throughout (`_JobProgress`)."""
    from .io_models import ImportJob, ImportStatus
    from .jobs import Heartbeat, lease_fields

    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, **lease_fields()
    )
    if not claimed:
        return  # run already (a task delivered twice), or failed or expired meanwhile
    job = ImportJob.objects.select_related("user").get(pk=job_id)
    progress = _JobProgress(job.pk)
    try:
        with Heartbeat(ImportJob, job.pk):
            _import_job_execute(job, progress)
    finally:
        progress.close()


def _import_job_execute(job, progress: _JobProgress) -> None:
    from django.utils import timezone

    from desapresisi import audit
    from desapresisi.models import AuditAction

    from .io_models import ImportJob, ImportStatus

    try:
        sheets = census_read(
            name=job.file_name,
            data=bytes(job.file_data or b""),
            members_data=bytes(job.members_file_data) if job.members_file_data else None,
        )
        result = census_import(
            sheets=sheets,
            user=job.user,
            dry_run=job.dry_run,
            missing_members=job.options.get("missing_members", KEEP),
            progress=progress,
        )
    except ImportFileError as exc:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.REJECTED,
            message=str(exc),
            errors=[RowError("", None, "", "", str(exc)).as_dict()],
            error_count=1,
            progress_percent=100,
            # A rejected file is of no further use; it is personal data.
            file_data=None,
            members_file_data=None,
            finished=timezone.now(),
        )
        return
    except Exception as exc:
        # The upload stays (IMPORT_UPLOAD_RETENTION_HOURS) for a retry.
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.FAILED,
            message=f"Kesalahan tak terduga; tidak ada yang disimpan. / Unexpected error; "
            f"nothing was saved. ({type(exc).__name__})",
            progress_phase="",
            finished=timezone.now(),
        )
        raise
    if result.committed:
        status = ImportStatus.DONE
    elif result.errors:
        status = ImportStatus.REJECTED
    else:
        status = ImportStatus.VALIDATED
    updates = {
        "status": status,
        "counts": result.counts,
        "errors": errors_as_dicts(result.errors[:MAX_STORED_ERRORS]),
        "error_count": result.error_count,
        "warnings": errors_as_dicts(result.warnings[:MAX_STORED_ERRORS]),
        "warning_count": result.warning_count,
        "missing_members": result.missing_members[:MAX_STORED_ERRORS],
        "progress_percent": 100,
        "progress_rows": result.rows,
        "progress_total": result.rows,
        "progress_phase": "",
        "finished": timezone.now(),
    }
    if result.committed or status == ImportStatus.REJECTED:
        # Committed, the data now lives in the tables; rejected, the file must be fixed
        # and uploaded again. Either way the upload is personal data to drop.
        updates.update(file_data=None, members_file_data=None)
    ImportJob.objects.filter(pk=job.pk).update(**updates)
    audit.record(
        action=AuditAction.IMPORT,
        user=job.user,
        rows=result.rows,
        filters={
            "job": job.pk,
            "dry_run": job.dry_run,
            "committed": result.committed,
            "regions": result.regions,
            **job.options,
        },
        detail=f"{job.file_name}: {status}",
    )


def import_job_create(
    *,
    user,
    file_name: str,
    data: bytes,
    members_data: bytes | None = None,
    dry_run: bool = True,
    missing_members: str = KEEP,
):
    from .io_models import ImportJob

    if missing_members not in (KEEP, REMOVE):
        raise ValueError("missing_members")
    return ImportJob.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        file_name=file_name[:255],
        file_data=data,
        members_file_data=members_data,
        dry_run=dry_run,
        options={"missing_members": missing_members},
    )


def import_job_start(*, job) -> bool:
    """Run small files now, queue large ones. Returns True when queued.

    Small by what parsing costs, not by the upload's size: a compressed XLSX of 800 KB can
    hold gigabytes, and its declared uncompressed size is the bound zipfile enforces."""
    size = work_bytes(bytes(job.file_data or b"")) + len(job.members_file_data or b"")
    if size <= SYNC_MAX_BYTES:
        import_job_run(job_id=job.pk)
        return False
    from .tasks import import_census_task

    import_census_task.enqueue(job_id=job.pk)
    return True
