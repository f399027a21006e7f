"""The lock an approved sign-off puts on a village's records, on the paths that bypass
the edit forms: the Django admin (household, member, the members inline, deletes) and a
move in that takes over a member row from another village (both villages are written)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.test import RequestFactory

from households.models import Household, Member, MemberStatus, RoundSource, SurveyRound
from households.selectors import households_for
from households.services import member_event_record, member_move_in_record
from quality.services import signoff_step
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

A, B = PENAJAM_KELURAHAN, BABULU_DESA


@pytest.fixture
def open_round():
    return SurveyRound.objects.create(
        code="2025-pendataan",
        name="Pendataan 2025",
        source=RoundSource.CENSUS,
        reference_date=dt.date(2025, 10, 1),
    )


def approve(personas, code):
    operator = personas["operator_a" if code == A else "operator_b"]
    signoff_step(user=operator, region_code=code, action="ajukan")
    signoff_step(user=personas["official"], region_code=code, action="setujui")


def reopen(personas, code):
    signoff_step(user=personas["official"], region_code=code, action="buka_kembali", note="Koreksi")


def admin_form(model, obj, request, **changes):
    """The admin's change form for `obj` (or its add form for obj=None) filled with the
    record's own values and `changes`, validated."""
    model_admin = admin.site._registry[model]
    if obj is not None:  # fresh: a validated form changes its instance, valid or not
        obj = model.objects.get(pk=obj.pk)
    form_class = model_admin.get_form(request, obj, change=obj is not None)
    data = {} if obj is None else model_to_dict(obj, fields=form_class.base_fields)
    data = {key: ("" if value is None else value) for key, value in data.items()}
    if data.get("lokasi"):
        data["lokasi"] = data["lokasi"].geojson
    data.update(changes)
    return form_class(data=data, instance=obj)


@pytest.fixture
def admin_request(personas):
    request = RequestFactory().post("/admin/")
    request.user = personas["admin"]
    return request


def test_the_admin_refuses_a_household_save_in_an_approved_village(
    personas, open_round, admin_request
):
    household = HouseholdFactory(region_id=A)
    other = HouseholdFactory(region_id=B)
    form = admin_form(Household, household, admin_request, lantai=8)
    assert form.is_valid(), form.errors
    approve(personas, A)
    form = admin_form(Household, household, admin_request, lantai=8)
    assert not form.is_valid()
    (message,) = form.non_field_errors()
    assert A in message and "Tanjung Tengah" in message and "2025-pendataan" in message
    # Moving a household of another village INTO the approved one is refused too.
    form = admin_form(Household, other, admin_request, region=A)
    assert not form.is_valid() and A in form.non_field_errors()[0]
    # Another village is not locked.
    assert admin_form(Household, other, admin_request, lantai=8).is_valid()
    reopen(personas, A)
    form = admin_form(Household, household, admin_request, lantai=8)
    assert form.is_valid(), form.errors


def test_the_admin_refuses_a_member_save_or_move_touching_an_approved_village(
    personas, open_round, admin_request
):
    member = MemberFactory(household=HouseholdFactory(region_id=B))
    target_in_a = HouseholdFactory(region_id=A)
    approve(personas, A)
    # The member's own village is open, but the household it would move to is approved.
    form = admin_form(Member, member, admin_request, household=target_in_a.pk)
    assert not form.is_valid() and A in form.non_field_errors()[0]
    assert admin_form(Member, member, admin_request, nama="Nama Baru").is_valid()
    # Approving its own village locks its edits as well.
    approve(personas, B)
    form = admin_form(Member, member, admin_request, nama="Nama Baru")
    assert not form.is_valid() and B in form.non_field_errors()[0]
    reopen(personas, B)
    assert admin_form(Member, member, admin_request, nama="Nama Baru").is_valid()


def test_the_admin_delete_of_an_approved_villages_record_is_protected(
    personas, open_round, admin_request
):
    household = HouseholdFactory(region_id=A)
    member = MemberFactory(household=household)
    for model, obj in ((Household, household), (Member, member)):
        model_admin = admin.site._registry[model]
        *_, protected = model_admin.get_deleted_objects([obj], admin_request)
        assert not protected
    approve(personas, A)
    for model, obj in ((Household, household), (Member, member)):
        model_admin = admin.site._registry[model]
        *_, protected = model_admin.get_deleted_objects([obj], admin_request)
        assert len(protected) == 1 and A in str(protected[0])


def test_the_admin_delete_view_deletes_nothing_while_approved(personas, open_round, client):
    household = HouseholdFactory(region_id=A)
    approve(personas, A)
    client.force_login(personas["admin"])
    url = f"/admin/households/household/{household.pk}/delete/"
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 200 and A in response.content.decode()
    assert Household.objects.filter(pk=household.pk).exists()
    reopen(personas, A)
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Household.objects.filter(pk=household.pk).exists()


def moved_out_from_b():
    origin = HouseholdFactory(region_id=B)
    daughter = MemberFactory(household=origin, jenis_kelamin=2, tanggal_lahir=dt.date(1990, 4, 12))
    member_event_record(
        queryset=Member.objects.all(), pk=daughter.pk, kind="pindah_keluar",
        date=dt.date(2025, 12, 1), expected_version=1,
    )  # fmt: skip
    return daughter


def move_in(household, daughter, queryset):
    return member_move_in_record(
        household_queryset=queryset, household_pk=household.pk,
        expected_version=Household.objects.get(pk=household.pk).versi, nik=daughter.nik,
        name="Putri Pindahan", sex=2, birth_date=daughter.tanggal_lahir, relationship=3,
        date=dt.date(2025, 12, 10),
    )  # fmt: skip


def test_a_move_in_does_not_take_over_a_row_of_an_approved_village(personas, open_round):
    """The destination is open, the origin approved: taking over the moved-out row would
    change the origin village, so it is refused; to desa A's operator without naming the
    village (outside the caller's areas), to an administrator with the lock's message."""
    daughter = moved_out_from_b()
    second = HouseholdFactory(region_id=A)
    approve(personas, B)
    with pytest.raises(ValidationError) as caught:
        move_in(second, daughter, households_for(personas["operator_a"]))
    message = caught.value.message_dict["nik"][0]
    assert "disetujui" in message
    assert B not in message and "Babulu" not in message and "2025-pendataan" not in message
    with pytest.raises(ValidationError) as caught:
        move_in(second, daughter, Household.objects.all())
    assert B in caught.value.message_dict["nik"][0]
    assert Member.objects.get(pk=daughter.pk).status_anggota == MemberStatus.MOVED_OUT
    reopen(personas, B)
    move_in(second, daughter, households_for(personas["operator_a"]))
    assert Member.objects.get(pk=daughter.pk).household_id == second.pk
