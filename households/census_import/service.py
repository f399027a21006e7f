"""Census import: parse, validate, stage with COPY, upsert in one transaction.

One importer serves the web upload, the API and `manage.py import_census`. A file is an
XLSX workbook with the sheets `rumah_tangga` and `anggota`, or two CSV files (one per
sheet). Every cell is read as text: a number where an identity number belongs means Excel
has already mangled it, and the row is rejected with a message saying so.

Writes are all-or-nothing: validated rows are copied into temporary staging tables and
upserted with set-based SQL (households on `no_kk`, then members on `nik`), only rows that
really change are updated, so re-importing a file changes nothing. A dry run reads, checks
and stages the file the same way, then counts what the upserts would write by the same
comparisons instead of writing (no row of the tables is locked while an operator reviews
the preview), and keeps its staging rows for the commit (write.StagedRows), which checks
them against the database again and writes them.

Errors block the commit; warnings do not. A warning marks a value that is legitimate but
worth a look, such as a NIK issued in another kecamatan (people move, and a NIK is kept for
life), and is reported with its row, column and value like an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import DatabaseError, connection, transaction
from django.utils.translation import gettext_noop

from desapresisi import audit
from desapresisi.audit import actor_label
from desapresisi.i18n import Message
from desapresisi.models import AuditAction

from ..indicators.rollup import indicators_refresh
from ..rounds import import_round_problem
from .columns import (
    HOUSEHOLD_SHEET,
    KEEP,
    MAX_STORED_ERRORS,
    MEMBER_SHEET,
    REMOVE,
    ImportResult,
    RowError,
    SheetRows,
    household_columns,
    member_columns,
)
from .validate import _FileState, _Validator, mask_digits
from .write import Progress, StagedRows, _Outcome, _validate_and_write

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
    survey_round: str = "",
    staged_in: StagedRows | None = None,
    staged_out: StagedRows | None = None,
) -> ImportResult:
    """Validate the sheets and, unless `dry_run` or any row is in error, write them.

    `user` None is the command line (system rights); otherwise `can_import` is checked for
    every village named in the file and every stored household the file would change.
    `refresh=False` leaves the touched villages marked stale for a later
    `indicators_refresh()` (the benchmark times the refresh on its own). `survey_round`:
    the round the file declares (empty: the open one); a closed or unknown round, or no
    open round at all, is an error naming `survey_round` and nothing is written.

    Rows are read as they are validated and staged, inside the one transaction of the
    write, so memory holds one chunk of rows and a small tuple per household, whatever
    the size of the file. Raises ImportFileError when the file breaks a limit of
    `census_read` (rows, cell length) while it is read: nothing is then written.

    `staged_out` (a dry run): where the staging rows are kept when every check passed
    (`result.staged`). `staged_in` (the commit of that dry run): those rows, loaded
    instead of `sheets` (pass none), which skips reading and checking the file again;
    every check against the database, the caller's rights to each village and the
    village locks run again, as they are now. Warnings are the file's and were reported
    by the dry run; the commit reports none anew.
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
    headers_ok = staged_in is not None or (
        validator.headers(household_sheet, household_columns())
        & validator.headers(member_sheet, member_columns())
    )
    round_problem = import_round_problem(code=survey_round)
    if round_problem is not None:
        validator.error("", None, "survey_round", survey_round, round_problem)
    state = _FileState()
    outcome = _Outcome()
    if headers_ok and round_problem is None:
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
                    staged_in=staged_in,
                    staged_out=staged_out,
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
                Message(
                    gettext_noop("Basis data menolak impor; tidak ada yang disimpan. (%(reason)s)"),
                    reason=mask_digits(str(exc).splitlines()[0]),
                ),
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
    if outcome.units_created:
        # The village had no dusun/RW/RT yet: the file's names became its units.
        counts["units"] = {"new": outcome.units_created}
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
        # The figures now; the quality flags of the villages follow in the worker.
        indicators_refresh(followers_later=True)
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
        staged=outcome.staged,
        from_staged=staged_in is not None,
    )


def errors_as_dicts(errors: Iterable[RowError]) -> list[dict]:
    return [error.as_dict() for error in errors]


def error_summary(errors: list[RowError]) -> dict[str, int]:
    return dict(Counter(f"{e.sheet}:{e.column}" for e in errors))
