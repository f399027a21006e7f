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
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import F, FloatField, Func, QuerySet
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict
from openpyxl import Workbook
from rest_framework.exceptions import ValidationError

from desapresisi import audit
from desapresisi.access import (
    Disclosure,
    can_export_named,
    disclose_household,
    disclose_member,
    disclosure_for,
    households_for,
    members_for,
)
from desapresisi.masking import mask_number
from desapresisi.models import AuditAction

from . import codebook as cb
from .filters import HouseholdFilter, MemberFilter, annotate_age
from .imports import (
    FORMULA_PREFIXES,
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_SHEET,
)
from .io_models import ExportJob, ExportKind, ExportStatus
from .models import SanitationLevel
from .xlsx_stream import xlsx_write

logger = logging.getLogger(__name__)

CHUNK_ROWS = 2000

_HOUSEHOLD_VALUES = [
    "id", "no_kk", "region_id", "dusun", "rw", "rt", "alamat", "lokasi", "tanggal_survei",
    "fasilitas_bab", "jenis_kloset", "pembuangan_tinja", "tangki_septik_disedot",
    "sumber_air_minum", "jarak_sumber_air_tinja", "sumber_air_mandi", "kepemilikan_rumah",
    "lantai", "dinding", "atap", "penerangan", "bahan_bakar_memasak", "desil_kesejahteraan",
    "desil_sumber", "desil_tahun", "penerima_pkh", "penerima_bpnt", "penerima_blt_dd",
    "penerima_pbi_jk", "sumber_data", "tangga_sanitasi", "air_minum_layak",
    "rumah_tidak_layak_huni", "jumlah_anggota", "jumlah_ats",
]  # fmt: skip
_MEMBER_VALUES = [
    "id", "household_id", "nik", "nama", "jenis_kelamin", "tanggal_lahir", "umur",
    "hubungan_keluarga", "partisipasi_sekolah", "jenjang_pendidikan", "ijazah_tertinggi",
    "disabilitas", "pekerjaan",
]  # fmt: skip
_HOUSEHOLD_EXTRA = [
    "tangga_sanitasi", "tangga_sanitasi_label", "air_minum_layak", "rumah_tidak_layak_huni",
    "jumlah_anggota", "jumlah_ats", "sumber_data", "id",
]  # fmt: skip
_MEMBER_EXTRA = ["umur", "kode_desa", "id", "household_id"]


def _with_labels(columns) -> list[str]:
    headers = []
    for column in columns:
        headers.append(column.name)
        if column.kind == "coded":
            headers.append(f"{column.name}_label")
    return headers


HOUSEHOLD_HEADERS = _with_labels(HOUSEHOLD_COLUMNS) + _HOUSEHOLD_EXTRA
MEMBER_HEADERS = _with_labels(MEMBER_COLUMNS) + _MEMBER_EXTRA


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


def household_rows(*, queryset: QuerySet, disclosure: Disclosure, language: str) -> Iterator[dict]:
    """Households as export rows (template columns, labels, derived values)."""
    with translation.override(language):  # the rows are read later, in another language
        ladder = {level: str(label) for level, label in SanitationLevel.choices}
    values = queryset.order_by("id").values(
        *(name for name in _HOUSEHOLD_VALUES if name != "lokasi"), **_coordinates("lokasi")
    )
    for row in values.iterator(CHUNK_ROWS):
        row = disclose_household(row, disclosure)
        row["kode_desa"] = row.pop("region_id")
        level = row["tangga_sanitasi"]
        row["tangga_sanitasi_label"] = ladder[level] if level is not None else ""
        yield _labelled(row, HOUSEHOLD_COLUMNS, language)


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
        *_MEMBER_VALUES, **extra
    )
    for row in values.iterator(CHUNK_ROWS):
        row = disclose_member(row, disclosure)
        if not disclosure.unmasked:
            row["no_kk"] = mask_number(row["no_kk"])
        yield _labelled(row, MEMBER_COLUMNS, language)


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


# --- named-record workbooks (households and members) ---------------------------------------


def export_queryset(*, kind: str, user, query) -> QuerySet:
    """The rows of a named export: the user's access scope, then the list's filters.

    `query` is the request's query parameters (a QueryDict or a MultiValueDict); invalid
    filters raise DRF's ValidationError, as in the lists."""
    if kind == ExportKind.HOUSEHOLDS:
        filterset = HouseholdFilter(query, queryset=households_for(user), user=user)
    elif kind == ExportKind.MEMBERS:
        filterset = MemberFilter(query, queryset=members_for(user), user=user)
    else:
        raise ValueError(f"unknown export kind {kind!r}")
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
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
            HOUSEHOLD_HEADERS,
            household_rows(queryset=households, disclosure=disclosure, language=language),
        ),
        (
            MEMBER_SHEET,
            MEMBER_HEADERS,
            member_rows(queryset=members, disclosure=disclosure, language=language),
        ),
    ]
    return sheets, counts


