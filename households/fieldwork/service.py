"""Submissions of the field tools into the portal.

A census submission (household group + repeat of members) becomes one row of the census
import's household sheet and one member row per repeat, and goes through the very same
importer (`census_import`): its dry run, its checks and their messages, its
all-or-nothing upsert. What this module adds around it:

- which submissions are imported: approved ones (ODK Central "approved", KoboToolbox
  "Approved"); those not reviewed yet or with issues only when asked
  (`include_unreviewed`); rejected ones never;
- idempotence by instance ID: every imported instance ID is kept (`FieldSubmission`, in
  the import's own transaction), and a submission already imported is skipped, so a
  second import of the same export changes nothing;
- an instance ID twice in one export: the same answers twice (a device that sent twice)
  are imported once, with a warning; different answers under one ID are an error;
- every row error names the submission (instance ID), the file, its row and the field.

A follow-up visit (`xlsform.visit_form_rows`) updates the household its entity names, with
the optimistic lock: the version the visit started from must still be the household's, or
the submission is reported as a conflict and nothing of it is written.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext_noop

from desapresisi.audit import actor_label
from desapresisi.i18n import Message

from .. import schema
from ..census_import.columns import (
    HOUSEHOLD_SHEET,
    MEMBER_SHEET,
    ImportResult,
    RowError,
    SheetRows,
    household_columns,
    member_columns,
)
from ..census_import.service import census_import
from ..census_import.validate import _Validator, import_scope
from ..indicators.rollup import indicators_refresh
from ..models import FieldSubmission, Household, ReviewState, SubmissionKind
from ..selectors import households_editable_by
from ..services import StaleEdit, household_update
from .submissions import Row, Submission, SubmissionFile
from .xlsform import ENTITY_QUESTION, GEOPOINT, VISIT_VERSION, visit_columns

# Worse than this (metres), a point is imported with a warning (the form warns too).
ACCURACY_WARNING_M = 25
# Entity names are UUIDs (ODK Central requires them): derived from the household's key.
ENTITY_NAMESPACE = uuid.UUID("6f1c7a52-5a0e-4d39-9a0c-3d5b2f0e8c11")

# Answers of the export that are no question of ours (meta columns, geopoint parts).
# A submission sent twice differs there (when and by whom it arrived), not in its answers.
_META = {
    "KEY", "PARENT_KEY", "instanceID", "SubmissionDate", "ReviewState", "Status",
    "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "DeviceID",
    "Edits", "FormVersion",
}  # fmt: skip

NOT_REVIEWED = gettext_noop(
    "Kiriman belum disetujui (status: %(state)s): tidak diimpor. Setujui di server, atau "
    "impor dengan pilihan termasuk yang belum ditinjau."
)
REJECTED = gettext_noop("Kiriman ditolak di server (status: ditolak): tidak diimpor.")
DUPLICATE_SAME = gettext_noop(
    "ID kiriman ganda di berkas (juga baris %(row)s) dengan isian yang sama: diimpor sekali."
)
DUPLICATE_DIFFERENT = gettext_noop(
    "ID kiriman ganda di berkas (juga baris %(row)s) dengan isian berbeda: pilih satu."
)


def entity_name(pk: int) -> str:
    """The ODK entity name of a household (a UUID, stable for the household)."""
    return str(uuid.uuid5(ENTITY_NAMESPACE, f"household:{pk}"))


def _review_label(state: str) -> str:
    return str(dict(ReviewState.choices)[state])


def _content(submission: Submission) -> tuple:
    def answers(row: Row) -> tuple:
        return tuple(
            sorted(
                (k, v)
                for k, v in row.values.items()
                if k not in _META and not k.startswith("_") and not k.isupper()
            )
        )

    return answers(submission.main), tuple(answers(member) for member in submission.members)


class _Selection:
    """Which submissions of a file are imported, and what was said about the others."""

    def __init__(self, upload: SubmissionFile, *, user, include_unreviewed: bool):
        self.errors: list[RowError] = []
        self.warnings: list[RowError] = []
        self.counts: Counter[str] = Counter()
        self.chosen: list[Submission] = []
        scope = import_scope(user)
        ids = {s.instance_id for s in upload.submissions}
        imported = FieldSubmission.objects.filter(instance_id__in=ids)
        if scope is not None:
            imported = imported.filter(region_id__in=scope)
        self.imported = set(imported.values_list("instance_id", flat=True))
        first: dict[str, Submission] = {}
        for submission in upload.submissions:
            self.counts["in_file"] += 1
            self.counts[submission.review_state] += 1
            main = submission.main
            earlier = first.get(submission.instance_id)
            if earlier is not None:
                same = _content(earlier) == _content(submission)
                message = Message(
                    DUPLICATE_SAME if same else DUPLICATE_DIFFERENT, row=earlier.main.row
                )
                target = self.warnings if same else self.errors
                target.append(
                    RowError(main.file, main.row, "instanceID", "", message, submission.instance_id)
                )
                self.counts["duplicate"] += 1
                continue
            first[submission.instance_id] = submission
            if submission.instance_id in self.imported:
                self.counts["already_imported"] += 1
                continue
            state = submission.review_state
            if state == ReviewState.REJECTED:
                self.warnings.append(self._note(submission, Message(REJECTED)))
                continue
            if state != ReviewState.APPROVED and not include_unreviewed:
                self.warnings.append(
                    self._note(submission, Message(NOT_REVIEWED, state=_review_label(state)))
                )
                continue
            self.chosen.append(submission)
        self.counts["selected"] = len(self.chosen)
        # A duplicate with different answers: whichever is right, the other would be lost.
        wrong = {e.submission for e in self.errors}
        self.chosen = [s for s in self.chosen if s.instance_id not in wrong]

    @staticmethod
    def _note(submission: Submission, message: Message) -> RowError:
        main = submission.main
        return RowError(main.file, main.row, "ReviewState", "", message, submission.instance_id)


def _point(values: dict[str, str]) -> tuple[str, str, str]:
    """(lintang, bujur, accuracy) of the geopoint, from Central's split columns or the
    "lat lon altitude accuracy" text KoboToolbox (and ODK) write."""
    if f"{GEOPOINT}:Latitude" in values:
        return (
            values.get(f"{GEOPOINT}:Latitude", ""),
            values.get(f"{GEOPOINT}:Longitude", ""),
            values.get(f"{GEOPOINT}:Accuracy", ""),
        )
    parts = values.get(GEOPOINT, "").split()
    if len(parts) >= 2:
        return parts[0], parts[1], parts[3] if len(parts) > 3 else ""
    return "", "", ""


def _accuracy_warning(submission: Submission, accuracy: str) -> RowError | None:
    try:
        metres = float(accuracy)
    except ValueError:
        return None
    if metres <= ACCURACY_WARNING_M:
        return None
    main = submission.main
    return RowError(
        main.file,
        main.row,
        GEOPOINT,
        accuracy,
        Message(
            gettext_noop("Akurasi GPS %(accuracy)s m, lebih buruk dari %(limit)s m: periksa."),
            accuracy=f"{metres:.0f}",
            limit=ACCURACY_WARNING_M,
        ),
        submission.instance_id,
    )


def _census_sheets(chosen: list[Submission]) -> tuple[list[SheetRows], dict, list[RowError]]:
    """The census import's two sheets of the chosen submissions, the map from their rows
    back to the submission and file, and the GPS accuracy warnings."""
    origin: dict[tuple[str, int], tuple[str, str]] = {}
    households, members, warnings = [], [], []
    # The columns the export has: a required question missing from it (another form's
    # export) is the importer's header error, not an error in every row.
    asked = {name for s in chosen for name in s.main.values}
    if f"{GEOPOINT}:Latitude" in asked or GEOPOINT in asked:
        asked |= {"lintang", "bujur"}
    hh_headers = [c.name for c in household_columns() if c.name in asked]
    asked_members = {name for s in chosen for m in s.members for name in m.values} | {"no_kk"}
    m_headers = [c.name for c in member_columns() if c.name in asked_members]
    for submission in chosen:
        values = submission.main.values
        lat, lon, accuracy = _point(values)
        row = {name: values.get(name, "") for name in hh_headers}
        row.update(lintang=lat, bujur=lon)
        households.append((submission.main.row, row, submission.main.mangled))
        origin[(HOUSEHOLD_SHEET, submission.main.row)] = (
            submission.main.file,
            submission.instance_id,
        )
        warning = _accuracy_warning(submission, accuracy)
        if warning:
            warnings.append(warning)
        for member in submission.members:
            member_row = {name: member.values.get(name, "") for name in m_headers}
            member_row["no_kk"] = row.get("no_kk", "")
            members.append((member.row, member_row, member.mangled))
            origin[(MEMBER_SHEET, member.row)] = (member.file, submission.instance_id)
    sheets = [
        SheetRows(HOUSEHOLD_SHEET, hh_headers, households, estimated_rows=len(households)),
        SheetRows(MEMBER_SHEET, m_headers, members, estimated_rows=len(members)),
    ]
    return sheets, origin, warnings


def _named_submission(errors: list[RowError], origin: dict) -> list[RowError]:
    """The census importer's errors as the field tool's: its file, row and instance ID."""
    for error in errors:
        found = origin.get((error.sheet, error.row))
        if found is not None:
            error.sheet, error.submission = found
    return errors


def _record(
    *, chosen: list[Submission], kind: str, source: str, user, job, households: dict[str, int]
) -> None:
    rows = []
    for submission in chosen:
        key = submission.main.values.get(ENTITY_QUESTION) or submission.main.values.get("no_kk")
        pk = households.get(key or "")
        rows.append(
            FieldSubmission(
                instance_id=submission.instance_id,
                kind=kind,
                source=source,
                review_state=submission.review_state,
                household_id=pk,
                region_id=Household.objects.filter(pk=pk)
                .values_list("region_id", flat=True)
                .first()
                if pk
                else None,
                job=job,
                imported_by=user if user is not None and user.is_authenticated else None,
            )
        )
    FieldSubmission.objects.bulk_create(rows)


Progress = Callable[[int, int, str], None]


def submissions_import(
    *,
    upload: SubmissionFile,
    user=None,
    dry_run: bool = True,
    include_unreviewed: bool = False,
    progress: Progress | None = None,
    job=None,
) -> ImportResult:
    """Import the submissions of a field tool's export (see the module docstring).
    A follow-up visit's export is told by its entity question."""
    selection = _Selection(upload, user=user, include_unreviewed=include_unreviewed)
    if ENTITY_QUESTION in upload.questions:
        result = _visits_import(
            upload=upload, selection=selection, user=user, dry_run=dry_run, job=job
        )
    else:
        result = _census_import(
            upload=upload,
            selection=selection,
            user=user,
            dry_run=dry_run,
            progress=progress,
            job=job,
        )
    result.counts["submissions"] = dict(selection.counts)
    return result


