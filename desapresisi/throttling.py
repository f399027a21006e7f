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

Counts live in Django's cache; settings.py points it at the database so that every web
worker and host shares them.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from rest_framework.throttling import ScopedRateThrottle

logger = logging.getLogger(__name__)


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
            return super(ScopedRateThrottle, self).allow_request(request, view)
        except DatabaseError:
            # The counters live on the primary: while it is down the replica still serves
            # reads (desapresisi/db_router.py), uncounted rather than refused.
            logger.warning("rate limit counters unavailable (primary down?), not counting")
            return True

    def get_cache_key(self, request, view) -> str:
        if request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
