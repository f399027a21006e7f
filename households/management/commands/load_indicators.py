from django.core.management.base import BaseCommand

from ...indicators.definitions import indicator_definitions_load
from ...indicators.rollup import indicators_refresh


class Command(BaseCommand):
    help = (
        "Create the indicator definitions of households/data/indicators.json that are "
        "missing (--update also overwrites existing ones), then recompute all values."
    )

    def add_arguments(self, parser):
        parser.add_argument("--update", action="store_true")

    def handle(self, *args, update: bool, **options):
        created, updated = indicator_definitions_load(update=update)
        result = indicators_refresh(full=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"Indicators: {created} created, {updated} updated; {result.rows} values."
            )
        )
