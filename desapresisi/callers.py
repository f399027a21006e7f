"""Who a credential belongs to, trusted in the process for a moment (ACCESS_TTL_MS).

Every request names its caller by a session cookie or an API token; finding the account,
and its access profile, costs two or three queries: more than the rest of a kept answer or
a cached tile (docs/benchmark.md, 2026-12-07). A process keeps what it read last for each
credential, for ACCESS_TTL_MS (1 s by default; 0 reads every request), the same trust
as the data versions (DATA_VERSION_TTL_MS).

What that trust means: a change made by this process (a password, a role, an area, a
deactivation, a deleted token, a logout) is seen by its next request at once, because
saving or deleting an account, a profile, a token or a session forgets everything kept
(the signals below); one made by another process (another gunicorn worker, the admin on
another server, a bulk `update()`) is seen within the time to live. A stolen cookie stops
working there when its session is deleted, within the same time. Credentials are kept by
a hash, never as given, and the account handed to each request is its own copy.
"""

from __future__ import annotations

import copy
import hashlib
import math
import threading
import time
from collections import OrderedDict

from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.models import Session
from django.db.models.signals import post_delete, post_save
from django.utils.functional import SimpleLazyObject
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from .access import profile_of
from .models import AccessProfile

# Enough for every account that is active at once; the least recently used go first.
MOST_KEPT = 10_000


class KeptCallers:
    """(account, credential object) by a hash of the credential, with when it was read."""

    def __init__(self, limit: int = MOST_KEPT) -> None:
        self.limit = limit
        self._kept: OrderedDict[str, tuple[float, object, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, *, ttl: float) -> tuple[object, object] | None:
        with self._lock:
            read_at, user, auth = self._kept.get(key, (-math.inf, None, None))
            if time.monotonic() - read_at >= ttl:
                return None
            self._kept.move_to_end(key)
        # Each request its own account object: a view that sets an attribute on it (or
        # Django's own caches of related objects) never reaches another request.
        return copy.copy(user), auth

    def put(self, key: str, user, auth=None) -> None:
        with self._lock:
            self._kept.pop(key, None)
            self._kept[key] = (time.monotonic(), copy.copy(user), auth)
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)


CALLERS = KeptCallers()


def _ttl() -> float:
    return settings.ACCESS_TTL_MS / 1000


def _key(kind: str, credential: str) -> str:
    return hashlib.sha256(f"{kind}\0{credential}".encode()).hexdigest()


def _read(user):
    """The account with its access profile read (what every permission asks next)."""
    profile_of(user)
    return user


def _session_user(request, key: str, ttl: float):
    kept = CALLERS.get(key, ttl=ttl)
    if kept is not None:
        return kept[0]
    user = get_user(request)
    if user.is_authenticated:
        CALLERS.put(key, _read(user))
    return user


class KeptAuthenticationMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with the account of a session cookie kept
    (`CALLERS`): a request whose cookie was read a moment ago reads neither the session
    nor the account. The session itself stays lazy, read when something asks for it."""

    def process_request(self, request):
        super().process_request(request)
        ttl = _ttl()
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if ttl <= 0 or not cookie:
            return
        key = _key("session", cookie)
        request.user = SimpleLazyObject(lambda: _session_user(request, key, ttl))


class KeptTokenAuthentication(TokenAuthentication):
    """DRF's token authentication (`Authorization: Token <key>`), with the account of a
    token read a moment ago kept (`CALLERS`). A wrong or inactive token is never kept: it
    fails as DRF fails it, every time."""

    def authenticate_credentials(self, key):
        ttl = _ttl()
        if ttl <= 0:
            return super().authenticate_credentials(key)
        kept_key = _key("token", key)
        kept = CALLERS.get(kept_key, ttl=ttl)
        if kept is not None:
            return kept
        user, token = super().authenticate_credentials(key)
        CALLERS.put(kept_key, _read(user), token)
        return user, token


def forget_callers(**kwargs) -> None:
    """A saved or deleted account, profile, token or session: forget every kept caller."""
    CALLERS.clear()


def connect_signals() -> None:
    for model in (get_user_model(), AccessProfile, Token, Session):
        for signal in (post_save, post_delete):
            signal.connect(forget_callers, sender=model, dispatch_uid=f"callers-{model.__name__}")
