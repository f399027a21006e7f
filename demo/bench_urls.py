"""The benchmark's URLconf: the portal's own URLs plus the framework floor.

The benchmark starts gunicorn with `demo.bench_settings` (ROOT_URLCONF = this module), so
production has no such URL. The floor view answers with bytes the benchmark stored
beforehand (the body of a real response): the cost of Django, its middleware and
gunicorn returning those bytes, without the endpoint's work. Its bodies live in
`FLOOR_ROOT/<run>/<key>` and are kept in memory after the first read.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import re_path

from desapresisi import urls as portal

FLOOR_ROOT = settings.BASE_DIR / ".local" / "bench-floor"
CONTENT_TYPES = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "pbf": "application/vnd.mapbox-vector-tile",
    "html": "text/html; charset=utf-8",
}
_bodies: dict[tuple[str, str], bytes] = {}


def floor(request, run: str, key: str, suffix: str) -> HttpResponse:
    name = f"{key}.{suffix}"
    body = _bodies.get((run, name))
    if body is None:
        try:
            body = (FLOOR_ROOT / run / name).read_bytes()
        except OSError as exc:
            raise Http404(name) from exc
        _bodies[(run, name)] = body
    return HttpResponse(body, content_type=CONTENT_TYPES[suffix])


urlpatterns = [
    re_path(
        r"^__bench__/floor/(?P<run>[\w-]+)/(?P<key>[\w-]+)\.(?P<suffix>json|geojson|pbf|html)$",
        floor,
        name="bench-floor",
    ),
    *portal.urlpatterns,
]

handler404 = portal.handler404
handler500 = portal.handler500
