"""The whole OpenAPI schema, exercised by schemathesis for every role, in a bounded form.

A few generated requests per operation and role, each checked for: no server error, the
content type the schema declares and a body that matches the schema of its status code.
The long form of the same run is `.venv/bin/st run http://HOST/api/schema/` against a
running portal; this one runs inside the test database through the WSGI app.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from desapresisi.throttling import PortalRateThrottle
from desapresisi.wsgi import application
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

ROLES = ["anonymous", "official", "analyst", "operator_a", "admin"]
EXAMPLES = 3
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def web_schema(db):
    # As Django's test client does: the WSGI handler would close the test's connection
    # (and its transaction) at the end of every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def callers(personas, monkeypatch):
    """An API token per role, a household with a member in two villages, no rate limits."""

    monkeypatch.setattr(
        PortalRateThrottle,
        "THROTTLE_RATES",
        dict.fromkeys(("anon", "api", "imports", "exports"), "100000/min"),
    )
    for village in (PENAJAM_KELURAHAN, BABULU_DESA):
        MemberFactory(household=HouseholdFactory(region_id=village))
    headers = {"anonymous": {}}
    for role in ROLES[1:]:
        token = Token.objects.create(user=personas[role])
        headers[role] = {"Authorization": f"Token {token.key}"}
    return headers


def test_api_answers_every_role_without_server_errors_or_schema_mismatches(web_schema, callers):
    # Hypothesis driven directly: schemathesis' pytest plugin does not run on pytest 9.
    operations = [result.ok() for result in web_schema.get_all_operations()]
    assert len(operations) >= 20
    calls = 0
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            nonlocal calls
            for role in ROLES:
                case.call_and_validate(headers=callers[role], checks=CHECKS)
                calls += 1

        try:
            run()
        # Every operation's failure is listed, not the first only (schemathesis raises an
        # exception group).
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert failures == []
    assert calls >= len(operations) * len(ROLES)
