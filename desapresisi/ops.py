"""Endpoints for the people who run the portal: health for the proxy and the monitor,
metrics for Prometheus. Neither holds personal data."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .health import health_report


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Every check with its figures: 200 when all hold, 503 when one fails, so a monitor
    (or the proxy) needs only the status code."""
    report = health_report()
    return JsonResponse(report, status=200 if report["healthy"] else 503)


@never_cache
@require_safe
def live(request: HttpRequest) -> HttpResponse:
    """The web process answers (no database call): for systemd and the proxy."""
    return HttpResponse("ok\n", content_type="text/plain")
