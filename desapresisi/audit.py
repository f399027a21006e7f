"""Writing the audit trail, and telling the database who is acting.

`record` adds an audit entry (unmasked views, exports of named records, imports, denied
access). `ActorMiddleware` makes every write of a request run with the database setting
`desapresisi.actor` set to the acting user, which the history triggers copy into each
change record; DRF authenticates inside the view, so the setting is applied lazily, just
before the first write statement of each transaction, when the user is known. It is
transaction-local (`set_config(..., true)`), so it works behind PgBouncer in transaction
mode (docs/operations.md).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from psycopg2.extensions import TRANSACTION_STATUS_IDLE

from .models import AuditEntry

_WRITES = ("INSERT", "UPDATE", "DELETE", "COPY", "WITH")


def client_address(request) -> str | None:
    if request is None:
        return None
    if settings.TRUSTED_PROXY_COUNT:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= settings.TRUSTED_PROXY_COUNT:
            return forwarded[-settings.TRUSTED_PROXY_COUNT]
    return request.META.get("REMOTE_ADDR")


def _without_nul(value: Any) -> Any:
    """PostgreSQL stores no U+0000 in text or jsonb: an audit entry must never fail on one
    (it would turn the audited action into a 500), so it is written as U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(item) for item in value]
    return value


def record(
    *,
    action: str,
    request=None,
    user=None,
    rows: int = 0,
    filters: dict[str, Any] | None = None,
    detail: str = "",
) -> AuditEntry:
    user = user if user is not None else getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    if filters is None and request is not None:
        filters = {key: request.GET.getlist(key) for key in request.GET}
    return AuditEntry.objects.create(
        user=user if authenticated else None,
        username=_without_nul(user.get_username()) if authenticated else "",
        address=client_address(request),
        action=action,
        path=_without_nul(request.get_full_path()[:500]) if request is not None else "",
        filters=_without_nul(filters or {}),
        rows=rows,
        detail=_without_nul(detail[:500]),
    )


def actor_label(user, request=None) -> str:
    if user is None or not user.is_authenticated:
        return ""
    address = client_address(request) or ""
    return f"{user.pk}:{user.get_username()}@{address}"[:160]


def set_actor(label: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Names the acting user for the rest of the current transaction (transaction-local, so
    that a pooled server connection never carries it into another client's transaction)."""
    with connections[using].cursor() as cursor:
        cursor.execute(_SET_ACTOR, [label])


_SET_ACTOR = "SELECT set_config('desapresisi.actor', %s, true)"
_SETS_ACTOR = "set_config('desapresisi.actor'"


class _ActorOnWrite:
    """Sets the actor transaction-locally before the first write of each transaction.

    Behind PgBouncer in transaction mode consecutive transactions of one Django connection
    may run on different server connections, and a session-level setting would stay on a
    server connection that then serves another user; so the setting lives exactly as long
    as the transaction that writes. A write in autocommit mode is wrapped in a transaction
    of its own with the setting. The setting is undone when a savepoint rolls back, so it
    counts as applied only while the savepoints that were open when it was set still are.
    """

    def __init__(self, request):
        self.request = request
        self.label: str | None = None
        self.applied_under: list | None = None  # savepoint ids open when it was set

    def _label(self) -> str:
        if self.label is None:
            # DRF authenticates inside the view: the user is known by the first write.
            self.label = actor_label(getattr(self.request, "user", None), self.request)
        return self.label

    def _still_applied(self, connection) -> bool:
        under = self.applied_under
        return under is not None and connection.savepoint_ids[: len(under)] == under

    def __call__(self, execute, sql, params, many, context):
        connection = context["connection"]
        if connection.connection is not None and _idle(connection):
            self.applied_under = None  # the transaction that had it has ended
        head = sql.lstrip()[:6].upper()
        if _SETS_ACTOR in sql[:80]:
            # A service names the actor itself (an import's fallback label): keep it.
            result = execute(sql, params, many, context)
            if not connection.get_autocommit():
                self.applied_under = list(connection.savepoint_ids)
            return result
        if not head.startswith(_WRITES) or self._still_applied(connection):
            return execute(sql, params, many, context)
        if connection.get_autocommit():
            with transaction.atomic(using=connection.alias):
                context["cursor"].execute(_SET_ACTOR, [self._label()])
                return execute(sql, params, many, context)
        context["cursor"].execute(_SET_ACTOR, [self._label()])
        self.applied_under = list(connection.savepoint_ids)
        return execute(sql, params, many, context)


def _idle(connection) -> bool:
    """No transaction open on the server connection (libpq's own bookkeeping, no query)."""
    return connection.connection.get_transaction_status() == TRANSACTION_STATUS_IDLE


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        wrapper = _ActorOnWrite(request)
        try:
            with connection.execute_wrapper(wrapper):
                return self.get_response(request)
        finally:
            if wrapper.applied_under is not None and connection.in_atomic_block:
                # Only when the request ran inside a transaction still open (a test's):
                # the next request of that transaction must not inherit this actor.
                set_actor("")
