"""The census file's columns and the shapes of an import's outcome (rows, errors)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

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


# Rows validated and staged per chunk: memory stays flat whatever the file's size.
STAGE_CHUNK_ROWS = 5000

# Text starting with one of these is a formula to a spreadsheet: exports put a quote
# before it, and the importer warns on it (and takes the exports' quote off again).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
