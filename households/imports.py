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

import csv
import datetime as dt
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction

from desapresisi.access import can_import
from desapresisi.audit import actor_label
from desapresisi.db import copy_rows
from desapresisi.masking import mask_number
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
# Files up to this size are processed in the request; larger ones by the background worker.
SYNC_MAX_BYTES = 1024 * 1024
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

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows(self) -> int:
        return sum(self.counts.get(sheet, {}).get("total", 0) for sheet in self.counts)


@dataclass
class SheetRows:
    """Rows of one sheet as text: (row number in the file, {header: text})."""

    name: str
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]
    # Cells that held numbers where identity numbers belong: (row, column) -> raw value.
    mangled: dict[tuple[int, str], str] = field(default_factory=dict)


# --- reading files -----------------------------------------------------------------------


def census_read(*, name: str, data: bytes, members_data: bytes | None = None) -> list[SheetRows]:
    """The household and member sheets of an XLSX workbook, or of two CSV files."""
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


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page, Windows-1252 here.
        return data.decode("cp1252", errors="replace")


def _read_csv(data: bytes, sheet: str) -> SheetRows:
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    # Excel in an Indonesian locale writes semicolons (the comma is the decimal mark).
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = [_header(value) for value in next(reader)]
    except StopIteration:
        raise ImportFileError(f"Berkas {sheet} kosong. / The {sheet} file is empty.") from None
    rows = []
    for number, values in enumerate(reader, start=FIRST_DATA_ROW):
        if not any(value.strip() for value in values):
            continue
        rows.append((number, dict(zip(headers, (v.strip() for v in values), strict=False))))
    return SheetRows(sheet, headers, rows)


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


def _read_xlsx(data: bytes) -> list[SheetRows]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ImportFileError(
            f"Berkas XLSX tidak dapat dibaca. / The XLSX file cannot be read ({exc})."
        ) from None
    sheets = []
    try:
        for sheet in (HOUSEHOLD_SHEET, MEMBER_SHEET):
            if sheet not in workbook.sheetnames:
                raise ImportFileError(
                    f"Lembar '{sheet}' tidak ada (ada: {', '.join(workbook.sheetnames)}). / "
                    f"Sheet '{sheet}' is missing."
                )
            rows_iter = workbook[sheet].iter_rows(values_only=True)
            headers = [_header(value) for value in next(rows_iter, ())]
            parsed = SheetRows(sheet, headers, [])
            for number, values in enumerate(rows_iter, start=FIRST_DATA_ROW):
                if not any(value not in (None, "") for value in values):
                    continue
                row = {}
                for header, value in zip(headers, values, strict=False):
                    if header in IDENTITY_COLUMNS and isinstance(value, int | float):
                        parsed.mangled[(number, header)] = _cell_text(value)
                    row[header] = _cell_text(value)
                parsed.rows.append((number, row))
            sheets.append(parsed)
    finally:
        workbook.close()
    return sheets


# --- validating --------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[0-9]([.,][0-9]+)?[eE][+]?[0-9]+$")
_FLOAT_TEXT = re.compile(r"^[0-9]+[.,]0+$")
_TRUE = {"1", "ya", "y", "true", "t", "benar"}
_FALSE = {"0", "tidak", "n", "false", "f", "salah", "tdk"}


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
            f"{label} tersimpan sebagai angka desimal ({text}). Format kolom sebagai Teks. / "
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
        f"Sel {label} berisi angka, bukan teks ({raw}): Excel menyimpan angka 16 digit "
        "sebagai 6.40901E+15 dan membulatkan digit terakhirnya. Format kolom sebagai Teks dan "
        f"ketik ulang. / The {label} cell holds a number, not text: Excel stores 16-digit "
        "numbers as 6.40901E+15 and rounds their last digits. Format the column as Text and "
        "re-enter it."
    )


def _parse_date(text: str) -> dt.date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


