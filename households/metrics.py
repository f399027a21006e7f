"""The households app's figures for Prometheus, computed at scrape time from the database
(desapresisi.metrics.add_scrape_collector): how stale the rollup is. Counts only, by no
area smaller than the whole portal: nothing personal."""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from .models import DirtyRegion


def rollup_metrics():
    stale = DirtyRegion.objects.aggregate(n=Count("region"), oldest=Min("marked_at"))
    villages = GaugeMetricFamily(
        "desapresisi_rollup_stale_villages",
        "Villages whose figures wait for the incremental rollup.",
    )
    villages.add_metric([], stale["n"])
    age = GaugeMetricFamily(
        "desapresisi_rollup_staleness_seconds",
        "Time since the oldest stale village was marked (0 when the rollup is current).",
    )
    oldest = stale["oldest"]
    age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
    yield villages
    yield age
