"""Request rates per account (per API token) and per address, one scope per kind of use.

Lists and records of households are scoped to the caller's areas, so they leak nothing
outside them; the limits are against bulk scraping with a stolen token and against
guessing identity numbers through answers that do reach outside a scope (an import's
"already registered elsewhere"). The rates are settings (THROTTLE_*, see .env.example).

A view chooses its scope per method with `throttle_scopes`, e.g. `{"POST": "imports"}`:
polling a job's progress (GET) must not use up the uploads an operator may make. A
method absent from it falls back to "*" and then to "api" (accounts) or "anon"
(visitors). A scope of None means not limited here: map tiles, which a map requests by
the dozen, hold no names and cost one index scan each.

Counts live in PostgreSQL on the primary, so that every web worker and host shares them:
a fixed window per scope and caller (the rate's period, aligned on the epoch), counted by
ONE statement, `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, into the UNLOGGED table
desapresisi_rate_count, committed without waiting for the disk (synchronous_commit off,
for that transaction only), in one round trip. The table has no audit trigger and its
user never reads it back: the statement names no actor (desapresisi/audit.py sets one
for writes only, and this query string starts with SET) and does not keep a request's
reads off the replica (desapresisi/db_router.py). Django's DatabaseCache did the same
work in a SELECT, an UPDATE or INSERT (and now and then a cull) and a durable COMMIT:
about half of an anonymous API request (docs/benchmark.md). A fixed window lets a caller
spend a window's allowance at its end and again at the start of the next: up to twice
the rate over one period, the price of one row per caller instead of a history of
timestamps.
`THROTTLE_STORE=cache` keeps DRF's own sliding window in Django's cache (settings.CACHES)
instead.
"""

from __future__ import annotations

import logging
import math
import random
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)

COUNT = """
INSERT INTO desapresisi_rate_count AS c (key, window_end, hits) VALUES (%s, %s, 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN c.window_end = EXCLUDED.window_end THEN c.hits + 1 ELSE 1 END,
    window_end = EXCLUDED.window_end
RETURNING hits
"""
# Rows of callers gone quiet: removed by about one request in PRUNE_ONE_IN.
PRUNE = "DELETE FROM desapresisi_rate_count WHERE window_end < %s"
PRUNE_ONE_IN = 1000


def count_request(key: str, duration: int, now: float) -> tuple[int, float]:
    """Count one request of `key` in the current window of `duration` seconds: the
    requests counted in that window so far (this one included) and the seconds until it
    ends. One round trip to the primary."""
    window_end = (int(now) // duration + 1) * duration
    connection = connections[DEFAULT_DB_ALIAS]
    sql = COUNT
    if connection.get_autocommit():
        # Sent as one query string (psycopg2 interpolates the parameters), PostgreSQL
        # runs both statements in one implicit transaction: SET LOCAL holds for it alone
        # and its commit does not wait for the disk. Inside a caller's transaction the
        # setting would make the caller's commit asynchronous too: not there.
        sql = "SET LOCAL synchronous_commit = off;" + COUNT
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, window_end])
        (hits,) = cursor.fetchone()
        if random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311 - not for secrets
            cursor.execute(PRUNE, [int(now)])
    return hits, window_end - now


class PortalRateThrottle(ScopedRateThrottle):
    def scope_for(self, request, view) -> str | None:
        scopes = getattr(view, "throttle_scopes", {})
        if request.method in scopes:
            return scopes[request.method]
        if "*" in scopes:
            return scopes["*"]
        return "api" if request.user and request.user.is_authenticated else "anon"

    def allow_request(self, request, view) -> bool:
        self.scope = self.scope_for(request, view)
        if self.scope is None:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            if getattr(settings, "THROTTLE_STORE", "table") == "cache":
                return super(ScopedRateThrottle, self).allow_request(request, view)
            return self._allow_counted(request, view)
        except DatabaseError:
            # The counters live on the primary: while it is down the replica still serves
            # reads (desapresisi/db_router.py), uncounted rather than refused.
            logger.warning("rate limit counters unavailable (primary down?), not counting")
            return True

    def _allow_counted(self, request, view) -> bool:
        self.retry_after = None
        hits, remaining = count_request(
            self.get_cache_key(request, view), self.duration, time.time()
        )
        if hits <= self.num_requests:
            return True
        self.retry_after = remaining
        return False

    def wait(self) -> float | None:
        retry_after = getattr(self, "retry_after", None)
        if retry_after is None:  # the cache's sliding window
            return super().wait()
        return max(1, math.ceil(retry_after))

    def get_cache_key(self, request, view) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
