from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DesapresisiConfig(AppConfig):
    name = "desapresisi"
    verbose_name = _("Akses dan audit")
