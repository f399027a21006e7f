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

from django.utils import timezone

from households.models import CURRENT_MEMBER, Household, IndicatorValue, Member
from households.selectors import latest_period
from households.services import household_update, member_event_record

INDICATOR = "tanpa_jamban"
# A death (the life-event form's service) moves the village's population figure.
DEATH_INDICATOR = "jumlah_jiwa"
KINDS = ("edit", "death")
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


def _figure(region: str, indicator: str = INDICATOR):
    value = (
        IndicatorValue.objects.filter(
            indicator_id=indicator, region_id=region, period=latest_period()
        )
        .values_list("numerator", flat=True)
        .first()
    )
    return value


def _save(kind: str, household: Household) -> None:
    """One operator's save of `kind`: an edit of the household's answers (the edit form)
    or the death of one of its current members who is not the head (the event form)."""
    if kind == "edit":
        household_update(
            queryset=Household.objects.all(),
            pk=household.pk,
            changes=dict(NO_LATRINE),
            expected_version=household.versi,
        )
        return
    member = household.members.filter(CURRENT_MEMBER).exclude(hubungan_keluarga=1).first()
    member_event_record(
        queryset=Member.objects.all(),
        pk=member.pk,
        kind="meninggal",
        date=timezone.localdate(),
        expected_version=member.versi,
    )


def save_latency_measure(
    *, saves: int = 5, timeout: float = 60.0, kind: str = "edit"
) -> SaveLatency:
    """Make `saves` saves of `kind` ("edit": mark a household with a latrine as having
    none; "death": record the death of a member who is not the head), one at a time, and
    time each until the village's figure moves. Changes the data: run it on a demo
    database."""
    if kind == "edit":
        households = list(Household.objects.exclude(fasilitas_bab=6).order_by("id")[:saves])
        indicator = INDICATOR
    else:
        households = list(Household.objects.filter(jumlah_anggota__gte=2).order_by("id")[:saves])
        indicator = DEATH_INDICATOR
    result = SaveLatency(saves=[], shown=[])
    for household in households:
        before = _figure(household.region_id, indicator)
        started = time.perf_counter()
        _save(kind, household)
        result.saves.append(time.perf_counter() - started)
        while _figure(household.region_id, indicator) == before:
            if time.perf_counter() - started > timeout:
                raise WorkerNotRunning(
                    f"the figure did not change within {timeout:.0f} s: is db_worker running?"
                )
            time.sleep(0.05)
        result.shown.append(time.perf_counter() - started)
    return result
