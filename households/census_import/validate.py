"""Validating rows: per cell, per row, across rows (in SQL on the staging tables) and
against what is stored, within the caller's import scope.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_noop

from desapresisi.access import areas_of, can_import, role_of
from desapresisi.i18n import Message
from desapresisi.masking import mask_number
from desapresisi.models import Role
from villages.models import Level, Region
from villages.selectors import kecamatan_of_identity_prefix, province_of_identity_prefix

from .. import codebook as cb
from .. import rules
from ..models import Household, Member
from ..rules import nik_birth_mismatch
from ..services import PointToCheck, locations_check, village_write_problem
from .columns import (
    FORMULA_PREFIXES,
    HOUSEHOLD_SHEET,
    KEEP,
    MAX_STORED_ERRORS,
    MEMBER_SHEET,
    STAGE_CHUNK_ROWS,
    Column,
    RowError,
    SheetRows,
    _required,
)

# --- validating --------------------------------------------------------------------------

# The shared rules (households.rules): the same verdict and message as a form or the API.
mask_digits = rules.mask_digits
_identity_problem = rules.identity_problem

_TRUE = {"1", "ya", "y", "true", "t", "benar"}
_FALSE = {"0", "tidak", "n", "false", "f", "salah", "tdk"}


def _mangled_message(label: str, raw: str) -> Message:
    return Message(
        gettext_noop(
            "Sel %(label)s berisi angka, bukan teks (%(text)s): Excel menyimpan angka 16 digit "
            "sebagai 6.40901E+15 dan membulatkan digit terakhirnya. Format kolom sebagai Teks "
            "dan ketik ulang."
        ),
        label=label,
        text=mask_digits(raw),
    )


# A spreadsheet runs a cell beginning with one of these as a formula (OWASP "CSV
# injection"). A lone character ("-" for "none") is no formula and is not flagged; tab and
# CR are stripped from the edges of every cell on reading, so they never reach the tables.


def _coded_hint(column: Column) -> Message:
    """A label typed where its code belongs: the message lists every code with its label
    (in the language the import runs in, the uploader's)."""
    entries = [
        entry for entry in cb.codebook()[column.variable] if entry.code not in column.exclude
    ]
    listed = ", ".join(f"{entry.code} = {entry.label()}" for entry in entries)
    return Message(
        gettext_noop("Isi dengan kode angka, bukan teks. Kode yang berlaku: %(codes)s."),
        codes=listed,
    )


@functools.cache
def _allowed_codes(variable: str, exclude: tuple[int, ...]) -> frozenset[int]:
    """The codebook's codes of `variable` (a file in the repository: fixed per process)."""
    return frozenset(cb.codes(variable, exclude=exclude))


def _parse_date(text: str) -> dt.date | None:
    # The usual YYYY-MM-DD without strptime (a census file has one or two dates a row);
    # anything else, and an impossible date, goes the slow way (and fails there too).
    if len(text) == 10 and text[4] == text[7] == "-":
        year, month, day = text[:4], text[5:7], text[8:]
        if year.isdigit() and month.isdigit() and day.isdigit():
            try:
                return dt.date(int(year), int(month), int(day))
            except ValueError:
                pass
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

    def error(self, sheet: str, row: int | None, column: str, value: str, message: Message) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_KEPT_MESSAGES:
            self.errors.append(RowError(sheet, row, column, value, message))
        if row is not None:
            self.bad_rows[sheet].add(row)

    def warn(self, sheet: str, row: int | None, column: str, value: str, message: Message) -> None:
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
                Message(
                    gettext_noop("Kolom wajib tidak ada: %(columns)s (lihat templat)."),
                    columns=", ".join(missing),
                ),
            )
            self.bad_rows[sheet.name].discard(1)  # the header row is no data row
        return not missing

    def cell(self, sheet: str, number: int, row: dict, mangled: frozenset, column: Column) -> Any:
        text = row.get(column.name, "")
        name = column.name

        def fail(message: Message) -> None:
            shown = mask_digits(text) if column.kind in ("kk", "nik") else text
            self.error(sheet, number, name, shown, message)

        if text == "":
            if _required(column):
                fail(Message(gettext_noop("Wajib diisi.")))
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
                fail(
                    Message(gettext_noop("Kode desa/kelurahan tidak dikenal: %(code)s."), code=text)
                )
                return None
            problem = _access_problem(self, text)
            if problem is not None:
                fail(problem)
                return None
            return self.villages[text]
        if column.kind == "text":
            if len(text) >= 2 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
                # The quote our own exports put before formula-like text (exports.neutralised):
                # an export imports back as it was exported.
                text = text[1:]
            if len(text) > column.max_length:
                fail(
                    Message(
                        gettext_noop("Terlalu panjang (maks. %(limit)s karakter)."),
                        limit=column.max_length,
                    )
                )
                return None
            if len(text) > 1 and text[0] in FORMULA_PREFIXES:
                self.warn(
                    sheet,
                    number,
                    name,
                    text,
                    Message(
                        gettext_noop(
                            "Kolom %(column)s diawali %(char)s: aplikasi lembar kerja dapat "
                            "menjalankannya sebagai rumus. Periksa isinya."
                        ),
                        column=name,
                        char=repr(text[0]),
                    ),
                )
            return text
        if column.kind == "date":
            value = _parse_date(text)
            if value is None:
                fail(Message(gettext_noop("Tanggal tidak valid (YYYY-MM-DD).")))
            return value
        if column.kind in ("coded", "int"):
            try:
                value = int(text)
            except ValueError:
                if column.kind == "coded":
                    fail(_coded_hint(column))
                else:
                    fail(Message(gettext_noop("Harus berupa bilangan bulat.")))
                return None
            if column.kind == "int" and not -32768 <= value <= 32767:
                fail(Message(gettext_noop("Angka di luar rentang yang mungkin.")))
                return None
            if column.kind == "coded" and value not in _allowed_codes(
                column.variable, column.exclude
            ):
                allowed = ", ".join(map(str, cb.codes(column.variable, exclude=column.exclude)))
                fail(
                    Message(
                        gettext_noop(
                            "Kode tidak ada di kodebook %(variable)s (boleh: %(allowed)s)."
                        ),
                        variable=column.variable,
                        allowed=allowed,
                    )
                )
                return None
            return value
        if column.kind in ("bool", "bool_null"):
            lowered = text.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            fail(Message(gettext_noop("Isi 1 (ya) atau 0 (tidak).")))
            return None
        if column.kind == "coord":
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                fail(Message(gettext_noop("Koordinat harus angka desimal.")))
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
    locked: dict[str, Message | None] = {}
    for number, row in rows:
        kk = row["no_kk"]
        if row["kode_desa"]:
            state.regions.add(row["kode_desa"])
            code = row["kode_desa"]
            if code not in locked:
                locked[code] = village_write_problem(region_code=code)
            if locked[code] is not None:
                v.error(sheet, number, "kode_desa", code, locked[code])
        if kk:
            if kk in state.households:
                first = state.households[kk][0]
                v.error(
                    sheet,
                    number,
                    "no_kk",
                    mask_number(kk),
                    Message(
                        gettext_noop("No. KK ganda di berkas (juga di baris %(row)s)."), row=first
                    ),
                )
            else:
                state.households[kk] = (number, row["kode_desa"], row["tanggal_survei"])
            _check_issuing_kecamatan(v, sheet, number, "no_kk", kk, "No. KK", home=row["kode_desa"])
        for answer, problem in rules.skipped_answer_problems(Household, row).items():
            v.error(sheet, number, answer, str(row[answer]), problem)
        problem = rules.decile_source_problem(row["desil_kesejahteraan"], row["desil_sumber"])
        if problem:
            v.error(sheet, number, "desil_sumber", "", problem)
        survey = row["tanggal_survei"]
        problem = rules.survey_date_problem(survey) if survey else None
        if problem:
            v.error(sheet, number, "tanggal_survei", survey.isoformat(), problem)
        lat, lon = row["lintang"], row["bujur"]
        if (lat is None) != (lon is None):
            v.error(
                sheet,
                number,
                "lintang" if lat is None else "bujur",
                "",
                Message(gettext_noop("Lintang dan bujur diisi berdua atau dikosongkan berdua.")),
            )
    _check_locations(v, rows)


