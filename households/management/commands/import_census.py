from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from desapresisi import audit
from desapresisi.models import AuditAction
from households.census_import.columns import KEEP, REMOVE

from ...census_import.columns import ImportFileError
from ...census_import.read import census_read
from ...census_import.service import census_import


class Command(BaseCommand):
    help = (
        "Import a census file: an XLSX workbook (sheets rumah_tangga and anggota) or a "
        "households CSV with --members CSV. Validates every row; any error and nothing is "
        "written; warnings (e.g. a NIK issued in another kecamatan) are listed but do not block "
        "it. Runs with administrator rights (no village restriction)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--members", type=Path, help="members CSV (with a CSV file)")
        parser.add_argument("--dry-run", action="store_true", help="validate and count only")
        parser.add_argument("--missing-members", choices=[KEEP, REMOVE], default=KEEP)
        parser.add_argument(
            "--survey-round",
            default="",
            help="code of the survey round the file belongs to (default: the open round)",
        )

    def handle(self, *args, file: Path, members: Path | None, dry_run: bool, **options):
        stack = ExitStack()
        try:
            # Read from the files as the rows import, never whole.
            handle = stack.enter_context(file.open("rb"))
            members_handle = stack.enter_context(members.open("rb")) if members else None
            sheets = census_read(name=file.name, data=handle, members_data=members_handle)
            # Rows are read while they are imported: a limit can still be hit here.
            result = census_import(
                sheets=sheets,
                dry_run=dry_run,
                missing_members=options["missing_members"],
                survey_round=options["survey_round"],
            )
        except (OSError, ImportFileError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            stack.close()
        audit.record(
            action=AuditAction.IMPORT,
            rows=result.rows,
            filters={"file": file.name, "dry_run": dry_run, "committed": result.committed},
            detail=f"manage.py import_census {file.name}",
        )
        for unit, counts in result.counts.items():
            self.stdout.write(f"{unit}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for error in result.errors[:200]:
            self.stdout.write(
                f"{error.sheet} row {error.row} {error.column} {error.value!r}: {error.message}"
            )
        for warning in result.warnings[:200]:
            self.stdout.write(
                f"warning: {warning.sheet} row {warning.row} {warning.column} "
                f"{warning.value!r}: {warning.message}"
            )
        if result.errors:
            raise CommandError(f"{result.error_count} errors: nothing was written.")
        if result.committed:
            self.stdout.write(self.style.SUCCESS("Imported."))
        else:
            self.stdout.write("Dry run: nothing was written.")
