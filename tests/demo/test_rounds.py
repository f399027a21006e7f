"""The demo's two synthetic rounds: the census as the closed 2024 baseline, an open 2025
update whose improvement is concentrated in the households the programme treated."""

import pytest

from demo.generator import households_generate, programmes_generate
from demo.rounds import BASELINE, UPDATE, rounds_generate, rounds_remove
from households.models import (
    Household,
    HouseholdObservation,
    IndicatorValue,
    Member,
    SurveyRound,
)
from households.rules import birth_date_problem, member_identity_problems
from programmes.models import Intervention

pytestmark = pytest.mark.django_db


def test_two_labelled_rounds_with_change_concentrated_in_treated_households():
    households_generate(region_code="64.09", households=1500, seed=5)
    programmes_generate(region_code="64.09", year=2026, seed=5)
    result = rounds_generate(region_code="64.09", seed=5)
    baseline, update = SurveyRound.objects.order_by("reference_date")
    assert (baseline.code, baseline.status, update.code, update.status) == (
        BASELINE, "ditutup", UPDATE, "terbuka",
    )  # fmt: skip
    assert "sintetis" in baseline.name and "sintetis" in update.name
    assert HouseholdObservation.objects.filter(survey_round=baseline).count() == 1500
    # The baseline was surveyed within its own fieldwork, before the update's.
    dates = {
        o.answers["tanggal_survei"]
        for o in HouseholdObservation.objects.filter(survey_round=baseline)
    }
    assert min(dates) >= str(baseline.fieldwork_start) and max(dates) <= str(baseline.fieldwork_end)
    assert max(dates) < str(update.fieldwork_start)
    for change in ("latrines_built", "backsliding", "births", "deaths", "moves"):
        assert result.changed[change] > 0, change
    assert Household.objects.filter(survey_round=update).count() == 1500
    # The update's babies were born after their household's baseline survey and by its
    # re-survey, so the importer's rules accept an export of the update (birth up to the
    # survey date, NIK agreeing with the birth date and sex).
    babies = Member.objects.filter(nama__startswith="Bayi sintetis").select_related("household")
    assert babies.count() == result.changed["births"]
    baseline_dates = {
        o.household_id: o.answers["tanggal_survei"]
        for o in HouseholdObservation.objects.filter(survey_round=baseline)
    }
    for baby in babies:
        assert str(baby.tanggal_lahir) > baseline_dates[baby.household_id]
        latest = baby.household.tanggal_survei
        assert birth_date_problem(baby.tanggal_lahir, latest=latest) is None, baby.pk
        assert not member_identity_problems(
            nik=baby.nik, birth=baby.tanggal_lahir, sex=baby.jenis_kelamin
        ), baby.pk
    everyone = Member.objects.filter(household__survey_round=update, status_anggota=1)
    assert not [
        m.pk
        for m in everyone.select_related("household")
        if birth_date_problem(m.tanggal_lahir, latest=m.household.tanggal_survei)
    ]
    # Among households without a latrine in 2024: treated ones gained one far more often.
    treated = set(
        Intervention.objects.filter(
            programme__indicator_id="tanpa_jamban", status__in=["selesai", "terverifikasi"]
        ).values_list("household_id", flat=True)
    )
    without = {
        o.household_id
        for o in HouseholdObservation.objects.filter(survey_round=baseline)
        if o.answers["fasilitas_bab"] in (5, 6)
    }
    now_with = set(
        Household.objects.filter(pk__in=without, fasilitas_bab__in=[1, 2, 3]).values_list(
            "pk", flat=True
        )
    )

    def rate(group):
        return len(group & now_with) / len(group) if group else 0

    assert rate(without & treated) > 3 * rate(without - treated)
    assert IndicatorValue.objects.filter(period=BASELINE).exists()
    assert IndicatorValue.objects.filter(period=UPDATE).exists()
    with pytest.raises(ValueError):
        rounds_generate(region_code="64.09", seed=5)
    assert rounds_remove(refresh=True) == 2
    assert not SurveyRound.objects.exists() and not HouseholdObservation.objects.exists()
    assert not IndicatorValue.objects.filter(period__in=[BASELINE, UPDATE]).exists()
