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

A process does not go to the table for every request: it takes a lease of hits at once
(`lease_size`: a fiftieth of the rate, at least 1) and admits that many requests of the
caller in the same window before it asks again, so a dashboard's or an integration's
burst of reads costs one write to the primary per dozen requests instead of one each.
The lease is counted in the table when it is taken, used or not: a caller may be refused
a little early (by at most one lease per web process), never admitted past the rate.
Rates of fewer than 100 requests per period (uploads, exports) lease one hit: exact.

`THROTTLE_STORE=cache` keeps DRF's own sliding window in Django's cache (settings.CACHES)
instead.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)

COUNT = """
INSERT INTO desapresisi_rate_count AS c (key, window_end, hits) VALUES (%s, %s, %s)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN c.window_end = EXCLUDED.window_end THEN c.hits + EXCLUDED.hits
                ELSE EXCLUDED.hits END,
    window_end = EXCLUDED.window_end
RETURNING hits
"""
# Rows of callers gone quiet: removed by about one request in PRUNE_ONE_IN.
PRUNE = "DELETE FROM desapresisi_rate_count WHERE window_end < %s"
PRUNE_ONE_IN = 1000


# A fiftieth of the rate per lease (docs above); LEASES_KEPT callers' leases at most.
LEASE_SHARE = 50
LEASES_KEPT = 10_000


def lease_size(limit: int) -> int:
    return max(1, limit // LEASE_SHARE)


class _Leases:
    """This process's unused leased hits: key -> (window end, hits left)."""

    def __init__(self) -> None:
        self._left: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, window_end: int) -> bool:
        with self._lock:
            end, left = self._left.get(key, (0, 0))
            if end != window_end or left <= 0:
                return False
            self._left[key] = (end, left - 1)
            return True

    def keep(self, key: str, window_end: int, left: int) -> None:
        with self._lock:
            if len(self._left) >= LEASES_KEPT:
                self._left = {k: v for k, v in self._left.items() if v[0] >= window_end}
                if len(self._left) >= LEASES_KEPT:
                    self._left.clear()
            self._left[key] = (window_end, left)

    def clear(self) -> None:
        with self._lock:
            self._left.clear()


LEASES = _Leases()


def admitted(key: str, duration: int, now: float, *, limit: int) -> tuple[bool, float]:
    """Whether one more request of `key` fits in the current window of `duration`
    seconds (at most `limit` requests), and the seconds until the window ends: from this
    process's lease when it has hits left, else by taking a new lease from the table."""
    window_end = (int(now) // duration + 1) * duration
    if LEASES.take(key, window_end):
        return True, window_end - now
    size = lease_size(limit)
    hits, remaining = count_request(key, duration, now, hits=size)
    granted = min(size, limit - (hits - size))
    if granted <= 0:
        return False, remaining
    LEASES.keep(key, window_end, granted - 1)
    return True, remaining


def count_request(key: str, duration: int, now: float, *, hits: int = 1) -> tuple[int, float]:
    """Count `hits` requests of `key` in the current window of `duration` seconds: the
    requests counted in that window so far (these included) and the seconds until it
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
        cursor.execute(sql, [key, window_end, hits])
        (counted,) = cursor.fetchone()
        if random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311 - not for secrets
            cursor.execute(PRUNE, [int(now)])
    return counted, window_end - now


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
        allowed, remaining = admitted(
            self.get_cache_key(request, view),
            self.duration,
            time.time(),
            limit=self.num_requests,
        )
        if allowed:
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
