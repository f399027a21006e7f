"""Request rates per account (API token) and per address: desapresisi/throttling.py."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from desapresisi import throttling
from desapresisi.throttling import PortalRateThrottle, admitted, count_request, lease_size
from tests.desapresisi.test_access import tile_of
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.census_import.test_import import family, upload, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(monkeypatch):
    """Small rates, and counts that start from nothing."""
    cache.clear()
    limits = {"anon": "3/min", "api": "3/min", "imports": "2/hour", "exports": "2/hour"}
    # DRF reads the rates into the class when it is first imported.
    monkeypatch.setattr(PortalRateThrottle, "THROTTLE_RATES", limits)
    yield limits
    cache.clear()


def test_api_reads_are_limited_per_token(rates, personas, client):
    analyst = Token.objects.create(user=personas["analyst"])
    official = Token.objects.create(user=personas["official"])

    def get(token):
        return client.get("/api/v1/households/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert [get(analyst).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(analyst)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Another account keeps its own count.
    assert get(official).status_code == 200


def test_anonymous_reads_are_limited_per_address(rates, client):
    url = "/api/v1/indicators/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(url).status_code == 429
    assert client.get(url, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_imports_are_limited_but_polling_a_job_is_not(rates, personas, as_user):
    rates["api"] = "100/min"  # polling counts as an ordinary read
    client = as_user(personas["operator_a"])
    first = upload(client, xlsx(*family()))
    assert first.status_code == 201, first.content
    # A page polls the job's progress every second: that is not an upload.
    assert all(client.get(first.json()["url"]).status_code == 200 for _ in range(6))
    assert upload(client, xlsx(*family())).status_code == 201
    refused = upload(client, xlsx(*family()))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"


def test_named_exports_are_limited(rates, personas, as_user):
    client = as_user(personas["analyst"])
    url = "/api/v1/exports/households.csv"
    assert [client.get(url).status_code for _ in range(2)] == [200, 200]
    assert client.get(url).status_code == 429


def test_map_tiles_are_not_limited(rates, personas, as_user):
    home = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    client = as_user(personas["official"])
    z, x, y = tile_of(home.lokasi)
    url = f"/api/v1/tiles/households/{z}/{x}/{y}.pbf"
    assert {client.get(url).status_code for _ in range(8)} == {200}


def test_counts_are_fixed_windows_of_the_rate_period():
    # Two windows of 60 s: the count starts again in the next one, and the time left
    # is what Retry-After says.
    assert count_request("k", 60, 120.0) == (1, 60.0)
    assert count_request("k", 60, 150.0) == (2, 30.0)
    assert count_request("other", 60, 150.0) == (1, 30.0)
    assert count_request("k", 60, 181.0) == (1, 59.0)


def test_refusal_says_when_the_window_ends(rates, client, monkeypatch):
    monkeypatch.setattr("desapresisi.throttling.time.time", lambda: 1_000_050.0)
    url = "/api/v1/indicators/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    # 1,000,050 s is 30 s into a window of 60 s (windows align on the epoch).
    assert refused["Retry-After"] == "30"


def test_counters_down_means_not_counting(rates, client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("primary down")

    monkeypatch.setattr("desapresisi.throttling.count_request", down)
    url = "/api/v1/indicators/"
    assert {client.get(url).status_code for _ in range(5)} == {200}


def test_the_cache_store_keeps_drfs_sliding_window(rates, client, settings):
    settings.THROTTLE_STORE = "cache"
    url = "/api/v1/indicators/"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM desapresisi_rate_count")
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_a_count_of_its_own_commits_asynchronously_and_only_itself():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM desapresisi_rate_count")
    assert count_request("solo", 60, 120.0)[0] == 1
    with connection.cursor() as cursor:
        # The count was committed (autocommit afterwards sees it) and the setting was
        # local to its transaction.
        cursor.execute("SELECT hits FROM desapresisi_rate_count WHERE key = 'solo'")
        assert cursor.fetchone() == (1,)
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    with transaction.atomic():
        assert count_request("solo", 60, 121.0)[0] == 2
        with connection.cursor() as cursor:
            # Inside a caller's transaction the caller's commit stays durable.
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("on",)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM desapresisi_rate_count")


def test_a_process_leases_a_fiftieth_of_the_rate_at_a_time():
    assert [lease_size(n) for n in (2, 30, 99, 100, 600, 6000)] == [1, 1, 1, 2, 12, 120]
    with CaptureQueriesContext(connection) as queries:
        answers = [admitted("lease", 60, 120.0 + i / 100, limit=600)[0] for i in range(25)]
    assert all(answers)
    # 25 requests, leases of 12: three writes to the table.
    assert sum("desapresisi_rate_count" in q["sql"] for q in queries.captured_queries) == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT hits FROM desapresisi_rate_count WHERE key = 'lease'")
        assert cursor.fetchone() == (36,)  # leased, not all used


def test_leases_never_admit_past_the_rate_whatever_the_processes():
    """Three web processes (their leases apart) share one caller's 100 a minute."""
    processes = [throttling._Leases() for _ in range(3)]
    admitted_count = 0
    for i in range(400):
        throttling.LEASES = processes[i % 3]
        admitted_count += admitted("shared", 60, 120.0, limit=100)[0]
    throttling.LEASES = throttling._Leases()
    # Refused a little early at worst (one unused lease of 2 per process), never late.
    assert 100 - 3 * 2 <= admitted_count <= 100
    # A new window starts afresh.
    assert admitted("shared", 60, 181.0, limit=100)[0]


def test_a_lease_belongs_to_its_window():
    assert admitted("w", 60, 150.0, limit=600) == (True, 30.0)
    # The lease taken at 150 s is of the window ending at 180 s: at 185 s a new one.
    with CaptureQueriesContext(connection) as queries:
        assert admitted("w", 60, 185.0, limit=600) == (True, 55.0)
    assert len(queries.captured_queries) == 1