class _Validator:
    def __init__(self, *, user, check_access: bool):
        self.user = user
        self.check_access = check_access
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.bad_rows: dict[str, set[int]] = defaultdict(set)
        self.villages = set(Region.objects.filter(level=Level.DESA).values_list("code", flat=True))

    def error(self, sheet: str, row: int | None, column: str, value: str, message: str) -> None:
        self.errors.append(RowError(sheet, row, column, value, message))
        if row is not None:
            self.bad_rows[sheet].add(row)

    def warn(self, sheet: str, row: int | None, column: str, value: str, message: str) -> None:
        """Reported like an error, but the row is still written."""
        self.warnings.append(RowError(sheet, row, column, value, message))

    def headers(self, sheet: SheetRows, columns: list[Column]) -> bool:
        missing = [column.name for column in columns if column.name not in sheet.headers]
        if missing:
            self.error(
                sheet.name,
                1,
                ", ".join(missing),
                "",
                f"Kolom wajib tidak ada: {', '.join(missing)} (lihat templat). / "
                f"Required columns missing: {', '.join(missing)} (see the template).",
            )
        return not missing

    def cell(self, sheet: SheetRows, number: int, row: dict, column: Column) -> Any:
        text = row.get(column.name, "")
        name = column.name

        def fail(message: str) -> None:
            self.error(sheet.name, number, name, text, message)

        if text == "":
            if column.required or name in REQUIRED_CODED:
                fail("Wajib diisi. / Required.")
            if column.kind == "bool":
                return False
            return "" if column.kind == "text" else None
        if column.kind in ("kk", "nik"):
            label = "No. KK" if column.kind == "kk" else "NIK"
            if (number, name) in sheet.mangled:
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
            return text
        if column.kind == "text":
            if len(text) > column.max_length:
                fail(
                    f"Terlalu panjang (maks. {column.max_length} karakter). / "
                    f"Too long (max. {column.max_length} characters)."
                )
                return None
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
                fail("Harus berupa bilangan bulat. / Must be a whole number.")
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
                return float(text.replace(",", "."))
            except ValueError:
                fail("Koordinat harus angka desimal. / Coordinates must be decimal numbers.")
                return None
        raise AssertionError(column.kind)

    def parse(self, sheet: SheetRows, columns: list[Column]) -> list[tuple[int, dict]]:
        return [
            (number, {column.name: self.cell(sheet, number, row, column) for column in columns})
            for number, row in sheet.rows
        ]


def _household_rules(v: _Validator, rows: list[tuple[int, dict]]) -> None:
    sheet = HOUSEHOLD_SHEET
    first_row: dict[str, int] = {}
    for number, row in rows:
        kk = row["no_kk"]
        if kk:
            if kk in first_row:
                v.error(
                    sheet,
                    number,
                    "no_kk",
                    mask_number(kk),
                    f"No. KK ganda di berkas (juga di baris {first_row[kk]}). / "
                    f"Duplicate No. KK in the file (also row {first_row[kk]}).",
                )
            else:
                first_row[kk] = number
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


def _member_rules(
    v: _Validator,
    rows: list[tuple[int, dict]],
    households: dict[str, tuple[int, dict]],
) -> None:
    sheet = MEMBER_SHEET
    first_row: dict[str, int] = {}
    heads: dict[str, list[int]] = defaultdict(list)
    for number, row in rows:
        nik, kk = row["nik"], row["no_kk"]
        household = households[kk][1] if kk in households else None
        if kk and household is None:
            v.error(
                sheet,
                number,
                "no_kk",
                mask_number(kk),
                "No. KK ini tidak ada di lembar rumah_tangga. / "
                "This No. KK is not in the households sheet.",
            )
        if nik:
            if nik in first_row:
                v.error(
                    sheet,
                    number,
                    "nik",
                    mask_number(nik),
                    f"NIK ganda di berkas (juga di baris {first_row[nik]}). / "
                    f"Duplicate NIK in the file (also row {first_row[nik]}).",
                )
            else:
                first_row[nik] = number
            _check_issuing_kecamatan(
                v, sheet, number, "nik", nik, "NIK", home=(household or {}).get("kode_desa")
            )
            _check_birth(v, number, row, household)
        if row["hubungan_keluarga"] == 1 and kk:
            heads[kk].append(number)
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
    for kk, (number, _row) in households.items():
        count = len(heads.get(kk, []))
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


