"""Reads on a streaming replica, writes and a user's own fresh reads on the primary.

With DATABASE_REPLICA_URL set, `ReplicaReadsMiddleware` lets the reads of a GET or HEAD
request (the dashboards, the API reads, tiles, export downloads) go to the replica, and
`ReplicaRouter` sends them there; everything else reads the primary: other methods, any
read inside a transaction (a service reads what it is about to change), every read after
the request's own first write, background jobs, the worker and management commands (no
request, so no replica).

Read-your-writes: a request that wrote records the primary's `pg_current_wal_lsn()` in a
signed cookie; later requests read the replica only once its `pg_last_wal_replay_lsn()`
has passed that position (the cookie is then dropped). The replica is also skipped while
it lags (received WAL not yet replayed for more than REPLICA_MAX_LAG_SECONDS) or does not
answer (then it is asked again after REPLICA_RETRY_SECONDS). With the primary down the
replica keeps serving the reads it may serve.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from .models import AuditEntry

REPLICA = "replica"
COOKIE = "desapresisi_lsn"
_COOKIE_SALT = "desapresisi.db_router.lsn"
_COOKIE_AGE = 24 * 3600
_SAFE = {"GET", "HEAD", "OPTIONS"}
_WRITES = ("INSERT", "UPDATE", "DELETE", "COPY", "WITH")
# The cache table may hold the API's rate-limit counters (THROTTLE_STORE=cache), read and
# raised in one request (on the primary).
_PRIMARY_ONLY_APPS = {"django_cache"}
# A replica state this fresh is trusted without asking again (per process).
_STATE_SECONDS = 1.0

logger = logging.getLogger(__name__)


@dataclass
class _Choice:
    """Where one request reads: decided at its first read, so that a request that reads
    nothing (a static file, `/health/live/`) asks no database."""

    position: int  # of the user's last write; -1: unknown, read the primary
    alias: str | None = None

    def resolve(self) -> str:
        if self.alias is None:
            usable = self.position >= 0 and _replica_has(self.position)
            self.alias = REPLICA if usable else DEFAULT_DB_ALIAS
        return self.alias


# The current request's choice; None outside a request (worker, commands): the primary.
_reads: ContextVar[_Choice | None] = ContextVar("desapresisi_reads", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def lsn_value(text: str) -> int:
    """'16/B374D848' as a number (PostgreSQL's pg_lsn: two hexadecimal halves)."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


@dataclass
class _ReplicaState:
    checked: float = 0.0
    replayed: int = 0
    usable: bool = False


_state = _ReplicaState()


def _ask_replica() -> _ReplicaState:
    """The replica's replayed position and whether it may serve reads now."""
    now = time.monotonic()
    if now - _state.checked < (_STATE_SECONDS if _state.usable else settings.REPLICA_RETRY_SECONDS):
        return _state
    _state.checked = now
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text,"
                " CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
                " ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END"
            )
            recovering, replayed, lag = cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("replica unavailable, reading the primary: %s", exc)
        _state.usable = False
        with suppress(DatabaseError):
            connections[REPLICA].close()
        return _state
    # A promoted replica is a primary of its own: reads must not go there any more.
    _state.usable = bool(recovering) and replayed is not None
    _state.replayed = lsn_value(replayed) if replayed else 0
    if _state.usable and lag is not None and float(lag) > settings.REPLICA_MAX_LAG_SECONDS:
        logger.warning("replica lags %.1f s behind, reading the primary", float(lag))
        _state.usable = False
    return _state


def _replica_has(position: int) -> bool:
    state = _ask_replica()
    if state.usable and state.replayed < position:
        # The cached position may just be old: ask once more for this reader.
        _state.checked = 0.0
        state = _ask_replica()
    if not (state.usable and state.replayed >= position):
        return False
    try:
        # Connected (or, on a kept connection, its health check done) before the view
        # reads: a replica that died since the last check costs this request nothing.
        replica = connections[REPLICA]
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as exc:
        logger.warning("replica unavailable, reading the primary: %s", exc)
        _state.usable, _state.checked = False, time.monotonic()
        with suppress(DatabaseError):
            connections[REPLICA].close()
        return False
    return True


def _wrote_position() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def _not_read_back() -> tuple[str, ...]:
    """Tables a request writes that its user does not read back: the rate-limit counters
    and the audit log (every answer with named records adds an entry, and one such view
    must not keep its reader off the replica)."""
    return (
        f'"{AuditEntry._meta.db_table}"',
        f'"{settings.CACHES["default"]["LOCATION"]}"',
        "desapresisi_rate_count",  # desapresisi/throttling.py, one row per caller and scope
    )


class _WriteWatch:
    """Notes the request's first write on the primary; its later reads stay there."""

    def __init__(self, choice: _Choice) -> None:
        self.choice = choice
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if (
            not self.wrote
            and sql.lstrip()[:6].upper().startswith(_WRITES)
            and not any(table in sql[:120] for table in _not_read_back())
        ):
            self.wrote = True
            self.choice.alias = DEFAULT_DB_ALIAS
        return execute(sql, params, many, context)


class ReplicaReadsMiddleware:
    """Chooses per request where its reads go (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        position = self._position(request)
        choice = _Choice(
            position=-1 if position is None else position,
            alias=None if request.method in _SAFE else DEFAULT_DB_ALIAS,
        )
        token = _reads.set(choice)
        watch = _WriteWatch(choice)
        try:
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(watch):
                response = self.get_response(request)
        finally:
            _reads.reset(token)
        if watch.wrote:
            try:
                response.set_signed_cookie(
                    COOKIE, _wrote_position(), salt=_COOKIE_SALT, max_age=_COOKIE_AGE,
                    httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE,
                )  # fmt: skip
            except DatabaseError:
                # The write itself has been answered; without the position the next
                # reads of this user go to the replica as anyone's would.
                logger.exception("could not read the primary's WAL position after a write")
        elif COOKIE in request.COOKIES and (position is None or choice.alias == REPLICA):
            # Unreadable, or the replica has the write now: the cookie has done its work.
            response.delete_cookie(COOKIE, samesite="Lax")
        return response

    @staticmethod
    def _position(request) -> int | None:
        """The WAL position of the user's last write (0: none), None if unreadable."""
        raw = request.COOKIES.get(COOKIE)
        if not raw:
            return 0
        try:
            return lsn_value(
                request.get_signed_cookie(COOKIE, salt=_COOKIE_SALT, max_age=_COOKIE_AGE)
            )
        except (signing.BadSignature, ValueError):
            # Forged, expired or signed with an old key: this once read the primary.
            return None


class ReplicaRouter:
    """Django's side of the choice: reads where the request may read, writes on the primary."""

    def db_for_read(self, model, **hints):
        choice = _reads.get()
        if choice is None or model._meta.app_label in _PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return choice.resolve()

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica is a copy of the primary: rows of both relate freely.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