def _nothing_to_do(selection: _Selection, *, dry_run: bool) -> ImportResult:
    """Every submission skipped (already imported, not approved): a success that writes
    nothing, unless a duplicate with different answers is in the way."""
    errors = selection.errors
    return ImportResult(
        dry_run=dry_run,
        committed=not dry_run and not errors,
        counts={"households": {"total": 0}, "members": {"total": 0}},
        errors=errors,
        warnings=selection.warnings,
        error_count=len(errors),
        warning_count=len(selection.warnings),
    )


def _census_import(
    *, upload: SubmissionFile, selection: _Selection, user, dry_run: bool, progress, job
) -> ImportResult:
    if not selection.chosen:
        return _nothing_to_do(selection, dry_run=dry_run)
    sheets, origin, accuracy_warnings = _census_sheets(selection.chosen)
    blocked = bool(selection.errors)
    with transaction.atomic():
        result = census_import(
            sheets=sheets,
            user=user,
            dry_run=dry_run or blocked,
            progress=progress,
            refresh=False,
        )
        if result.committed:
            kks = [s.main.values.get("no_kk", "") for s in selection.chosen]
            households = dict(Household.objects.filter(no_kk__in=kks).values_list("no_kk", "pk"))
            _record(
                chosen=selection.chosen,
                kind=SubmissionKind.CENSUS,
                source=upload.source,
                user=user,
                job=job,
                households=households,
            )
    if result.committed:
        indicators_refresh()
    result.errors = selection.errors + _named_submission(result.errors, origin)
    result.warnings = (
        selection.warnings + accuracy_warnings + _named_submission(result.warnings, origin)
    )
    result.error_count += len(selection.errors)
    result.warning_count += len(selection.warnings) + len(accuracy_warnings)
    return result


