from django.core.management.base import BaseCommand
from django.utils import timezone

from ...generator import programmes_generate


class Command(BaseCommand):
    help = (
        "Add three SYNTHETIC demo programmes (Dinas Kesehatan STBM latrines, Dinas Perkim "
        "RTLH houses, Dinas Pendidikan back to school) over the synthetic households of a "
        "region, with interventions in every state. Replaces earlier demo programmes; run "
        "after generate_households."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default="64.09", help="area code, e.g. 64.09 (PPU)")
        parser.add_argument("--year", type=int, default=timezone.localdate().year)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, region: str, year: int, seed: int, **options):
        result = programmes_generate(region_code=region, year=year, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"SYNTHETIC demo programmes: {result.programmes} programmes, "
                f"{result.interventions:,} interventions in {result.seconds:.1f} s."
            )
        )
