import logging

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _load_missing_rules(sender, using="default", **kwargs):
    # Like the indicators: a fresh database gets the shipped rules; admin edits stay.
    # (Not after `migrate quality zero`, which leaves no table to load them into.)
    from django.db import connections  # noqa: PLC0415

    from .services import rules_load  # noqa: PLC0415 (app registry ready)

    if "quality_rule" in connections[using].introspection.table_names():
        rules_load(update=False)


def _flags_after_refresh(sender, villages=None, later=False, **kwargs):
    """Flags follow the rollup: after every committed refresh, the villages it
    recomputed (None: all) get their flags rewritten, never a full scan per request;
    queued for the background worker when the refresh asks for it (`later`)."""
    from .services import flags_refresh, flags_refresh_task  # noqa: PLC0415

    if later:
        flags_refresh_task.enqueue(villages=villages)
        return
    result = flags_refresh(villages=villages)
    logger.info("quality flags: %s flags in %.2f s", result.flags, result.seconds)


def _village_lock(sender, region_code, **kwargs):
    from .services import village_lock_problem  # noqa: PLC0415

    return village_lock_problem(region_code=region_code)


def _approved_villages(sender, period, **kwargs):
    from .selectors import approved_village_codes  # noqa: PLC0415

    return approved_village_codes(period=period)


class QualityConfig(AppConfig):
    name = "quality"
    verbose_name = _("Kualitas data")

    def ready(self):
        from households.indicators.approved import approved_villages_wanted  # noqa: PLC0415
        from households.indicators.rollup import figures_refreshed  # noqa: PLC0415
        from households.services import village_write_check  # noqa: PLC0415

        post_migrate.connect(_load_missing_rules, sender=self)
        figures_refreshed.connect(_flags_after_refresh, dispatch_uid="quality-flags")
        village_write_check.connect(_village_lock, dispatch_uid="quality-lock")
        approved_villages_wanted.connect(_approved_villages, dispatch_uid="quality-approved")
