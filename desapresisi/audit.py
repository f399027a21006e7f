"""Writing the audit trail, and telling the database who is acting.

`record` adds an audit entry (unmasked views, exports of named records, imports, denied
access). `ActorMiddleware` makes every write of a request run with the database setting
`desapresisi.actor` set to the acting user, which the history triggers copy into each
change record; DRF authenticates inside the view, so the setting is applied lazily, just
before the first write statement, when the user is known.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection

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


def set_actor(label: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', %s, false)", [label])


class _ActorOnWrite:
    def __init__(self, request):
        self.request = request
        self.applied: str | None = None

    def __call__(self, execute, sql, params, many, context):
        if self.applied is None and sql.lstrip()[:6].upper().startswith(_WRITES):
            label = actor_label(getattr(self.request, "user", None), self.request)
            self.applied = label
            context["cursor"].execute("SELECT set_config('desapresisi.actor', %s, false)", [label])
        return execute(sql, params, many, context)


class ActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        wrapper = _ActorOnWrite(request)
        try:
            with connection.execute_wrapper(wrapper):
                return self.get_response(request)
        finally:
            if wrapper.applied:
                # Connections are reused between requests: never leave an actor behind.
                set_actor("")
