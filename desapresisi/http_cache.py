"""HTTP validators for published data: ETag and Last-Modified derived from `DataVersion`.

A response's ETag is a hash of the data versions it was built from, the request (path,
query, representation, language) and the caller's scope (`scope_key`): two callers whose
answers may differ never share an ETag, so a browser that kept another account's body
(a shared computer, a logout) never gets a 304 for it. Only If-None-Match is honoured:
If-Modified-Since alone names no representation, and a date shared by every scope cannot
tell them apart.

Responses carry `Cache-Control: private, no-cache`: a browser keeps them and asks again on
every use (a 304 costs one small query), a shared proxy keeps nothing, and
`Vary: Authorization, Cookie, Accept-Language` says what else changes the answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import get_language

from .access import area_codes_for, disclosure_for, role_of, suppression_for
from .models import DataVersion

VARY = ("Authorization", "Cookie", "Accept-Language")
CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True)
class Versions:
    key: str  # "figures:12,regions:3"
    changed_at: dt.datetime | None


def data_versions(*names: str) -> Versions:
    """The current versions of these kinds of data, in one query."""
    rows = sorted(
        DataVersion.objects.filter(name__in=names).values_list("name", "version", "changed_at")
    )
    key = ",".join(f"{name}:{version}" for name, version, _at in rows)
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


def conditional(
    request: HttpRequest, names: tuple[str, ...], build, *, representation: str = ""
) -> HttpResponseBase:
    """A 304 when the caller already holds this answer under the current versions of
    `names`, else `build()` with its validators."""
    versions = data_versions(*names)
    etag = request_etag(request, versions, representation=representation)
    if etag_matches(request, etag):
        return not_modified(etag=etag, last_modified=versions.changed_at)
    return with_validators(build(), etag=etag, last_modified=versions.changed_at)
