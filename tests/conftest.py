"""Shared fixtures: the real PPU geography is loaded once per test session.

Tests run on a real PostGIS database. Each test runs inside a transaction that is rolled
back, on top of the regions loaded here, so tests build only the small data they need.
"""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import translation

from desapresisi import callers, http_cache, throttling
from desapresisi.models import AccessProfile
from households.indicators.criteria import KEPT_CRITERIA
from households.tiles import KEPT_MARKS, KEPT_TILES
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN
from villages.models import Region


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_regions", scope="ppu", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.fixture(autouse=True)
def _regions_after_a_transactional_test(request):
    """A transactional test ends by emptying every table, the regions too: the next one
    on the same worker gets them back before it starts, whatever order the tests run in."""
    if _transactional(request):
        request.getfixturevalue("transactional_db")
        if not Region.objects.filter(code=PENAJAM_KELURAHAN).exists():
            call_command("load_regions", scope="ppu", verbosity=0, stdout=open("/dev/null", "w"))  # noqa: SIM115
    yield


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Templates resolve static URLs without a collectstatic manifest in tests."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _versions_read_for_every_request(settings):
    """Tests change the data versions from outside the request path (a trigger, an
    update) and ask again at once: every request reads them (test_caching.py tests the
    time to live itself)."""
    settings.DATA_VERSION_TTL_MS = 0
    # The same for who a credential belongs to (test_callers.py tests the kept callers).
    settings.ACCESS_TTL_MS = 0


@pytest.fixture(autouse=True)
def _nothing_kept_between_tests():
    """Each test's database rolls back to the same data versions, under which another
    test's answers were kept (http_cache.ANSWERS), and its rate counts to none, against
    which another test's leases were taken (throttling.LEASES): a test starts with
    neither."""
    http_cache.ANSWERS.clear()
    http_cache.VERSIONS.clear()
    throttling.LEASES.clear()
    callers.CALLERS.clear()
    KEPT_TILES.clear()
    KEPT_MARKS.clear()
    KEPT_CRITERIA.clear()
    yield
    http_cache.ANSWERS.clear()
    http_cache.VERSIONS.clear()
    throttling.LEASES.clear()
    callers.CALLERS.clear()
    KEPT_TILES.clear()
    KEPT_MARKS.clear()
    KEPT_CRITERIA.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Personas are created for most tests; the real hasher takes 0.3 s a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_export_root(settings, tmp_path):
    """Export jobs write their files into the test's own directory."""
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the portal's default language: a request with another
    Accept-Language leaves its language active in the thread (as in a server, where the
    next request activates its own), and messages are translated when read."""
    with translation.override(django_settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def client(client):
    """The Django test client, addressed to a host the settings allow."""
    client.defaults["HTTP_HOST"] = "127.0.0.1"
    return client


# --- Personas (one per role), shared by every test that needs a caller --------------------

PASSWORD = "x-test-pass-1"


def make_user(username: str, *, role: str | None = None, areas=(), can_unmask=False, **flags):
    user = get_user_model().objects.create_user(username, password=PASSWORD, **flags)
    if role:
        AccessProfile.objects.create(user=user, role=role, areas=list(areas), can_unmask=can_unmask)
    return user


@pytest.fixture
def personas(db):
    """An administrator, an SKPD analyst (all of PPU, may unmask), an official (PPU), the
    operators of desa A (Tanjung Tengah, a kelurahan of Penajam) and desa B (in Babulu),
    and an account with no role."""

    return {
        "admin": make_user("admin-uji", is_staff=True, is_superuser=True),
        "analyst": make_user("analis-uji", role="analis", areas=["64.09"], can_unmask=True),
        "analyst_waru": make_user("analis-waru", role="analis", areas=["64.09.02"]),
        "official": make_user("pejabat-uji", role="pejabat", areas=["64.09"]),
        "operator_a": make_user("operator-a", role="operator", areas=[PENAJAM_KELURAHAN]),
        "operator_b": make_user("operator-b", role="operator", areas=[BABULU_DESA]),
        "norole": make_user("tanpa-peran"),
    }


@pytest.fixture
def as_user(client):
    """Log the test client in as a persona: `as_user(personas["analyst"])`."""

    def login(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return login