def _check_locations(v: _Validator, rows: list[tuple[int, dict]]) -> None:
    """Points inside their village, by the one location rule (services.locations_check)."""
    points = [
        PointToCheck(key=number, village=row["kode_desa"], lon=row["bujur"], lat=row["lintang"])
        for number, row in rows
        if row["lintang"] is not None and row["bujur"] is not None and row["kode_desa"]
    ]
    for number, message in sorted(locations_check(points=points).items()):
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
                Message(gettext_noop("No. KK ini tidak ada di lembar rumah_tangga.")),
            )
        _unused, village, survey = household or (None, None, None)
        if nik:
            _check_issuing_kecamatan(v, sheet, number, "nik", nik, "NIK", home=village)
            _check_birth(v, number, row, survey)
        for answer, problem in rules.skipped_answer_problems(Member, row).items():
            v.error(sheet, number, answer, str(row[answer]), problem)


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
            Message(
                gettext_noop(
                    "%(label)s berawalan %(prefix)s: %(province)s bukan kode provinsi "
                    "Kemendagri; periksa pengetikannya."
                ),
                label=label,
                prefix=prefix,
                province=prefix[:2],
            ),
        )
        return
    if issued_in is None:
        v.warn(
            sheet,
            number,
            column,
            mask_number(identity),
            Message(
                gettext_noop(
                    "6 digit awal %(label)s (%(prefix)s) tidak ada dalam daftar kecamatan "
                    "Kemendagri terkini: salah ketik, atau kode lama yang sudah diganti (mis. "
                    "Kalimantan Utara sebelum 2012); periksa."
                ),
                label=label,
                prefix=prefix,
            ),
        )
        return
    if home and prefix != home[:8].replace(".", ""):
        v.warn(
            sheet,
            number,
            column,
            mask_number(identity),
            Message(
                gettext_noop(
                    "%(label)s diterbitkan di kecamatan lain (%(prefix)s: %(issued_in)s), bukan "
                    "kecamatan rumah tangga ini (%(home)s): wajar bagi pendatang, periksa bila "
                    "bukan."
                ),
                label=label,
                prefix=prefix,
                issued_in=issued_in,
                home=home[:8],
            ),
        )


