from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django_tasks_db.apps import TasksAppConfig


class DesapresisiConfig(AppConfig):
    default = True  # the module holds other apps' configurations too
    name = "desapresisi"
    verbose_name = _("Akses dan audit")

    def ready(self) -> None:
        from .callers import connect_signals  # noqa: PLC0415 (app registry ready)

        connect_signals()


# Third-party apps named in the portal's language in the admin: their own configurations,
# with a translated section name only (INSTALLED_APPS points here).
class AxesConfig(AxesAppConfig):
    verbose_name = _("Penguncian login")


class TasksDatabaseConfig(TasksAppConfig):
    verbose_name = _("Pekerjaan latar belakang")
