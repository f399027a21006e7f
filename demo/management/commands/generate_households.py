from django.core.management.base import BaseCommand, CommandError

from ...generator import GeneratorError, households_generate


class Command(BaseCommand):
    help = (
        "Generate a deterministic SYNTHETIC demo census (not real data) for the villages of "
        "a region: realistic families, NIK/KK numbers, GPS points clustered in each village, "
        "answers drawn from households/data/demo_rates.json. Replaces earlier synthetic "
        "households of the region; never touches imported or entered ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--region", default="64.09", help="area code, e.g. 64.09 (PPU)")
        parser.add_argument("--households", type=int, default=33_000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--keep", action="store_true", help="add to earlier synthetic households"
        )
        parser.add_argument(
            "--resume",
            action="store_true",
            help="after an interrupted run with the same region, size and seed: keep the "
            "kabupaten it committed, generate the rest",
        )

    def handle(
        self, *args, region: str, households: int, seed: int, keep: bool, resume: bool, **options
    ):
        try:
            result = households_generate(
                region_code=region,
                households=households,
                seed=seed,
                replace=not keep,
                resume=resume,
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
        except GeneratorError as exc:
            raise CommandError(str(exc)) from exc
        if result.replaced:
            self.stdout.write(f"Removed {result.replaced:,} earlier synthetic households.")
        if result.kept:
            self.stdout.write(f"Kept {result.kept:,} households an earlier run had committed.")
        self.stdout.write(
            self.style.SUCCESS(
                f"SYNTHETIC demo data: {result.households:,} households, {result.members:,} "
                f"members in {result.villages} villages of {region} (seed {seed}) "
                f"in {result.seconds:.1f} s."
            )
        )
