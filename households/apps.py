from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_missing_indicators(sender, **kwargs):
    # Like Django's own permissions: a fresh database gets the standard definitions;
    # edits made since (in the admin) are never overwritten here.
    from .indicators.definitions import indicator_definitions_load

    indicator_definitions_load(update=False)


def _fill_tile_cells(sender, using="default", **kwargs):
    # Databases from before the cluster cells (migration 0008) have households and no
    # cells: count them once, so low-zoom tiles are not empty until the next refresh.
    from django.db import connections, transaction

    from .indicators.criteria import map_criteria_conditions
    from .models import Household, TileCell
    from .tiles import tile_cells_refresh

    if TileCell.objects.using(using).exists():
        return
    if not Household.objects.using(using).filter(lokasi__isnull=False).exists():
        return
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        tile_cells_refresh(cursor, None, map_criteria_conditions())


class HouseholdsConfig(AppConfig):
    name = "households"
    verbose_name = _("Rumah tangga")

    def ready(self):
        # The catalogue reads the models: loaded once the registry is ready.
        from desapresisi.metrics import add_scrape_collector

        # Registers the field tools' exports as an import job format (web and worker).
        from .fieldwork import jobs as _fieldwork_jobs  # noqa: F401
        from .metrics import rollup_metrics
        from .schema import catalogue_check

        add_scrape_collector(rollup_metrics)

        checks.register(catalogue_check)
        post_migrate.connect(_load_missing_indicators, sender=self)
        post_migrate.connect(_fill_tile_cells, sender=self)
