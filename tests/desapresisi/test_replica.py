"""Reads on a real streaming replica (scripts/replica), writes on the primary, and no stale
read for the user who wrote (desapresisi/db_router.py). The portal runs under gunicorn on
a scratch primary holding a copy of the test database, so that the primary can be stopped.

The proof of where a read went: the replica's replay is paused, then what the replica
answers differs from what the primary has."""

from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token

from desapresisi.db_router import COOKIE, ReplicaRouter, lsn_value
from tests.desapresisi.clusters import Caller, Cluster, binaries_present, portal
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = [
    pytest.mark.skipif(not binaries_present(), reason="PostgreSQL 15 binaries are absent"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def world(personas):
    """Two operators with tokens, a household in each one's village (committed: the copy
    onto the scratch primary is taken from the test database)."""
    with transaction.atomic():  # a household and its head commit together
        return {
            "a": HouseholdFactory(region_id=PENAJAM_KELURAHAN, alamat="Jl. Awal A"),
            "b": HouseholdFactory(region_id=BABULU_DESA, alamat="Jl. Awal B"),
            "token_a": Token.objects.create(user=personas["operator_a"]).key,
            "token_b": Token.objects.create(user=personas["operator_b"]).key,
        }


@pytest.fixture
def cluster(world):
    made = Cluster()
    try:
        made.start_primary()
        made.copy_test_database()
        made.start_replica()
        yield made
    finally:
        made.close()


def address(caller: Caller, pk: int) -> tuple[str, int]:
    status, body = caller.call("GET", f"/api/v1/households/{pk}/")
    assert status == 200, body
    return body["alamat"], body["versi"]


def test_the_script_is_idempotent_and_the_replica_streams(cluster):
    again = cluster.start_replica()
    assert again == cluster.replica_url  # the running replica, not a second copy
    assert cluster.on_replica("SELECT pg_is_in_recovery()") == "t"
    assert cluster.on_primary("SELECT count(*) FROM pg_replication_slots WHERE active") == "1"
    status = cluster.replica_script("status")
    assert status.returncode == 0 and "streaming: streaming" in status.stdout
    # Stopped and started again: the same port, catching up through the slot.
    assert cluster.replica_script("stop").returncode == 0
    cluster.on_primary("UPDATE households_household SET alamat = 'Saat replika mati'")
    assert cluster.start_replica() == again
    cluster.caught_up()
    assert cluster.on_replica("SELECT DISTINCT alamat FROM households_household") == (
        "Saat replika mati"
    )


def test_reads_go_to_the_replica_and_the_writer_never_reads_stale(cluster, world):
    a, b = world["a"], world["b"]
    with portal(
        database_url=cluster.primary_url,
        replica_url=cluster.replica_url,
        REPLICA_MAX_LAG_SECONDS="3600",
    ) as base:
        writer = Caller(base, world["token_a"])
        other = Caller(base, world["token_b"])
        assert address(writer, a.pk) == ("Jl. Awal A", 1)

        # With replay paused, the replica keeps the old address.
        cluster.on_replica("SELECT pg_wal_replay_pause()")
        status, body = writer.call(
            "PATCH", f"/api/v1/households/{a.pk}/", {"versi": 1, "alamat": "Jl. Baru 1"}
        )
        assert status == 200, body
        assert writer.has_cookie(COOKIE)  # the position of the write
        cluster.on_primary(f"UPDATE households_household SET alamat = 'Jl. Lain' WHERE id = {b.pk}")  # noqa: S608
        # The writer reads their own write (from the primary) on every read...
        for _ in range(5):
            assert address(writer, a.pk) == ("Jl. Baru 1", 2)
        # ... while a read without a fresh write of its own is served by the replica.
        assert address(other, b.pk) == ("Jl. Awal B", 1)

        cluster.on_replica("SELECT pg_wal_replay_resume()")
        cluster.caught_up()
        assert address(other, b.pk)[0] == "Jl. Lain"
        # Caught up: the writer is back on the replica and the cookie is gone.
        assert address(writer, a.pk) == ("Jl. Baru 1", 2)
        assert not writer.has_cookie(COOKIE)

        # Interleaved writes and reads of two users: never a stale read for the writer.
        stale = 0
        for round_ in range(10):
            for caller, household in ((writer, a), (other, b)):
                expected = f"Jl. Putaran {round_}"
                version = address(caller, household.pk)[1]
                status, body = caller.call(
                    "PATCH", f"/api/v1/households/{household.pk}/",
                    {"versi": version, "alamat": expected},
                )  # fmt: skip
                assert status == 200, body
                stale += address(caller, household.pk) != (expected, version + 1)
        assert stale == 0

        # The primary stopped: reads keep working from the replica (those that name no one:
        # an answer with names first writes its audit entry, on the primary).
        cluster.caught_up()
        values = "/api/v1/indicators/values/?indicator=jumlah_rumah_tangga&level=desa&parent="
        before = {who: who.call("GET", values + "64.09.01") for who in (writer, Caller(base))}
        cluster.stop_primary()
        for who, answer in before.items():
            assert answer[0] == 200
            assert who.call("GET", values + "64.09.01") == answer
        status, regions = Caller(base).call("GET", "/api/v1/regions/?level=desa&within=64.09")
        assert status == 200
        assert len(regions.get("results", regions)) == 54


def test_a_lagging_replica_is_left_for_the_primary(cluster, world):
    a = world["a"]
    with portal(
        database_url=cluster.primary_url,
        replica_url=cluster.replica_url,
        REPLICA_MAX_LAG_SECONDS="1",
        REPLICA_RETRY_SECONDS="0",
    ) as base:
        reader = Caller(base, world["token_a"])
        assert address(reader, a.pk)[0] == "Jl. Awal A"
        cluster.on_replica("SELECT pg_wal_replay_pause()")
        cluster.on_primary(f"UPDATE households_household SET alamat = 'Jl. Baru' WHERE id = {a.pk}")  # noqa: S608
        # The replica has received WAL it does not replay; beyond the allowed lag, reads
        # go to the primary for everyone.
        cluster.on_replica("SELECT pg_sleep(2.5)")
        assert address(reader, a.pk)[0] == "Jl. Baru"
        cluster.on_replica("SELECT pg_wal_replay_resume()")


def test_a_replica_that_is_down_sends_reads_to_the_primary(cluster, world):
    with portal(database_url=cluster.primary_url, replica_url=cluster.replica_url) as base:
        reader = Caller(base, world["token_a"])
        # Read once on the replica: the process keeps that connection and the replica's
        # state (trusted for a second) ...
        assert address(reader, world["a"].pk)[0] == "Jl. Awal A"
        assert cluster.replica_script("stop").returncode == 0
        # ... and still notices at once that it is gone.
        for _ in range(3):
            assert address(reader, world["a"].pk)[0] == "Jl. Awal A"


def test_the_router_reads_the_primary_outside_requests_and_in_transactions():
    router = ReplicaRouter()
    # No request (the worker, a command, a job): the primary.
    assert router.db_for_read(Token) == "default"
    assert router.db_for_write(Token) == "default"
    assert router.allow_migrate("replica", "households") is False
    assert lsn_value("16/B374D848") == (0x16 << 32) + 0xB374D848