# --- follow-up visits -------------------------------------------------------------------


CONFLICT = gettext_noop(
    "Rumah tangga ini diubah di portal sejak daftar diekspor (versi %(exported)s, kini "
    "%(current)s): kiriman tidak ditimpakan. Ekspor daftar baru dan kunjungi lagi, atau "
    "ubah lewat portal."
)
UNKNOWN_ENTITY = gettext_noop(
    "Rumah tangga daftar ini tidak dikenal atau bukan wilayah Anda: tidak diimpor."
)


def _visit_changes(
    validator: _Validator, submission: Submission
) -> tuple[dict, dict[str, str]] | None:
    """The household answers of a visit, parsed by the census importer's cell rules; None
    when a cell is wrong (the validator holds why)."""
    main = submission.main
    before = validator.error_count
    lat, lon, _accuracy = _point(main.values)
    values = {**main.values, "lintang": lat, "bujur": lon}
    changes = {}
    for column in visit_columns():
        value = validator.cell(main.file, main.row, values, main.mangled, column)
        if column.kind != "coord":
            changes[column.name] = value
    if validator.error_count > before:
        return None
    parsed_lat = validator.cell(main.file, main.row, values, main.mangled, _coord("lintang"))
    parsed_lon = validator.cell(main.file, main.row, values, main.mangled, _coord("bujur"))
    if parsed_lat is not None and parsed_lon is not None:
        changes["lokasi"] = [parsed_lon, parsed_lat]
    return changes, values


