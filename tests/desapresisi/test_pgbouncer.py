"""The portal behind a real PgBouncer in transaction mode: with one server connection shared
by every client, two operators' interleaved writes each land in the history under their
own name, and no acting user is left on the server connection for the next client."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import pytest
from django.db import transaction
from rest_framework.authtoken.models import Token

from desapresisi.models import AuditEntry, ChangeRecord
from tests.desapresisi.clusters import PGBOUNCER, Caller, pgbouncer, portal, source_database
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = [
    pytest.mark.skipif(not Path(PGBOUNCER).exists(), reason="scripts/setup installs pgbouncer"),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 12


@pytest.fixture
def bouncer():
    database = source_database()
    with pgbouncer(port=int(database["PORT"]), database=database["NAME"]) as port:
        yield port


def _through(port: int):
    return psycopg2.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=source_database()["NAME"]
    )


def test_one_server_connection_is_shared_so_a_session_setting_would_leak(bouncer):
    """The set-up can tell: what one client sets for its session, the next one sees."""
    first, second = _through(bouncer), _through(bouncer)
    try:
        first.autocommit = second.autocommit = True
        with first.cursor() as cursor:
            cursor.execute("SELECT set_config('desapresisi.actor', 'bocor', false)")
        with second.cursor() as cursor:
            cursor.execute("SELECT current_setting('desapresisi.actor', true)")
            assert cursor.fetchone()[0] == "bocor"
            cursor.execute("SELECT set_config('desapresisi.actor', '', false)")
    finally:
        first.close()
        second.close()


def test_interleaved_writers_are_named_in_the_history(bouncer, personas):
    with transaction.atomic():  # a household and its head commit together
        homes = {
            "operator_a": HouseholdFactory(region_id=PENAJAM_KELURAHAN),
            "operator_b": HouseholdFactory(region_id=BABULU_DESA),
        }
        maintained = HouseholdFactory(region_id=BABULU_DESA)
    tokens = {name: Token.objects.create(user=personas[name]).key for name in homes}
    url = f"postgis://postgres@127.0.0.1:{bouncer}/{source_database()['NAME']}"

    with portal(database_url=url, workers=2, DB_TRANSACTION_POOLING="1") as base:

        def edit(name: str) -> list[int]:
            caller, pk = Caller(base, tokens[name]), homes[name].pk
            statuses = []
            for round_ in range(ROUNDS):
                status, body = caller.call("GET", f"/api/v1/households/{pk}/")
                statuses.append(status)
                status, body = caller.call(
                    "PATCH", f"/api/v1/households/{pk}/",
                    {"versi": body["versi"], "alamat": f"Jl. {name} {round_}"},
                )  # fmt: skip
                statuses.append(status)
            return statuses

        done = threading.Event()

        def maintain() -> int:
            """A script on the same pool that names no actor: between the portal's
            transactions it must get none of theirs (a session-level setting would
            still be on the shared server connection)."""
            count = 0
            # Not `with connection`: psycopg2 would hold one transaction open throughout.
            connection = _through(bouncer)
            connection.autocommit = True
            try:
                with connection.cursor() as cursor:
                    while not done.is_set() or count < ROUNDS:
                        count += 1
                        cursor.execute(
                            "UPDATE households_household SET alamat = %s WHERE id = %s",
                            [f"Jl. Pemeliharaan {count}", maintained.pk],
                        )
                        # Between the portal's statements, not instead of them.
                        done.wait(0.005)
            finally:
                connection.close()
            return count

        with ThreadPoolExecutor(3) as pool:
            script = pool.submit(maintain)
            answers = list(pool.map(edit, homes))
            done.set()
            maintained_writes = script.result()
    assert all(status == 200 for statuses in answers for status in statuses), answers
    script_actors = ChangeRecord.objects.filter(
        table="household", row_id=maintained.pk, action="update"
    ).values_list("actor", flat=True)
    assert len(script_actors) == maintained_writes >= ROUNDS
    assert set(script_actors) == {""}

    for name, household in homes.items():
        user = personas[name]
        changes = ChangeRecord.objects.filter(
            table="household", row_id=household.pk, action="update"
        )
        actors = set(changes.values_list("actor", flat=True))
        assert changes.count() == ROUNDS
        assert actors == {f"{user.pk}:{user.username}@127.0.0.1"}
        # The reads wrote their audit entries (autocommit writes, each in its own
        # transaction with the actor), one per read.
        assert AuditEntry.objects.filter(user=user, action="view").count() == ROUNDS
    # Nothing of theirs stayed on the shared server connection.
    connection = _through(bouncer)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(current_setting('desapresisi.actor', true), '')")
            assert cursor.fetchone()[0] == ""
    finally:
        connection.close()
