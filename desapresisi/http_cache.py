"""HTTP validators for published data: ETag and Last-Modified derived from `DataVersion`.

A response's ETag is a hash of the data versions it was built from, the request (path,
query, representation, language) and the caller's scope (`scope_key`): two callers whose
answers may differ never share an ETag, so a browser that kept another account's body
(a shared computer, a logout) never gets a 304 for it. Only If-None-Match is honoured:
If-Modified-Since alone names no representation, and a date shared by every scope cannot
tell them apart.

The ETag names one answer, byte for byte (the 304 it earns is given to whoever presents
it), so the answer itself is also kept in the process by its ETag (`PublishedAnswers`): a
second request for the same figures under the same versions and scope costs the version
query and no build. Nothing stale can be served: a refresh or a boundary load bumps a
version, which changes every ETag built on it.

Responses carry `Cache-Control: private, no-cache`: a browser keeps them and asks again on
every use (a 304 costs one small query), a shared proxy keeps nothing, and
`Vary: Authorization, Cookie, Accept-Language` says what else changes the answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import get_language

from .access import area_codes_for, disclosure_for, role_of, suppression_for
from .models import DataVersion, data_version_bumped

VARY = ("Authorization", "Cookie", "Accept-Language")
CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True)
class Versions:
    key: str  # "figures:12@1764921600.5,regions:3@..."
    changed_at: dt.datetime | None


class _KeptVersions:
    """The versions this process read last, per set of names, with when it read them."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, ...], tuple[float, Versions]] = {}
        self._lock = threading.Lock()

    def get(self, names: tuple[str, ...], *, ttl: float) -> Versions | None:
        with self._lock:
            read_at, versions = self._kept.get(names, (-math.inf, None))
        return versions if time.monotonic() - read_at < ttl else None

    def put(self, names: tuple[str, ...], versions: Versions) -> None:
        with self._lock:
            self._kept[names] = (time.monotonic(), versions)

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._kept.clear()


VERSIONS = _KeptVersions()
# A bump made by this process (a refresh run in the web request, a sign-off) is seen at
# once; one made elsewhere (the worker's refresh, a boundary load) within the time to live.
data_version_bumped.connect(VERSIONS.clear, dispatch_uid="http-cache-versions")


def data_versions(*names: str) -> Versions:
    """The current versions of these kinds of data: read in one query, and kept in the
    process for DATA_VERSION_TTL_MS (a dashboard's dozen requests then cost none).
    Published figures are those of the last refresh anyway, which the worker runs after
    the writes: a few seconds behind them; this adds at most that time to live."""
    ttl = settings.DATA_VERSION_TTL_MS / 1000
    key = tuple(sorted(names))
    if ttl > 0:
        kept = VERSIONS.get(key, ttl=ttl)
        if kept is not None:
            return kept
    versions = _versions_read(key)
    if ttl > 0:
        VERSIONS.put(key, versions)
    return versions


def _versions_read(names: tuple[str, ...]) -> Versions:
    rows = sorted(
        DataVersion.objects.filter(name__in=names).values_list("name", "version", "changed_at")
    )
    # The time too: a version number comes back after a rolled-back bump, its time not.
    key = ",".join(f"{name}:{version}@{at.timestamp() if at else ''}" for name, version, at in rows)
    changed = max((at for _name, _version, at in rows), default=None)
    return Versions(key=key, changed_at=changed)


def scope_key(user) -> list:
    """What of the caller changes a published answer: role, areas, the public's
    suppression limit and the precision points are disclosed at."""
    codes = area_codes_for(user)
    return [
        role_of(user),
        None if codes is None else sorted(codes),
        suppression_for(user),
        disclosure_for(user, unmask_requested=False).coordinate_decimals,
    ]


def etag_for(*parts) -> str:
    """A strong ETag (quoted) of JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def request_etag(request: HttpRequest, versions: Versions, *, representation: str = "") -> str:
    """The ETag of a published answer to this request by this caller."""
    return etag_for(
        versions.key,
        request.path,
        sorted(request.GET.lists()),
        representation,
        get_language(),
        scope_key(request.user),
    )


def etag_matches(request: HttpRequest, etag: str) -> bool:
    """Whether If-None-Match names `etag` (weak comparison, as RFC 9110 asks for it)."""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def with_validators(
    response: HttpResponseBase, *, etag: str, last_modified: dt.datetime | None = None
) -> HttpResponseBase:
    """The response with its ETag, Last-Modified, Cache-Control and Vary."""
    response["ETag"] = etag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, VARY)
    return response


def not_modified(*, etag: str, last_modified: dt.datetime | None = None) -> HttpResponseBase:
    return with_validators(HttpResponseNotModified(), etag=etag, last_modified=last_modified)


class PublishedAnswers:
    """Answers (body and content type) by their ETag, the least recently used dropped
    first once they hold more than `limit` bytes of bodies. One per process; thread-safe."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> tuple[bytes, str] | None:
        with self._lock:
            item = self._items.get(etag)
            if item is not None:
                self._items.move_to_end(etag)
            return item

    def put(self, etag: str, content: bytes, content_type: str) -> None:
        if len(content) > self.limit // 4:
            return  # one answer never takes most of the room
        with self._lock:
            old = self._items.pop(etag, None)
            if old is not None:
                self.size -= len(old[0])
            self._items[etag] = (content, content_type)
            self.size += len(content)
            while self.size > self.limit:
                _etag, (dropped, _type) = self._items.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.size = 0


ANSWERS = PublishedAnswers(settings.PUBLISHED_ANSWERS_BYTES)


def _keep(etag: str, response: HttpResponseBase) -> None:
    """Keep a built answer: a complete 200 that is not an HTML page (the browsable API
    carries a CSRF token of its own)."""
    content_type = response.get("Content-Type", "")
    if (
        response.status_code == 200
        and not response.streaming
        and not content_type.startswith("text/html")
    ):
        ANSWERS.put(etag, response.content, content_type)


def conditional(
    request: HttpRequest, names: tuple[str, ...], build, *, representation: str = ""
) -> HttpResponseBase:
    """A 304 when the caller already holds this answer under the current versions of
    `names`; else the answer kept under the same ETag (`ANSWERS`), else `build()`, kept
    for the next request; with its validators."""
    versions = data_versions(*names)
    etag = request_etag(request, versions, representation=representation)
    if etag_matches(request, etag):
        return not_modified(etag=etag, last_modified=versions.changed_at)
    kept = ANSWERS.get(etag) if ANSWERS.limit else None
    if kept is not None:
        content, content_type = kept
        response = HttpResponse(content, content_type=content_type)
        return with_validators(response, etag=etag, last_modified=versions.changed_at)
    response = build()
    if ANSWERS.limit:
        if hasattr(response, "add_post_render_callback"):
            # A DRF Response (or a template response) is rendered after the view returns.
            response.add_post_render_callback(lambda rendered: _keep(etag, rendered))
        else:
            _keep(etag, response)
    return with_validators(response, etag=etag, last_modified=versions.changed_at)
