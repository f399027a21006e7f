from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_missing_indicators(sender, **kwargs):
    # Like Django's own permissions: a fresh database gets the standard definitions;
    # edits made since (in the admin) are never overwritten here.
    from .indicators import indicator_definitions_load

    indicator_definitions_load(update=False)


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("Rumah tangga")

    def ready(self):
        post_migrate.connect(_load_missing_indicators, sender=self)
