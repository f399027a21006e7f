from django.core.management.base import BaseCommand

from ...services import flags_refresh, rules_load


class Command(BaseCommand):
    help = (
        "Rewrite every quality flag from the active rules (after editing a rule's "
        "parameters); --load-rules first loads quality/rules.json, --update-rules overwrites "
        "rules edited in the admin."
    )

    def add_arguments(self, parser):
        parser.add_argument("--load-rules", action="store_true")
        parser.add_argument("--update-rules", action="store_true")

    def handle(self, *args, load_rules, update_rules, **options):
        if load_rules or update_rules:
            created, updated = rules_load(update=update_rules)
            self.stdout.write(f"rules: {created} created, {updated} updated")
        result = flags_refresh(villages=None)
        self.stdout.write(f"{result.flags} flags in {result.seconds:.2f} s")
