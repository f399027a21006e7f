"""The demo programmes: three synthetic programmes with interventions in every state,
written through the real services, replaced on a rerun and by a new census."""

import pytest
from django.db.models import F

from demo.generator import households_generate, programmes_generate
from programmes.models import Intervention, InterventionEvent, Programme, ProgrammeVillageStat

pytestmark = pytest.mark.django_db


def test_three_labelled_programmes_in_every_state_and_replaced_on_rerun():
    households_generate(region_code="64.09", households=3000, seed=7)
    result = programmes_generate(region_code="64.09", year=2026, seed=1)
    programmes = Programme.objects.order_by("code")
    assert {p.skpd.code for p in programmes} == {"disdik", "dinkes", "perkim"}
    assert all(p.synthetic for p in programmes) and result.programmes == 3
    statuses = set(Intervention.objects.values_list("status", flat=True))
    assert statuses == {
        "diusulkan", "disetujui", "dikerjakan", "selesai", "terverifikasi", "ditolak", "batal"
    }  # fmt: skip
    assert not Intervention.objects.filter(verified_by=F("done_by")).exists()
    assert Intervention.objects.filter(programme__unit="member", member__isnull=True).count() == 0
    assert ProgrammeVillageStat.objects.exists()
    first = Intervention.objects.count()
    assert first == result.interventions
    programmes_generate(region_code="64.09", year=2026, seed=1)
    assert Programme.objects.count() == 3 and Intervention.objects.count() == first
    # A new census removes the demo work on the households it replaces.
    households_generate(region_code="64.09", households=500, seed=8)
    assert not Intervention.objects.exists() and not InterventionEvent.objects.exists()
