from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction


class Command(BaseCommand):
    help = (
        "Delete audit entries older than AUDIT_RETENTION_DAYS (UU PDP: personal data no longer "
        "than needed). Runs desapresisi_audit_purge(), which only the maintenance role (owner "
        "of the tables) may execute; the purge itself is recorded in the audit log."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--keep-days",
            type=int,
            default=None,
            help="days to keep (default AUDIT_RETENTION_DAYS; at least 180)",
        )

    def handle(self, *args, keep_days=None, **options):
        keep = keep_days if keep_days is not None else settings.AUDIT_RETENTION_DAYS
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT desapresisi_audit_purge(%s)", [keep])
                purged = cursor.fetchone()[0]
        except DatabaseError as exc:
            raise CommandError(f"audit purge refused: {exc}".strip()) from exc
        self.stdout.write(f"audit entries older than {keep} days deleted: {purged}")