# Not "-": a cell starting with a minus is neutralised like a formula (FORMULA_STARTS).
NO_FILTER = "(tanpa filter / none)"


def export_summary(
    *,
    kind: str,
    username: str,
    query_string: str,
    disclosure: Disclosure,
    counts: dict[str, int],
) -> list[tuple[str, Any]]:
    indonesian, english = {
        ExportKind.HOUSEHOLDS: ("rumah tangga", "households"),
        ExportKind.MEMBERS: ("anggota", "members"),
    }[kind]
    return [
        ("Desa Presisi", f"ekspor {indonesian} / {english} export"),
        ("dibuat / generated", timezone.localtime().isoformat(timespec="seconds")),
        ("oleh / by", username),
        ("filter", query_string or NO_FILTER),
        ("baris rumah tangga / household rows", counts[HOUSEHOLD_SHEET]),
        ("baris anggota / member rows", counts[MEMBER_SHEET]),
        ("NIK/KK", "lengkap / full" if disclosure.unmasked else "disamarkan / masked"),
        ("data pribadi", "UU PDP 27/2022: simpan dan bagikan seperlunya / need-to-know only"),
    ]


def template_workbook():
    """The import template: both sheets with their headers, notes and the codebook."""
    notes = [
        ("Templat impor sensus Desa Presisi / Census import template", ""),
        (
            "Lembar / sheets",
            f"{HOUSEHOLD_SHEET} (satu baris per KK), {MEMBER_SHEET} (satu baris per orang)",
        ),
        (
            "NIK dan No. KK / NIK and KK",
            "16 digit, kolom berformat Teks (bukan angka) / 16 digits, Text-formatted column",
        ),
        ("Tanggal / dates", "YYYY-MM-DD"),
        ("Ya/tidak / yes/no", "1 / 0"),
        ("Koordinat / coordinates", "lintang (latitude) dan bujur (longitude), WGS84"),
        ("Kode / codes", "lihat lembar kodebook / see the kodebook sheet"),
        ("CSV", "satu berkas per lembar, kolom sama; pemisah koma atau titik koma, UTF-8"),
    ]
    for column in HOUSEHOLD_COLUMNS + MEMBER_COLUMNS:
        if column.help_id:
            notes.append((column.name, column.help_id))
    workbook = Workbook()
    info = workbook.active
    info.title = "petunjuk"
    for row in notes:
        info.append(list(row))
    for title, columns in ((HOUSEHOLD_SHEET, HOUSEHOLD_COLUMNS), (MEMBER_SHEET, MEMBER_COLUMNS)):
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


# --- export jobs ---------------------------------------------------------------------------

PROGRESS_EVERY_ROWS = 1000


class ExportRefused(Exception):
    """The owner may no longer have what the job was asked for (the rights are checked
    again when it runs); the message says why, in Indonesian and English."""


def export_job_create(
    *, user, kind: str, query, unmasked: bool, language: str, rows: int
) -> ExportJob:
    """A queued export job for `user`; `query` is the request's query parameters."""
    filters = {key: query.getlist(key) for key in query if key != "unmask"}
    return ExportJob.objects.create(
        user=user,
        kind=kind,
        format="xlsx",
        query=filters,
        unmasked=unmasked,
        language=language,
        rows=rows,
    )


def export_job_start(*, job: ExportJob) -> None:
    from .tasks import export_task

    export_task.enqueue(job_id=job.pk)


def _job_failed(job_id: int, message: str) -> None:
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportStatus.FAILED, error=message, finished=timezone.now()
    )


def export_job_run(*, job_id: int) -> None:
    """Build a job's workbook into EXPORT_ROOT with its progress, in the worker.

    The owner's role, access scope and right to unmask are those of now, not of the
    request: a right withdrawn meanwhile fails the job instead of being used."""
    from .jobs import Heartbeat, lease_fields

    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started=timezone.now(), **lease_fields()
    )
    if not claimed:
        return  # already run (a task delivered twice) or given up on by the cleaner
    with Heartbeat(ExportJob, job_id):
        _export_job_build(job_id)


