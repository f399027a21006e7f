"""Shared fixtures: the real PPU geography is loaded once per test session.

Tests run on a real PostGIS database. Each test runs inside a transaction that is rolled
back, on top of the regions loaded here, so tests build only the small data they need.
"""

import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_regions", scope="ppu", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Templates resolve static URLs without a collectstatic manifest in tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def client(client):
    """The Django test client, addressed to a host the settings allow."""
    client.defaults["HTTP_HOST"] = "127.0.0.1"
    return client
