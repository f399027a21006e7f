from django.core.management.base import BaseCommand

from ...services import interventions_confirm_by_data


class Command(BaseCommand):
    help = (
        "Verification by data: mark interventions done (or verified) whose household's "
        "record, changed since, no longer meets the programme's indicator. Run after a "
        "re-survey or an import."
    )

    def handle(self, *args, **options):
        confirmed = interventions_confirm_by_data()
        self.stdout.write(self.style.SUCCESS(f"{confirmed} interventions confirmed by data."))
