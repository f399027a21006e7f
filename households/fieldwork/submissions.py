"""The export formats of the field tools, read into submissions.

ODK Central ("Download all submissions", CSV zip): the main CSV `<formId>.csv` with
SubmissionDate, the questions under their group path joined by `-`
(`rumah_tangga-fasilitas_bab`; a geopoint as `-Latitude`, `-Longitude`, `-Altitude`,
`-Accuracy`), then `meta-instanceID`, `KEY`, SubmitterID, SubmitterName,
AttachmentsPresent, AttachmentsExpected, Status, ReviewState, DeviceID, Edits,
FormVersion; each repeat in a CSV of its own, `<formId>-<repeat>.csv`, with its questions,
`PARENT_KEY` (the submission's KEY) and `KEY` (`uuid:.../anggota[1]`).

KoboToolbox (XLS export, "XML values and headers"): the first sheet with the questions
under their group path joined by `/` (`rumah_tangga/fasilitas_bab`; a geopoint as
"lat lon altitude precision" and `_..._latitude` columns), `meta/instanceID`, `_id`,
`_uuid`, `_submission_time`, `_validation_status`, `_index`; a sheet per repeat with
`_index`, `_parent_table_name`, `_parent_index` (the submission's `_index`) and
`_submission__uuid`. Its CSV export is the main sheet as one file (`;` or `,`), the
repeat's as a second file.

Nothing here knows the census: a submission is its instance ID, review state, where it
was in the file, and its answers by question name (the group path taken off).
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_noop
from openpyxl import load_workbook

from ..census_import.columns import MEMBER_SHEET, ImportFileError
from ..census_import.read import IDENTITY_COLUMNS, _cell_text, _encoding, work_bytes
from ..models import ReviewState

ODK_CENTRAL, KOBO = "odk_central", "kobo"
GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")

_CENTRAL_REVIEW = {
    "": ReviewState.RECEIVED,
    "received": ReviewState.RECEIVED,
    "edited": ReviewState.RECEIVED,
    "approved": ReviewState.APPROVED,
    "hasissues": ReviewState.HAS_ISSUES,
    "rejected": ReviewState.REJECTED,
}
# KoboToolbox writes the status's uid or its label, depending on the export.
_KOBO_REVIEW = {
    "": ReviewState.RECEIVED,
    "validation_status_approved": ReviewState.APPROVED,
    "approved": ReviewState.APPROVED,
    "validation_status_on_hold": ReviewState.HAS_ISSUES,
    "on hold": ReviewState.HAS_ISSUES,
    "validation_status_not_approved": ReviewState.REJECTED,
    "not approved": ReviewState.REJECTED,
}


@dataclass
class Row:
    file: str
    row: int
    values: dict[str, str]
    mangled: frozenset[str] = frozenset()


@dataclass
class Submission:
    instance_id: str
    review_state: str
    main: Row
    members: list[Row] = field(default_factory=list)


@dataclass
class SubmissionFile:
    source: str  # ODK_CENTRAL or KOBO
    submissions: list[Submission]
    files: list[str]

    @property
    def questions(self) -> set[str]:
        return {name for s in self.submissions for name in s.main.values}


def _question(header: str, separator: str) -> str:
    """A question's name from a header: its group path taken off. A Central geopoint part
    keeps its part (`lokasi:Latitude`)."""
    parts = header.strip().split(separator)
    if separator == "-" and len(parts) > 1 and parts[-1] in GEO_PARTS:
        return f"{parts[-2]}:{parts[-1]}"
    return parts[-1]


def _csv_rows(data: bytes, name: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    encoding = _encoding(data)
    first = data.split(b"\n", 1)[0].decode(encoding, errors="replace")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        raise ImportFileError(gettext_noop("Berkas %(sheet)s kosong."), sheet=name) from None
    except csv.Error as exc:
        raise _not_csv(name, exc) from None
    rows = []
    try:
        for number, values in enumerate(reader, start=2):
            if number - 1 > settings.IMPORT_MAX_ROWS:
                raise ImportFileError(
                    gettext_noop(
                        "Jumlah baris lembar %(sheet)s melebihi batas %(limit)s; pecah berkas "
                        "per desa."
                    ),
                    sheet=name,
                    limit=f"{settings.IMPORT_MAX_ROWS:,}",
                )
            if any(value.strip() for value in values):
                rows.append((number, values))
    except csv.Error as exc:
        raise _not_csv(name, exc) from None
    return headers, rows


def _not_csv(name: str, exc: Exception) -> ImportFileError:
    return ImportFileError(
        gettext_noop("Berkas %(sheet)s bukan CSV yang benar (%(reason)s)."),
        sheet=name,
        reason=str(exc),
    )


def _check_size(data: bytes) -> None:
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    if work_bytes(data) > limit:
        raise ImportFileError(
            gettext_noop(
                "Ukuran XLSX setelah dibuka (IMPORT_MAX_UNCOMPRESSED_BYTES) melebihi batas "
                "%(limit)s byte; pecah berkas per desa."
            ),
            limit=f"{limit:,}",
        )


def _too_long(file: str, row: int, column: str) -> ImportFileError:
    return ImportFileError(
        gettext_noop(
            "Sel %(sheet)s baris %(row)s kolom %(column)s lebih dari %(limit)s karakter "
            "(IMPORT_MAX_CELL_CHARS)."
        ),
        sheet=file,
        row=row,
        column=column,
        limit=f"{settings.IMPORT_MAX_CELL_CHARS:,}",
    )


def _named(file: str, number: int, headers: list[str], values: list, separator: str) -> Row:
    """A row by question name; meta columns (`_uuid`, `KEY`...) keep their header."""
    row: dict[str, str] = {}
    mangled = []
    for header, value in zip(headers, values, strict=False):
        header = str(header or "").strip()
        if not header:
            continue
        key = header if header.startswith("_") or header.isupper() else _question(header, separator)
        if key in IDENTITY_COLUMNS and isinstance(value, int | float):
            mangled.append(key)
        text = _cell_text(value) if not isinstance(value, str) else value.strip()
        if len(text) > settings.IMPORT_MAX_CELL_CHARS:
            raise _too_long(file, number, header)
        row.setdefault(key, text)
    return Row(file, number, row, frozenset(mangled))


def _no_instance(file: str, number: int) -> ImportFileError:
    return ImportFileError(
        gettext_noop("Baris %(row)s berkas %(sheet)s tidak punya ID kiriman (instanceID)."),
        row=number,
        sheet=file,
    )


# --- ODK Central ------------------------------------------------------------------------


def read_central_zip(data: bytes) -> SubmissionFile:
    _check_size(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        csvs = {
            info.filename: archive.read(info)
            for info in archive.infolist()
            if info.filename.lower().endswith(".csv") and "/" not in info.filename.strip("/")
        }
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
        raise ImportFileError(
            gettext_noop("Berkas ZIP tidak dapat dibaca (%(reason)s)."), reason=str(exc)
        ) from None
    main_name = repeat_name = None
    parsed = {}
    for name, content in sorted(csvs.items()):
        headers, rows = _csv_rows(content, name)
        parsed[name] = (headers, rows)
        if "PARENT_KEY" in headers:
            if name.removesuffix(".csv").endswith(f"-{MEMBER_SHEET}"):
                repeat_name = name
        elif "KEY" in headers and main_name is None:
            main_name = name
    if main_name is None:
        raise ImportFileError(
            gettext_noop(
                "ZIP ini bukan ekspor ODK Central: tidak ada CSV utama dengan kolom KEY "
                "(isi: %(files)s)."
            ),
            files=", ".join(sorted(csvs)) or "-",
        )
    headers, rows = parsed[main_name]
    # By KEY; a KEY twice (the same submission twice in a merged export) keeps its copies
    # apart: the n-th repeat row of a given KEY belongs to the n-th copy.
    submissions: dict[str, list[Submission]] = {}
    ordered = []
    for number, values in rows:
        row = _named(main_name, number, headers, values, "-")
        instance = row.values.get("instanceID") or row.values.get("KEY", "")
        if not instance:
            raise _no_instance(main_name, number)
        review = _CENTRAL_REVIEW.get(row.values.get("ReviewState", "").lower(), "")
        submission = Submission(instance, review or ReviewState.RECEIVED, row)
        ordered.append(submission)
        submissions.setdefault(row.values.get("KEY") or instance, []).append(submission)
    files = [main_name]
    if repeat_name:
        files.append(repeat_name)
        headers, rows = parsed[repeat_name]
        seen: dict[str, int] = {}
        for number, values in rows:
            row = _named(repeat_name, number, headers, values, "-")
            copies = submissions.get(row.values.get("PARENT_KEY", ""), [])
            copy = seen.get(row.values.get("KEY", ""), 0)
            seen[row.values.get("KEY", "")] = copy + 1
            if copies:
                copies[min(copy, len(copies) - 1)].members.append(row)
            else:
                raise ImportFileError(
                    gettext_noop(
                        "Baris %(row)s berkas %(sheet)s: PARENT_KEY tidak ada di berkas utama."
                    ),
                    row=number,
                    sheet=repeat_name,
                )
    return SubmissionFile(ODK_CENTRAL, ordered, files)


# --- KoboToolbox ------------------------------------------------------------------------


def _kobo_submissions(
    main_name: str,
    main_rows: list[Row],
    member_name: str | None,
    member_rows: list[Row],
) -> SubmissionFile:
    by_index: dict[str, Submission] = {}
    by_uuid: dict[str, Submission] = {}
    ordered = []
    for row in main_rows:
        uuid = row.values.get("_uuid", "")
        instance = row.values.get("instanceID") or (f"uuid:{uuid}" if uuid else "")
        if not instance:
            raise _no_instance(main_name, row.row)
        review = _KOBO_REVIEW.get(row.values.get("_validation_status", "").lower())
        submission = Submission(instance, review or ReviewState.RECEIVED, row)
        ordered.append(submission)
        if row.values.get("_index"):
            by_index.setdefault(row.values["_index"], submission)
        if uuid:
            by_uuid.setdefault(uuid, submission)
    for row in member_rows:
        parent = by_index.get(row.values.get("_parent_index", "")) or by_uuid.get(
            row.values.get("_submission__uuid", "")
        )
        if parent is None:
            raise ImportFileError(
                gettext_noop(
                    "Baris %(row)s berkas %(sheet)s: _parent_index tidak ada di lembar utama."
                ),
                row=row.row,
                sheet=member_name or MEMBER_SHEET,
            )
        parent.members.append(row)
    files = [main_name, *([member_name] if member_name else [])]
    return SubmissionFile(KOBO, ordered, files)


def read_kobo_xlsx(data: bytes) -> SubmissionFile:
    _check_size(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ImportFileError(
            gettext_noop("Berkas XLSX tidak dapat dibaca (%(reason)s)."), reason=str(exc)
        ) from None
    names = book.sheetnames
    main_name = names[0]
    member_name = MEMBER_SHEET if MEMBER_SHEET in names[1:] else None

    def rows_of(sheet_name: str) -> list[Row]:
        sheet = book[sheet_name]
        if (sheet.max_row or 0) - 1 > settings.IMPORT_MAX_ROWS:
            raise ImportFileError(
                gettext_noop(
                    "Jumlah baris lembar %(sheet)s melebihi batas %(limit)s; pecah berkas per desa."
                ),
                sheet=sheet_name,
                limit=f"{settings.IMPORT_MAX_ROWS:,}",
            )
        iterator = sheet.iter_rows(values_only=True)
        headers = [str(value or "") for value in next(iterator, ())]
        return [
            _named(sheet_name, number, headers, list(values), "/")
            for number, values in enumerate(iterator, start=2)
            if any(value not in (None, "") for value in values)
        ]

    try:
        member_rows = rows_of(member_name) if member_name else []
        main_rows = rows_of(main_name)
    except ImportFileError:
        raise
    except Exception as exc:  # a broken sheet part: openpyxl raises many types
        raise ImportFileError(
            gettext_noop("Berkas XLSX tidak dapat dibaca (%(reason)s)."), reason=str(exc)
        ) from None
    return _kobo_submissions(main_name, main_rows, member_name, member_rows)


def read_kobo_csv(
    data: bytes, members_data: bytes | None, *, name: str, members_name: str
) -> SubmissionFile:
    headers, rows = _csv_rows(data, name)
    main_rows = [_named(name, number, headers, values, "/") for number, values in rows]
    member_rows: list[Row] = []
    if members_data is not None:
        headers, rows = _csv_rows(members_data, members_name)
        member_rows = [
            _named(members_name, number, headers, values, "/") for number, values in rows
        ]
    return _kobo_submissions(name, main_rows, members_name if members_data else None, member_rows)


def submissions_read(
    *, name: str, data: bytes, members_data: bytes | None = None, members_name: str = ""
) -> SubmissionFile:
    """An export of ODK Central (ZIP of CSV) or KoboToolbox (XLSX, or CSV with the
    members' CSV beside it), told apart by their content."""
    lower = name.lower()
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                is_xlsx = "[Content_Types].xml" in archive.namelist()
        except (zipfile.BadZipFile, ValueError):
            is_xlsx = lower.endswith(".xlsx")
        return read_kobo_xlsx(data) if is_xlsx else read_central_zip(data)
    if lower.endswith((".csv", ".txt")):
        return read_kobo_csv(
            data, members_data, name=name, members_name=members_name or f"{MEMBER_SHEET}.csv"
        )
    raise ImportFileError(
        gettext_noop(
            "Jenis berkas tidak dikenal: gunakan ZIP ekspor ODK Central, atau XLSX/CSV ekspor "
            "KoboToolbox."
        )
    )
