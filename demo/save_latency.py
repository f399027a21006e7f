"""How long an operator's save takes to reach the dashboard's figures.

A save (`services.household_update`) commits, marks its village stale (database
triggers) and queues the incremental rollup; the worker (`manage.py db_worker`, which
must be running) recomputes the village's figures and map cells. Measured here: from the
start of the save to the moment the stored figure the dashboard reads has changed.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from households.models import Household, IndicatorValue
from households.services import household_update

INDICATOR = "tanpa_jamban"
NO_LATRINE = {
    "fasilitas_bab": 6, "jenis_kloset": None, "pembuangan_tinja": None,
    "tangki_septik_disedot": None,
}  # fmt: skip


class WorkerNotRunning(RuntimeError):
    pass


@dataclass
class SaveLatency:
    saves: list[float]  # seconds: save committed
    shown: list[float]  # seconds: figure changed

    @property
    def median(self) -> float:
        return statistics.median(self.shown)


def _figure(region: str):
    value = (
        IndicatorValue.objects.filter(indicator_id=INDICATOR, region_id=region)
        .order_by("-period")
        .values_list("numerator", flat=True)
        .first()
    )
    return value


def save_latency_measure(*, saves: int = 5, timeout: float = 60.0) -> SaveLatency:
    """Mark `saves` households with a latrine as having none, one at a time, and time
    each until the village's figure moves. Changes the data: run it on a demo database."""
    households = list(Household.objects.exclude(fasilitas_bab=6).order_by("id")[:saves])
    result = SaveLatency(saves=[], shown=[])
    for household in households:
        before = _figure(household.region_id)
        started = time.perf_counter()
        household_update(
            queryset=Household.objects.all(),
            pk=household.pk,
            changes=dict(NO_LATRINE),
            expected_version=household.versi,
        )
        result.saves.append(time.perf_counter() - started)
        while _figure(household.region_id) == before:
            if time.perf_counter() - started > timeout:
                raise WorkerNotRunning(
                    f"the figure did not change within {timeout:.0f} s: is db_worker running?"
                )
            time.sleep(0.05)
        result.shown.append(time.perf_counter() - started)
    return result
