from django.core.management.base import BaseCommand

from households.jobs import jobs_recover

from ...exports.jobs import export_files_clean


class Command(BaseCommand):
    help = (
        "Fail the import and export jobs whose process died (lease lapsed, or the process "
        "is gone from this host), delete import uploads past IMPORT_UPLOAD_RETENTION_HOURS, "
        "delete export files past their expiry (EXPORT_RETENTION_HOURS after they were "
        "finished), give up on export jobs that never finished, and remove files in "
        "EXPORT_ROOT that no finished job names. Run it every few minutes (a systemd timer "
        "or cron); the worker also recovers jobs when it starts, the status pages when they "
        "look, every finished export job sweeps, and downloads refuse expired files."
    )

    def handle(self, *args, **options):
        jobs = jobs_recover()
        counts = export_files_clean()
        self.stdout.write(
            f"expired {counts['expired']}, abandoned {counts['abandoned']}, "
            f"orphaned files {counts['orphans']}; dead jobs failed: "
            f"{jobs['imports_failed']} imports, {jobs['exports_failed']} exports; "
            f"uploads deleted {jobs['uploads_expired']}"
        )