def _coord(name: str):
    return next(c for c in schema.sheet_columns(schema.HOUSEHOLD) if c.name == name)


def _visits_import(
    *, upload: SubmissionFile, selection: _Selection, user, dry_run: bool, job
) -> ImportResult:
    editable = households_editable_by(user) if user is not None else Household.objects.all()
    names = {entity_name(pk): pk for pk in editable.values_list("pk", flat=True)}
    validator = _Validator(user=user, check_access=user is not None)
    errors: list[RowError] = list(selection.errors)
    counts = Counter()

    def fail(submission: Submission, column: str, value: str, message: Message) -> None:
        errors.append(
            RowError(
                submission.main.file, submission.main.row, column, value, message,
                submission.instance_id,
            )
        )  # fmt: skip

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('desapresisi.actor', %s, true)",
                [actor_label(user) or "import_kunjungan"],
            )
        written: dict[str, int] = {}
        for submission in selection.chosen:
            counts["total"] += 1
            main = submission.main
            pk = names.get(main.values.get(ENTITY_QUESTION, ""))
            if pk is None:
                fail(submission, ENTITY_QUESTION, main.values.get(ENTITY_QUESTION, ""),
                     Message(UNKNOWN_ENTITY))  # fmt: skip
                continue
            try:
                exported = int(main.values.get(VISIT_VERSION, ""))
            except ValueError:
                fail(submission, VISIT_VERSION, main.values.get(VISIT_VERSION, ""),
                     Message(gettext_noop("Versi awal tidak ada: isi kiriman dari formulir "
                                          "kunjungan ulang.")))  # fmt: skip
                continue
            parsed = _visit_changes(validator, submission)
            if parsed is None:
                continue
            changes, _values = parsed
            try:
                with transaction.atomic():
                    edit = household_update(
                        queryset=editable, pk=pk, changes=changes, expected_version=exported
                    )
            except StaleEdit as stale:
                counts["conflicts"] += 1
                conflict = Message(CONFLICT, exported=exported, current=stale.current_version)
                fail(submission, "versi", str(exported), conflict)
                continue
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    column = name
                    for text in messages:
                        # Already in the uploader's language (the service's messages).
                        fail(submission, column, str(changes.get(name, "") or ""),
                             Message(text))  # fmt: skip
                continue
            written[main.values[ENTITY_QUESTION]] = pk
            counts["updated" if edit.changed else "unchanged"] += 1
        for error in validator.errors:
            submission = next(
                (
                    s
                    for s in selection.chosen
                    if (s.main.file, s.main.row) == (error.sheet, error.row)
                ),
                None,
            )
            error.submission = submission.instance_id if submission else ""
            errors.append(error)
        committed = not dry_run and not errors
        if committed:
            _record(
                chosen=selection.chosen,
                kind=SubmissionKind.VISIT,
                source=upload.source,
                user=user,
                job=job,
                households=written,
            )
        else:
            transaction.set_rollback(True)
    counts["rejected"] = len({e.submission for e in errors if e.submission})
    return ImportResult(
        dry_run=dry_run,
        committed=committed,
        counts={"households": dict(counts)},
        errors=errors,
        warnings=selection.warnings,
        error_count=len(errors),
        warning_count=len(selection.warnings),
    )
