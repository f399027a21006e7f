"""Who a credential belongs to, kept in the process for ACCESS_TTL_MS (desapresisi/callers.py):
a kept caller costs no query; a change made in this process applies at once, one made
elsewhere within the time to live; a wrong credential is never kept."""

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from desapresisi import callers
from desapresisi.models import AccessProfile
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.django_db

HOUSEHOLDS = "/api/v1/households/"
CALLER_TABLES = ("authtoken_token", "auth_user", "desapresisi_accessprofile", "django_session")


@pytest.fixture
def clock(settings, monkeypatch):
    settings.ACCESS_TTL_MS = 1000
    now = [5000.0]
    monkeypatch.setattr(callers.time, "monotonic", lambda: now[0])
    return now


def caller_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if any(t in q["sql"] for t in CALLER_TABLES)]


def codes_seen(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["region"] for row in response.json()["results"]}


@pytest.fixture
def homes():
    return (
        HouseholdFactory(region_id=PENAJAM_KELURAHAN),
        HouseholdFactory(region_id=BABULU_DESA),
    )


def token_client(client, user):
    token = Token.objects.create(user=user)
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {token.key}"
    return client, token


def test_a_token_caller_is_read_once_within_the_time_to_live(clock, client, personas, homes):
    client, _token = token_client(client, personas["analyst"])
    first = client.get(HOUSEHOLDS)
    with CaptureQueriesContext(connection) as queries:
        again = client.get(HOUSEHOLDS)
    assert again.content == first.content
    assert caller_queries(queries) == []
    clock[0] += 1.0
    with CaptureQueriesContext(connection) as queries:
        client.get(HOUSEHOLDS)
    assert any("authtoken_token" in sql for sql in caller_queries(queries))


def test_a_change_made_in_this_process_applies_at_once(clock, client, personas, homes):
    analyst = personas["analyst"]
    client, token = token_client(client, analyst)
    assert codes_seen(client.get(HOUSEHOLDS)) == {PENAJAM_KELURAHAN, BABULU_DESA}
    profile = AccessProfile.objects.get(user=analyst)
    profile.areas = [BABULU_DESA]
    profile.save()
    assert codes_seen(client.get(HOUSEHOLDS)) == {BABULU_DESA}
    analyst.is_active = False
    analyst.save()
    assert client.get(HOUSEHOLDS).status_code == 401
    analyst.is_active = True
    analyst.save()
    assert client.get(HOUSEHOLDS).status_code == 200
    token.delete()
    assert client.get(HOUSEHOLDS).status_code == 401


def test_a_change_made_elsewhere_applies_within_the_time_to_live(clock, client, personas, homes):
    client, _token = token_client(client, personas["analyst"])
    assert codes_seen(client.get(HOUSEHOLDS)) == {PENAJAM_KELURAHAN, BABULU_DESA}
    # Another process narrows the area (no signal reaches this one): trusted until the
    # time to live has passed, then applied.
    AccessProfile.objects.filter(user=personas["analyst"]).update(areas=[BABULU_DESA])
    assert codes_seen(client.get(HOUSEHOLDS)) == {PENAJAM_KELURAHAN, BABULU_DESA}
    clock[0] += 1.0
    assert codes_seen(client.get(HOUSEHOLDS)) == {BABULU_DESA}


def test_with_no_time_to_live_every_request_reads_its_caller(settings, client, personas, homes):
    settings.ACCESS_TTL_MS = 0
    client, _token = token_client(client, personas["analyst"])
    client.get(HOUSEHOLDS)
    AccessProfile.objects.filter(user=personas["analyst"]).update(areas=[BABULU_DESA])
    assert codes_seen(client.get(HOUSEHOLDS)) == {BABULU_DESA}
    assert len(callers.CALLERS) == 0


def test_a_wrong_token_is_refused_every_time_and_never_kept(clock, client, personas):
    client.defaults["HTTP_AUTHORIZATION"] = "Token " + "0" * 40
    for _ in range(2):
        assert client.get(HOUSEHOLDS).status_code == 401
    assert len(callers.CALLERS) == 0


def test_a_session_caller_is_kept_and_its_logout_applies_at_once(clock, as_user, personas, homes):
    client = as_user(personas["operator_a"])
    assert codes_seen(client.get(HOUSEHOLDS)) == {PENAJAM_KELURAHAN}
    with CaptureQueriesContext(connection) as queries:
        assert codes_seen(client.get(HOUSEHOLDS)) == {PENAJAM_KELURAHAN}
    assert caller_queries(queries) == []
    # The same cookie, presented again after the logout (a copy of it kept elsewhere).
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    client.logout()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    assert client.get(HOUSEHOLDS).status_code in (401, 403)


def test_each_request_gets_its_own_copy_of_the_account(clock, personas):
    user = personas["official"]
    callers.CALLERS.put("k", user)
    first, _ = callers.CALLERS.get("k", ttl=1.0)
    first.something_a_view_set = True
    second, _ = callers.CALLERS.get("k", ttl=1.0)
    assert first is not second and first.pk == second.pk == user.pk
    assert not hasattr(second, "something_a_view_set")


def test_the_least_recently_used_go_first(personas):
    kept = callers.KeptCallers(limit=2)
    for key in "abc":
        kept.put(key, personas["official"])
    assert len(kept) == 2 and kept.get("a", ttl=10.0) is None
    assert kept.get("c", ttl=10.0) is not None
