import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _confirm_after_refresh(sender, villages=None, **kwargs):
    """Verification by data follows the register: after every committed refresh of the
    figures (an edit, an import, a re-survey), the interventions done whose household no
    longer meets its programme's indicator are confirmed, without anyone running
    `manage.py confirm_interventions`."""
    from .services import interventions_confirm_by_data  # noqa: PLC0415 (app registry ready)

    confirmed = interventions_confirm_by_data()
    if confirmed:
        logger.info("verification by data: %s interventions confirmed", confirmed)


class ProgrammesConfig(AppConfig):
    name = "programmes"
    verbose_name = _("Program dan intervensi")

    def ready(self):
        from households.indicators.rollup import figures_refreshed  # noqa: PLC0415

        figures_refreshed.connect(_confirm_after_refresh, dispatch_uid="programmes-confirm")
