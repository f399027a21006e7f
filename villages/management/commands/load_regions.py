from django.core.management.base import BaseCommand, CommandError

from villages.models import Level
from villages.services import SCOPES, RegionDataError, regions_load


class Command(BaseCommand):
    help = (
        "Load the Kemendagri area codes and village boundaries shipped with the project. "
        "Scopes: ppu (4 kecamatan, 54 villages), kaltim (1,038 villages with polygons), "
        "indonesia (all 83,762 village codes; polygons where available). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scope", choices=sorted(SCOPES), default="ppu")

    def handle(self, *args, scope: str, **options):
        try:
            result = regions_load(scope=scope)
        except RegionDataError as exc:
            raise CommandError(str(exc)) from exc
        for level in Level:
            self.stdout.write(
                f"{level.label:<16} created {result.created.get(level, 0):>6}  "
                f"updated {result.updated.get(level, 0):>6}  "
                f"unchanged {result.unchanged.get(level, 0):>6}"
            )
        self.stdout.write(
            f"Villages with a boundary in this scope: {result.villages_with_boundary}"
        )
        self.stdout.write(
            f"Parent boundaries (re)built from their villages: {result.boundaries_built}"
        )
        if result.changed:
            self.stdout.write(self.style.SUCCESS(f"Scope {scope}: loaded."))
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Scope {scope}: already up to date, nothing changed.")
            )