def _export_job_build(job_id: int) -> None:
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    user = job.user
    partial: Path | None = None
    try:
        if not can_export_named(user):
            raise ExportRefused(
                "Pemilik tidak lagi berhak mengekspor data bernama. / "
                "The owner may no longer export named records."
            )
        try:
            disclosure = disclosure_for(user, unmask_requested=job.unmasked)
        except PermissionError:
            audit.record(
                action=AuditAction.ACCESS_DENIED,
                user=user,
                filters={"job": job.pk},
                detail=f"unmask (export job {job.pk})",
            )
            raise ExportRefused(
                "Pemilik tidak lagi berhak membuka NIK/KK; minta ekspor tanpa unmask. / "
                "The owner may no longer unmask NIK/KK; ask for a masked export."
            ) from None
        query = MultiValueDict({key: list(values) for key, values in job.query.items()})
        queryset = export_queryset(kind=job.kind, user=user, query=query)
        with translation.override(job.language):
            sheets, counts = named_sheets(
                kind=job.kind,
                user=user,
                queryset=queryset,
                disclosure=disclosure,
                language=job.language,
            )
            total = sum(counts.values())
            done = 0

            def on_row() -> None:
                nonlocal done
                done += 1
                if done % PROGRESS_EVERY_ROWS == 0:
                    ExportJob.objects.filter(pk=job.pk).update(
                        progress_rows=done,
                        progress_total=total,
                        progress_percent=min(99, 100 * done // max(total, 1)),
                    )

            ExportJob.objects.filter(pk=job.pk).update(progress_total=total)
            root = Path(settings.EXPORT_ROOT)
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = f"ekspor-{job.pk}-{secrets.token_hex(8)}.xlsx"
            # Written under another name first: a crash leaves a .part for the cleaner,
            # never a truncated file that looks finished.
            partial = root / f"{name}.part"
            workbook_write(
                summary=export_summary(
                    kind=job.kind,
                    username=user.get_username(),
                    query_string=urlencode(job.query, doseq=True),
                    disclosure=disclosure,
                    counts=counts,
                ),
                sheets=sheets,
                target=partial,
                on_row=on_row,
            )
        os.replace(partial, root / name)
        partial = None
    except (ExportRefused, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, ValidationError) else str(exc)
        _job_failed(job.pk, str(detail))
        return
    except Exception as exc:
        _job_failed(
            job.pk,
            f"Kesalahan tak terduga; tidak ada berkas. / Unexpected error; no file. "
            f"({type(exc).__name__})",
        )
        raise
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        finished=now,
        expires=now + dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS),
        file_name=name,
        file_size=(root / name).stat().st_size,
        progress_rows=total,
        progress_total=total,
        progress_percent=100,
    )
    # Every finished job also sweeps: expired files go even where no cron runs the cleaner.
    export_files_clean()


def export_file_delete(*, job: ExportJob, status: str = ExportStatus.EXPIRED) -> None:
    """Remove a job's file and record that it is gone."""
    if job.path is not None:
        job.path.unlink(missing_ok=True)
    ExportJob.objects.filter(pk=job.pk).update(status=status, file_name="", file_size=0)
    job.status, job.file_name, job.file_size = status, "", 0


def export_is_expired(*, job: ExportJob, now: dt.datetime | None = None) -> bool:
    if job.status == ExportStatus.EXPIRED:
        return True
    if job.status != ExportStatus.DONE:
        return False
    missing = job.path is None or not job.path.exists()
    return missing or (job.expires is not None and job.expires <= (now or timezone.now()))


def export_files_clean(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete export files past their expiry, give up on jobs that never finished, and
    remove files no finished job names (a worker that died while writing)."""
    now = now or timezone.now()
    retention = dt.timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, expires__lte=now):
        export_file_delete(job=job)
        expired += 1
    abandoned = ExportJob.objects.filter(
        status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING], created__lte=now - retention
    ).update(
        status=ExportStatus.FAILED,
        finished=now,
        error="Tidak selesai dalam batas waktu; minta ekspor lagi. / "
        "Not finished in time; ask for the export again.",
    )
    orphans = 0
    root = Path(settings.EXPORT_ROOT)
    if root.is_dir():
        kept = set(
            ExportJob.objects.filter(status=ExportStatus.DONE).values_list("file_name", flat=True)
        )
        cutoff = time.time() - retention.total_seconds()
        for path in root.iterdir():
            if path.is_file() and path.name not in kept and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                orphans += 1
    if expired or abandoned or orphans:
        logger.info(
            "export files cleaned: %s expired, %s abandoned, %s orphaned",
            expired,
            abandoned,
            orphans,
        )
    return {"expired": expired, "abandoned": abandoned, "orphans": orphans}