def _check_birth(v: _Validator, number: int, row: dict, household: dict | None) -> None:
    birth, nik, sex = row["tanggal_lahir"], row["nik"], row["jenis_kelamin"]
    if birth is None:
        return
    limit = (household or {}).get("tanggal_survei") or dt.date.today()
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


def _against_database(
    v: _Validator,
    *,
    households: dict[str, tuple[int, dict]],
    members: list[tuple[int, dict]],
    missing_members: str,
) -> list[dict]:
    """Checks against stored rows; returns the members missing from the file."""
    kks = list(households)
    niks = [row["nik"] for _n, row in members if row["nik"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT no_kk, region_id FROM households_household WHERE no_kk = ANY(%s)", [kks]
        )
        existing = dict(cursor.fetchall())
        cursor.execute(
            "SELECT m.nik, h.no_kk FROM households_member m "
            "JOIN households_household h ON h.id = m.household_id WHERE m.nik = ANY(%s)",
            [niks],
        )
        nik_home = dict(cursor.fetchall())
        cursor.execute(
            "SELECT h.no_kk, m.nik, m.nama, m.hubungan_keluarga FROM households_member m "
            "JOIN households_household h ON h.id = m.household_id WHERE h.no_kk = ANY(%s) "
            "ORDER BY h.no_kk, m.nik",
            [kks],
        )
        stored_members = cursor.fetchall()
    for kk, region in existing.items():
        number, _row = households[kk]
        if v.check_access and not can_import(v.user, region):
            v.error(
                HOUSEHOLD_SHEET,
                number,
                "no_kk",
                mask_number(kk),
                f"No. KK ini sudah terdaftar di desa {region} yang bukan wewenang Anda. / "
                f"This No. KK is registered in village {region}, outside your rights.",
            )
    for number, row in members:
        home = nik_home.get(row["nik"])
        if home is not None and home != row["no_kk"]:
            v.error(
                MEMBER_SHEET,
                number,
                "nik",
                mask_number(row["nik"]),
                f"NIK ini sudah terdaftar di KK lain ({mask_number(home)}); pindahkan dulu "
                "lewat pengubahan data. / This NIK is already registered in another family "
                "card; move it by an edit first.",
            )
    in_file = {row["nik"] for _n, row in members}
    file_heads = {row["no_kk"] for _n, row in members if row["hubungan_keluarga"] == 1}
    missing = []
    for kk, nik, name, relation in stored_members:
        if nik in in_file:
            continue
        missing.append({"no_kk": mask_number(kk), "nik": mask_number(nik), "nama": name})
        if missing_members == KEEP and relation == 1 and kk in file_heads:
            v.error(
                HOUSEHOLD_SHEET,
                households[kk][0],
                "no_kk",
                mask_number(kk),
                f"Kepala keluarga tersimpan (NIK {mask_number(nik)}) tidak ada di berkas, "
                "sedangkan berkas memuat kepala baru: pilih missing_members=remove atau "
                "cantumkan dia. / The stored head is not in the file while the file names a "
                "new head: use missing_members=remove or include them.",
            )
    return missing


# --- writing -----------------------------------------------------------------------------

# progress(done, total, phase): rows done of total in a phase; the phases, in order, are
# validate, stage (COPY into the staging tables), upsert and refresh (indicators).
Progress = Callable[[int, int, str], None]

# ON COMMIT DROP cleans up after a real commit; the DROP covers a caller's outer
# transaction (tests, a command run inside atomic) where a second import follows.
_STAGING_SQL = """
DROP TABLE IF EXISTS pg_temp.import_household, pg_temp.import_member;
CREATE TEMP TABLE import_household (
    no_kk varchar(16), region_id varchar(13), dusun varchar(60), rw varchar(3),
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
    no_kk varchar(16), nik varchar(16), nama varchar(120), jenis_kelamin smallint,
    tanggal_lahir date, hubungan_keluarga smallint, partisipasi_sekolah smallint,
    jenjang_pendidikan smallint, ijazah_tertinggi smallint, disabilitas boolean,
    pekerjaan varchar(100)
) ON COMMIT DROP;
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


def _household_copy_row(row: dict) -> list:
    point = None
    if row["lintang"] is not None and row["bujur"] is not None:
        point = f"SRID=4326;POINT({row['bujur']!r} {row['lintang']!r})"
    values = {**row, "region_id": row["kode_desa"], "lokasi": point}
    return [values[c] for c in _HOUSEHOLD_DB]


STAGE_CHUNK_ROWS = 5000


def _stage(cursor, *, table: str, columns: list[str], rows: list[list], step) -> None:
    """COPY in chunks, reporting after each so that a large file shows it is moving."""
    for start in range(0, len(rows), STAGE_CHUNK_ROWS):
        chunk = rows[start : start + STAGE_CHUNK_ROWS]
        copy_rows(table=table, columns=columns, rows=chunk, cursor=cursor)
        step(len(chunk))


def _write(
    *,
    households: list[dict],
    members: list[dict],
    missing_members: str,
    keep: bool,
    actor: str,
    progress: Progress,
) -> dict[str, int]:
    """Stage and upsert; rolled back unless `keep`. Returns the write counts.

    `progress` is called from inside the transaction: the job writes it through a
    connection of its own (see `_JobProgress`), or pollers would see nothing until the
    commit."""
    total = len(households) + len(members)
    staged = 0

    def step(rows: int) -> None:
        nonlocal staged
        staged += rows
        progress(staged, total, "stage")

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', %s, true)", [actor])
        cursor.execute(_STAGING_SQL)
        _stage(
            cursor,
            table="import_household",
            columns=_HOUSEHOLD_DB,
            rows=[_household_copy_row(row) for row in households],
            step=step,
        )
        _stage(
            cursor,
            table="import_member",
            columns=_MEMBER_DB,
            rows=[[row[c] for c in _MEMBER_DB] for row in members],
            step=step,
        )
        progress(0, total, "upsert")
        removed = _remove_missing_members(cursor) if missing_members == REMOVE else 0
        hh_new, hh_updated = _upsert_households(cursor)
        progress(len(households), total, "upsert")
        m_new, m_updated = _upsert_members(cursor)
        # Deferred checks (one head per household) run now, so a dry run catches them too.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        progress(total, total, "upsert")
        if not keep:
            transaction.set_rollback(True)
    return {
        "households_new": hh_new,
        "households_updated": hh_updated,
        "members_new": m_new,
        "members_updated": m_updated,
        "members_removed": removed,
    }


# --- the service -------------------------------------------------------------------------


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
    """
    if missing_members not in (KEEP, REMOVE):
        raise ValueError(f"missing_members must be {KEEP!r} or {REMOVE!r}")
    report = progress or (lambda done, total, phase: None)
    by_name = {sheet.name: sheet for sheet in sheets}
    validator = _Validator(user=user, check_access=user is not None)
    household_sheet = by_name.get(HOUSEHOLD_SHEET) or SheetRows(HOUSEHOLD_SHEET, [], [])
    member_sheet = by_name.get(MEMBER_SHEET) or SheetRows(MEMBER_SHEET, [], [])
    total = len(household_sheet.rows) + len(member_sheet.rows)
    report(0, total, "validate")

    headers_ok = validator.headers(household_sheet, HOUSEHOLD_COLUMNS) & validator.headers(
        member_sheet, MEMBER_COLUMNS
    )
    missing: list[dict] = []
    households_rows: list[tuple[int, dict]] = []
    member_rows: list[tuple[int, dict]] = []
    if headers_ok and not household_sheet.rows:
        validator.error(
            HOUSEHOLD_SHEET,
            None,
            "",
            "",
            "Lembar rumah_tangga tidak berisi data. / The households sheet holds no rows.",
        )
    elif headers_ok:
        households_rows = validator.parse(household_sheet, HOUSEHOLD_COLUMNS)
        report(len(households_rows), total, "validate")
        member_rows = validator.parse(member_sheet, MEMBER_COLUMNS)
        report(total, total, "validate")
        _household_rules(validator, households_rows)
        households = {}
        for number, row in households_rows:
            if row["no_kk"] and row["no_kk"] not in households:
                households[row["no_kk"]] = (number, row)
        _member_rules(validator, member_rows, households)
        missing = _against_database(
            validator,
            households=households,
            members=[(n, r) for n, r in member_rows if r["nik"] and r["no_kk"]],
            missing_members=missing_members,
        )

    bad_households = validator.bad_rows[HOUSEHOLD_SHEET]
    bad_members = validator.bad_rows[MEMBER_SHEET]
    good_households = [row for n, row in households_rows if n not in bad_households]
    good_kks = {row["no_kk"] for row in good_households}
    good_members = [
        row for n, row in member_rows if n not in bad_members and row["no_kk"] in good_kks
    ]
    counts = {
        "households": {"total": len(households_rows), "rejected": len(bad_households)},
        "members": {"total": len(member_rows), "rejected": len(bad_members)},
    }
    commit = not dry_run and not validator.errors
    written = None
    if good_households:
        try:
            written = _write(
                households=good_households,
                members=good_members,
                missing_members=missing_members,
                keep=commit,
                actor=actor_label(user) or "import_census",
                progress=report,
            )
        except DatabaseError as exc:
            # Nothing was written (the transaction rolled back). With rejected rows this
            # can be a consequence of them; the errors above then tell what to fix.
            commit = False
            validator.error(
                "",
                None,
                "",
                "",
                "Basis data menolak impor; tidak ada yang disimpan. / The database refused the "
                f"import; nothing was saved. ({str(exc).splitlines()[0]})",
            )
    if written:
        for unit in ("households", "members"):
            valid = counts[unit]["total"] - counts[unit]["rejected"]
            counts[unit]["new"] = written[f"{unit}_new"]
            counts[unit]["updated"] = written[f"{unit}_updated"]
            counts[unit]["unchanged"] = max(
                0, valid - written[f"{unit}_new"] - written[f"{unit}_updated"]
            )
        counts["members"]["removed"] = written["members_removed"]
    counts["members"]["missing"] = len(missing)
    for unit, sheet in (("households", HOUSEHOLD_SHEET), ("members", MEMBER_SHEET)):
        counts[unit]["warnings"] = sum(1 for w in validator.warnings if w.sheet == sheet)
    regions = sorted({row["kode_desa"] for _n, row in households_rows if row["kode_desa"]})
    if commit and refresh:
        report(0, 1, "refresh")
        indicators_refresh()
    return ImportResult(
        dry_run=dry_run,
        committed=commit,
        counts=counts,
        errors=validator.errors,
        missing_members=missing,
        regions=regions,
        warnings=validator.warnings,
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
        "error_count": len(result.errors),
        "warnings": errors_as_dicts(result.warnings[:MAX_STORED_ERRORS]),
        "warning_count": len(result.warnings),
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
    """Run small files now, queue large ones. Returns True when queued."""
    size = len(job.file_data or b"") + len(job.members_file_data or b"")
    if size <= SYNC_MAX_BYTES:
        import_job_run(job_id=job.pk)
        return False
    from .tasks import import_census_task

    import_census_task.enqueue(job_id=job.pk)
    return True
