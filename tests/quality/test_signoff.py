"""Village sign-off: the state machine, who may take each step, the audit of every step,
and the lock an approval puts on the village's records (services and the census import)
until a verifier reopens it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from desapresisi.errors import InvalidInput, NotAllowed, NotReady
from households.models import Household, RoundSource, SurveyRound
from households.services import household_update
from quality.models import SignOff, SignOffEvent, SignOffStatus
from quality.services import signoff_step
from tests.conftest import make_user
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory
from tests.households.census_import.test_import import family, run

pytestmark = pytest.mark.django_db

A = PENAJAM_KELURAHAN


@pytest.fixture
def open_round():
    return SurveyRound.objects.create(
        code="2025-pendataan",
        name="Pendataan 2025",
        source=RoundSource.CENSUS,
        reference_date=dt.date(2025, 10, 1),
    )


def step(user, action, note="", code=A):
    return signoff_step(user=user, region_code=code, action=action, note=note)


def test_submit_approve_reopen_and_submit_again(personas, open_round):
    operator, official = personas["operator_a"], personas["official"]
    assert step(operator, "ajukan").status == SignOffStatus.SUBMITTED
    approved = step(official, "setujui")
    assert approved.status == SignOffStatus.APPROVED
    assert approved.approved_by == official and approved.approved_at is not None
    reopened = step(official, "buka_kembali", note="Koreksi NIK")
    assert reopened.status == SignOffStatus.REOPENED and reopened.approved_at is None
    assert step(operator, "ajukan").status == SignOffStatus.SUBMITTED
    events = SignOffEvent.objects.filter(signoff=reopened).values_list(
        "action", "from_status", "to_status", "actor__username", "note"
    )
    assert list(events) == [
        ("ajukan", "", "diajukan", "operator-a", ""),
        ("setujui", "diajukan", "disetujui", "pejabat-uji", ""),
        ("buka_kembali", "disetujui", "dibuka_kembali", "pejabat-uji", "Koreksi NIK"),
        ("ajukan", "dibuka_kembali", "diajukan", "operator-a", ""),
    ]


def test_return_needs_a_note_and_leads_back_to_the_operator(personas, open_round):
    step(personas["operator_a"], "ajukan")
    with pytest.raises(InvalidInput):
        step(personas["official"], "kembalikan")
    returned = step(personas["official"], "kembalikan", note="Titik GPS bertumpuk")
    assert returned.status == SignOffStatus.RETURNED and returned.note == "Titik GPS bertumpuk"
    assert step(personas["operator_a"], "ajukan").status == SignOffStatus.SUBMITTED


@pytest.mark.parametrize(
    ("action", "start"),
    [("setujui", None), ("kembalikan", None), ("buka_kembali", "diajukan"), ("ajukan", "diajukan")],
)
def test_a_step_that_does_not_follow_is_refused(personas, open_round, action, start):
    if start:
        step(personas["operator_a"], "ajukan")
    with pytest.raises(NotReady):
        step(personas["admin"], action, note="catatan")


def test_who_may_take_each_step(personas, open_round):
    # Only the village's own operator (or an administrator) submits.
    for name in ("operator_b", "official", "analyst", "norole"):
        with pytest.raises(NotAllowed):
            step(personas[name], "ajukan")
    step(personas["operator_a"], "ajukan")
    # Verifiers: officials at kecamatan or kabupaten level over the village, administrators.
    for name in ("operator_a", "operator_b", "analyst", "analyst_waru", "norole"):
        with pytest.raises(NotAllowed):
            step(personas[name], "setujui")
    other_kecamatan = make_user("camat-babulu", role="pejabat", areas=["64.09.03"])
    with pytest.raises(NotAllowed):
        step(other_kecamatan, "setujui")
    own_kecamatan = make_user("camat-penajam", role="pejabat", areas=["64.09.01"])
    assert step(own_kecamatan, "setujui").status == SignOffStatus.APPROVED


def test_without_an_open_round_nothing_can_be_submitted(personas):
    with pytest.raises(NotReady):
        step(personas["operator_a"], "ajukan")


def test_an_approved_village_changes_only_after_reopening(personas, open_round):
    household = HouseholdFactory(region_id=A)
    other = HouseholdFactory(region_id=BABULU_DESA)
    step(personas["operator_a"], "ajukan")
    step(personas["official"], "setujui")
    with pytest.raises(ValidationError) as refused:
        household_update(
            queryset=Household.objects.all(),
            pk=household.pk,
            changes={"lantai": 8},
            expected_version=household.versi,
        )
    assert A in str(refused.value) and "Tanjung Tengah" in str(refused.value)
    # Another village is not locked.
    household_update(
        queryset=Household.objects.all(),
        pk=other.pk,
        changes={"lantai": 8},
        expected_version=other.versi,
    )
    step(personas["official"], "buka_kembali", note="Perbaikan lantai")
    household.refresh_from_db()
    household_update(
        queryset=Household.objects.all(),
        pk=household.pk,
        changes={"lantai": 8},
        expected_version=household.versi,
    )
    assert Household.objects.get(pk=household.pk).lantai == 8


def test_the_census_import_names_the_approved_village(personas, open_round):
    step(personas["operator_a"], "ajukan")
    step(personas["official"], "setujui")
    result = run(*family(), user=personas["operator_a"])
    refused = [e for e in result.errors if e.column == "kode_desa"]
    assert refused and A in str(refused[0].message)
    assert Household.objects.count() == 0


def test_a_closed_round_locks_nothing(personas, open_round):
    step(personas["operator_a"], "ajukan")
    step(personas["official"], "setujui")
    SurveyRound.objects.filter(pk=open_round.pk).update(
        status="ditutup", closed_at=dt.datetime.now(dt.UTC)
    )
    assert SignOff.objects.get().status == SignOffStatus.APPROVED
    # Imports need an open round: the next one. The closed round's approval locks nothing in it.
    SurveyRound.objects.create(
        code="2026-pemutakhiran",
        name="Pemutakhiran 2026",
        source=RoundSource.UPDATE,
        reference_date=dt.date(2026, 10, 1),
    )
    result = run(*family(), user=personas["operator_a"])
    assert not result.errors
