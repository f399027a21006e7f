from django.core.management.base import BaseCommand, CommandError

from ...rounds import rounds_generate


class Command(BaseCommand):
    help = (
        "Two SYNTHETIC survey rounds over the synthetic households of a region: the current "
        "census becomes the 2024 baseline (closed: figures frozen, panel written), then a "
        "2025 update (left open) with latrines built mostly where STBM finished, children "
        "back to school, backsliding, births, deaths and moves. Run after "
        "generate_programmes, on a database without survey rounds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default="64.09", help="area code, e.g. 64.09 (PPU)")
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, region: str, seed: int, **options):
        try:
            result = rounds_generate(region_code=region, seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        changes = ", ".join(f"{key} {value:,}" for key, value in result.changed.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"SYNTHETIC rounds {', '.join(result.rounds)} in {result.seconds:.1f} s: {changes}."
            )
        )
