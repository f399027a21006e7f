"""The save-to-dashboard measurement times a real save and the figure it moves."""

import io

import pytest
from django.core.management import call_command
from django.db import transaction

from demo.save_latency import WorkerNotRunning, save_latency_measure
from households.indicators.rollup import indicators_refresh
from households.models import Household, Member, MemberStatus
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory
from villages.models import Region


def _regions() -> None:
    # A transactional test empties every table when it ends, the regions too.
    if not Region.objects.filter(code=PENAJAM_KELURAHAN).exists():
        call_command("load_regions", scope="ppu", verbosity=0, stdout=io.StringIO())


@pytest.fixture
def village(transactional_db):
    """Real commits: the save's refresh is queued at the commit, as in production."""
    _regions()
    with transaction.atomic():  # the one-head rule is checked at commit
        HouseholdFactory.create_batch(3, region_id=PENAJAM_KELURAHAN, fasilitas_bab=1)
    indicators_refresh(full=True)
    yield
    _regions()


def test_each_save_is_timed_until_the_figure_moves(village, settings):
    # The immediate backend runs the queued rollup at the commit, as a worker would.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    result = save_latency_measure(saves=2, timeout=10)
    assert len(result.shown) == 2 and all(s >= 0 for s in result.shown)
    assert Household.objects.filter(fasilitas_bab=6).count() == 2


def test_a_death_is_timed_until_the_population_figure_moves(village, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with transaction.atomic():
        for household in Household.objects.all():
            MemberFactory(household=household)
    indicators_refresh(full=True)
    result = save_latency_measure(saves=2, timeout=10, kind="death")
    assert len(result.shown) == 2
    assert Member.objects.filter(status_anggota=MemberStatus.DIED).count() == 2


def test_without_a_worker_the_measurement_says_so(village, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with pytest.raises(WorkerNotRunning):
        save_latency_measure(saves=1, timeout=0.5)
