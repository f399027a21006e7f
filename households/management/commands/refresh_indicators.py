from django.core.management.base import BaseCommand

from ...indicators.rollup import indicators_refresh


class Command(BaseCommand):
    help = (
        "Bring the indicator rollup up to date: recompute the villages whose households "
        "changed since the last refresh (and their kecamatan, kabupaten and province), or "
        "everything with --full."
    )

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="recompute every area")

    def handle(self, *args, full: bool, **options):
        result = indicators_refresh(full=full)
        kind = "full" if result.full else "incremental"
        self.stdout.write(
            self.style.SUCCESS(
                f"Indicators refreshed ({kind}): {result.villages} villages, "
                f"{result.rows} values in {result.seconds:.2f} s."
            )
        )
