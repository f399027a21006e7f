from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Synthetic census, demo accounts and the benchmark. Not installed in production
    (settings.PRODUCTION), so none of it can run against real household data there."""

    name = "demo"
    verbose_name = _("Data demo dan tolok ukur")
