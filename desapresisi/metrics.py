"""Prometheus metrics (prometheus-client): request latency by route, background task
durations and failures, and whatever the domain apps add at scrape time (the households
app adds rollup freshness).

Routes are labelled by their URL pattern (`api/v1/households/<int:pk>/`), never by the
path itself, so no identifier or search term reaches a label and the number of series stays
bounded. Under gunicorn with several workers, set PROMETHEUS_MULTIPROC_DIR (an empty
directory, cleared at start-up: the systemd unit does it) and every worker's figures are
summed at scrape time.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Count, F, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REQUEST_SECONDS = Histogram(
    "desapresisi_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
_scrape_collectors: list[Callable[[], Iterable]] = []


def add_scrape_collector(collect: Callable[[], Iterable]) -> None:
    """Register a function yielding metric families computed when Prometheus scrapes
    (figures read from the database, the same for every web worker)."""
    if collect not in _scrape_collectors:
        _scrape_collectors.append(collect)


def _route(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    if not match.route:
        return match.view_name or "unmatched"
    # `^api/(?P<version>v1)/households/<int:pk>/` -> `api/<version>/households/<int:pk>/`
    return _GROUP.sub(r"<\g<name>>", match.route).replace("^", "").replace("$", "")


class MetricsMiddleware:
    """Times every request; first in the chain so the time includes every middleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        start = time.perf_counter()
        response = self.get_response(request)
        REQUEST_SECONDS.labels(
            route=_route(request),
            method=request.method if request.method in _METHODS else "other",
            status=f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - start)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class _TaskCollector(Collector):
    """Background tasks from django-tasks-db's table: how many finished, failed and wait,
    and how long the finished ones ran, per task, over METRICS_TASK_WINDOW_HOURS."""

    def collect(self):
        since = timezone.now() - timedelta(hours=settings.METRICS_TASK_WINDOW_HOURS)
        finished = GaugeMetricFamily(
            "desapresisi_tasks_finished",
            "Background tasks finished in the window, by task and outcome.",
            labels=["task", "outcome"],
        )
        seconds = GaugeMetricFamily(
            "desapresisi_tasks_duration_seconds_sum",
            "Total run time of the tasks finished in the window, by task and outcome.",
            labels=["task", "outcome"],
        )
        rows = (
            DBTaskResult.objects.filter(
                finished_at__gte=since,
                status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
            )
            .values("task_path", "status")
            .annotate(n=Count("id"), total=Sum(F("finished_at") - F("started_at")))
        )
        for row in rows:
            labels = [row["task_path"].rsplit(".", 1)[-1], row["status"].lower()]
            finished.add_metric(labels, row["n"])
            total = row["total"]
            seconds.add_metric(labels, total.total_seconds() if total else 0.0)
        waiting = GaugeMetricFamily(
            "desapresisi_tasks_waiting", "Background tasks waiting for a worker."
        )
        waiting.add_metric([], DBTaskResult.objects.filter(status=TaskResultStatus.READY).count())
        yield from (finished, seconds, waiting)


class _ScrapeCollector(Collector):
    def collect(self):
        for collect in list(_scrape_collectors):
            yield from collect()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUEST_SECONDS,):
            registry.register(collector)
    registry.register(_TaskCollector())
    registry.register(_ScrapeCollector())
    return registry


def _loopback(request: HttpRequest) -> bool:
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _allowed(request: HttpRequest) -> bool:
    """With METRICS_TOKEN_FILE set, the scraper sends `Authorization: Bearer <token>`.
    Without it, only a direct loopback call (no proxy in between) may read metrics."""
    token_file = settings.METRICS_TOKEN_FILE
    if token_file:
        expected = Path(token_file).read_text().strip()
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return bool(expected) and secrets.compare_digest(sent, expected)
    return _loopback(request) and "X-Forwarded-For" not in request.headers


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text exposition; for everyone not allowed, the URL does not exist."""
    if not _allowed(request):
        raise Http404
    response = HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
