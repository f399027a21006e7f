"""The census file's columns and the shapes of an import's outcome (rows, errors)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings

from desapresisi.i18n import Message, MessageError, shown

from .. import schema
from ..schema import Column

HOUSEHOLD_SHEET = "rumah_tangga"
MEMBER_SHEET = "anggota"
KEEP, REMOVE = "keep", "remove"
# Uploads that take up to this many bytes to parse (an XLSX's uncompressed size, see
# `work_bytes`) are processed in the request; larger ones by the background worker.
SYNC_MAX_BYTES = settings.IMPORT_SYNC_MAX_BYTES
MAX_STORED_ERRORS = 1000
FIRST_DATA_ROW = 2  # row 1 holds the headers


def household_columns() -> list[Column]:
    """The household sheet's columns (the catalogue's importable household fields)."""
    return schema.sheet_columns(schema.HOUSEHOLD)


def member_columns() -> list[Column]:
    """The member sheet's columns; `no_kk` names the member's household."""
    return schema.sheet_columns(schema.MEMBER)


def _required(column: Column) -> bool:
    return column.required


def household_staging() -> list[str]:
    """Columns of the household staging table and its upsert, in order."""
    return [name for name, _type in schema.staging_columns(schema.HOUSEHOLD)]


def member_staging() -> list[str]:
    """Columns of the member staging table; `no_kk` is the household's."""
    return [name for name, _type in schema.staging_columns(schema.MEMBER)]


class ImportFileError(MessageError, ValueError):
    """The file cannot be read at all (wrong type, missing sheet or header)."""


@dataclass
class RowError:
    """An error or warning of one cell or row. The text is kept as its msgid and named
    parameters (desapresisi/i18n.py), so that a stored job shows it in the language of
    whoever reads it; `message` is that text in the active language."""

    sheet: str
    row: int | None
    column: str
    value: str
    text: Message
    # The field tool's submission (its instance ID) the row came from, if it did
    # (households.fieldwork): named beside the file and row.
    submission: str = ""

    @property
    def message(self) -> str:
        return str(self.text)

    def as_dict(self) -> dict:
        """As stored on the job: the msgid and its parameters (`shown_dict` renders it)."""
        stored = {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "message": self.text.msgid,
            "params": self.text.params,
        }
        if self.submission:
            stored["submission"] = self.submission
        return stored


def shown_dict(stored: dict) -> dict:
    """A stored row error as the API shows it: its message in the active language."""
    shown_error = {key: value for key, value in stored.items() if key != "params"}
    shown_error["message"] = shown(stored.get("message", ""), stored.get("params"))
    return shown_error


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
    # A dry run kept its staging rows (`census_import(staged_out=...)`); a commit loaded
    # a dry run's (`staged_in`) instead of reading the file.
    staged: bool = False
    from_staged: bool = False

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
