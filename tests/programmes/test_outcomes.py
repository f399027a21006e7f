"""Programme outcomes between survey rounds (issue 15): for the households of a target
list, the indicator in the round before and after, treated against targeted but not yet
treated, per village; equal to a plain recount, and suppressed for the public."""

from __future__ import annotations

import datetime as dt

import pytest

from households.models import Household, RoundSource
from households.rounds import round_close, round_open
from households.services import household_update
from programmes.models import Intervention
from programmes.selectors import programme_outcomes
from programmes.services import target_list_freeze
from tests.conftest import make_user
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, ProgrammeFactory

pytestmark = pytest.mark.django_db

NO_LATRINE = {"fasilitas_bab": 6, "jenis_kloset": None, "pembuangan_tinja": None}
LATRINE = {"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 1}


def test_outcomes_compare_treated_with_not_yet_treated_targets(settings):
    settings.SMALL_CELL_THRESHOLD = 3
    admin = make_user("admin-hasil", is_staff=True, is_superuser=True)
    first = round_open(
        code="2024-uji", name="2024", source=RoundSource.CENSUS,
        reference_date=dt.date(2024, 6, 30),
    )  # fmt: skip
    targets = HouseholdFactory.create_batch(10, **NO_LATRINE)
    HouseholdFactory.create_batch(5, **LATRINE)  # not targets: never counted
    programme = ProgrammeFactory()
    target_list_freeze(
        actor=admin, programme=programme,
        households=Household.objects.filter(pk__in=[h.pk for h in targets]), criteria={},
    )  # fmt: skip
    treated = targets[:6]
    Intervention.objects.filter(programme=programme, household__in=treated[:3]).update(
        status="selesai"
    )
    Intervention.objects.filter(programme=programme, household__in=treated[3:]).update(
        status="terverifikasi"
    )
    round_close(survey_round=first)
    second = round_open(
        code="2025-uji", name="2025", source=RoundSource.UPDATE,
        reference_date=dt.date(2025, 6, 30),
    )  # fmt: skip
    # Five of six treated households built a latrine; one of four others did.
    for household in [*treated[:5], targets[6]]:
        household.refresh_from_db()
        household_update(
            queryset=Household.objects.all(), pk=household.pk, changes=dict(LATRINE),
            expected_version=household.versi,
        )  # fmt: skip
    # The page compares closed rounds only: nothing yet.
    assert programme_outcomes(None, programme, closed_only=True)["villages"] == []
    answer = programme_outcomes(None, programme)  # the API: the open round too
    assert (answer["from_period"], answer["to_period"]) == (first.code, second.code)
    village = answer["villages"][0]
    assert village["region"] == PENAJAM_KELURAHAN
    assert village["treated"]["households"] == 6
    assert village["treated"]["before"] == pytest.approx(100)
    assert village["treated"]["after"] == pytest.approx(100 / 6)
    assert village["not_yet"]["households"] == 4
    assert village["not_yet"]["after"] == pytest.approx(75)
    assert answer["totals"]["treated"]["change"] == pytest.approx(100 / 6 - 100)
    round_close(survey_round=second)
    closed = programme_outcomes(None, programme, closed_only=True)
    assert closed["villages"][0]["treated"] == village["treated"]
    # For the public, a cell of 1..3 households is hidden whole (4 and 6 are shown).
    public = programme_outcomes(None, programme, from_period=first.code, to_period=second.code)
    Intervention.objects.filter(programme=programme, household__in=treated[3:]).update(
        status="dikerjakan"
    )
    small = programme_outcomes(None, programme, from_period=first.code, to_period=second.code)
    assert public["villages"][0]["treated"]["suppressed"] is False
    assert small["villages"][0]["treated"] == {
        "households": None, "before": None, "after": None, "change": None, "suppressed": True,
    }  # fmt: skip
