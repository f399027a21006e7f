from django.core.management.base import BaseCommand

from households.exports import export_files_clean


class Command(BaseCommand):
    help = (
        "Delete export files past their expiry (EXPORT_RETENTION_HOURS after they were "
        "finished), give up on export jobs that never finished, and remove files in "
        "EXPORT_ROOT that no finished job names. Run it hourly (cron or a systemd timer); "
        "every finished export job also runs it, and downloads refuse expired files."
    )

    def handle(self, *args, **options):
        counts = export_files_clean()
        self.stdout.write(
            f"expired {counts['expired']}, abandoned {counts['abandoned']}, "
            f"orphaned files {counts['orphans']}"
        )
