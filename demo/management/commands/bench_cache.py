from django.core.management.base import BaseCommand

from ...cache_bench import cache_bench


class Command(BaseCommand):
    help = (
        "Time the tile cache and the HTTP validators over a gunicorn on loopback: the densest "
        "tile of each zoom cold, warm and revalidated (304), and the indicator values 200 "
        "against 304, over the households already in the database (docs/benchmark.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default="64.09")

    def handle(self, *args, region, **options):
        cache_bench(region=region, out=self.stdout)