def _check_birth(v: _Validator, number: int, row: dict, survey: dt.date | None) -> None:
    birth, nik, sex = row["tanggal_lahir"], row["nik"], row["jenis_kelamin"]
    if birth is None:
        return
    problem = rules.birth_date_problem(birth, latest=survey)
    if problem is not None:
        v.error(MEMBER_SHEET, number, "tanggal_lahir", birth.isoformat(), problem)
        return
    mismatch = nik_birth_mismatch(nik, birth, sex)
    if mismatch is not None:
        answer, message = mismatch
        value = birth.isoformat() if answer == "tanggal_lahir" else str(sex)
        v.error(MEMBER_SHEET, number, answer, value, message)


def _access_problem(v: _Validator, code: str) -> Message | None:
    """Why the caller may not import into village `code`, or None."""
    if v.check_access and not can_import(v.user, code):
        return Message(gettext_noop("Anda tidak berhak mengimpor data desa %(code)s."), code=code)
    return None


def import_scope(user) -> list[str] | None:
    """Villages whose stored households this caller may change by import: None for every
    village (the command line, administrators), else the villages `can_import` allows."""
    if user is None or role_of(user) == Role.ADMIN:
        return None
    return [code for code in (areas_of(user) or []) if can_import(user, code)]


NEUTRAL_ELSEWHERE = gettext_noop(
    "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."
)


def _elsewhere(v: _Validator, sheet: str, number: int, column: str, identity: str) -> None:
    """A stored number outside the caller's rights: one message that names no place and no
    other record, so that the answer cannot tell where (or whose) it is."""
    v.error(sheet, number, column, mask_number(identity), Message(NEUTRAL_ELSEWHERE))
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
            Message(gettext_noop("NIK ganda di berkas (juga di baris %(row)s)."), row=first),
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
                Message(
                    gettext_noop(
                        "Rumah tangga harus punya tepat satu kepala keluarga di lembar anggota "
                        "(ada %(count)s)."
                    ),
                    count=count,
                ),
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
                Message(
                    gettext_noop(
                        "NIK ini sudah terdaftar di KK lain (%(kk)s); pindahkan dulu lewat "
                        "pengubahan data."
                    ),
                    kk=mask_number(home),
                ),
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
                    Message(
                        gettext_noop(
                            "Kepala keluarga tersimpan (NIK %(nik)s) tidak ada di berkas, "
                            "sedangkan berkas memuat kepala baru: pilih missing_members=remove "
                            "atau cantumkan dia."
                        ),
                        nik=mask_number(nik),
                    ),
                )
    return missing, count
