"""The database refuses rows that break the census rules, whatever writes them."""

import datetime as dt

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from households.models import Household, Member
from tests.factories import HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db


REFUSED = (IntegrityError, DataError)


def refused(**changes):
    """True when saving a valid household with these changes is refused."""
    household = HouseholdFactory.build(**changes)
    try:
        with transaction.atomic():
            household.save()
            MemberFactory(household=household, hubungan_keluarga=1)
    except REFUSED:
        return True
    return False


def commit_refused(action) -> bool:
    """Run `action`, then fire the deferred constraints as a commit would."""
    try:
        with transaction.atomic():
            action()
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    except REFUSED:
        return True
    return False


@pytest.mark.parametrize(
    "kk", ["640901010125000", "64090101012500001", "6.40901E+15", "64090101a1250001"]
)
def test_kk_must_be_16_digits(kk):
    assert refused(no_kk=kk)


def test_valid_household_is_accepted():
    assert not refused()


@pytest.mark.parametrize(
    "field, value",
    [
        ("fasilitas_bab", 7),
        ("jenis_kloset", 5),
        ("pembuangan_tinja", 0),
        ("sumber_air_minum", 12),
        ("jarak_sumber_air_tinja", 3),
        ("lantai", 10),
        ("dinding", 8),
        ("atap", 9),
        ("penerangan", 5),
        ("bahan_bakar_memasak", 12),
        ("kepemilikan_rumah", 6),
        ("desil_kesejahteraan", 11),
    ],
)
def test_codes_outside_the_codebook_are_refused(field, value):
    assert refused(**{field: value})


@pytest.mark.parametrize("facility", [4, 5, 6])
def test_toilet_type_only_when_family_uses_own_or_shared_facility(facility):
    assert refused(fasilitas_bab=facility, jenis_kloset=1)
    assert not refused(fasilitas_bab=facility, jenis_kloset=None)


def test_decile_needs_its_source():
    assert refused(desil_kesejahteraan=2, desil_sumber="")


def test_kk_is_unique():
    HouseholdFactory(no_kk="6409010101250001")
    assert refused(no_kk="6409010101250001")


@pytest.mark.parametrize(
    "nik", ["640901090385000", "64090109038500011", "6.40901E+15", "640901O903850001"]
)
def test_nik_must_be_16_digits(nik):
    household = HouseholdFactory()
    with pytest.raises(REFUSED), transaction.atomic():
        MemberFactory(household=household, nik=nik)


def test_nik_is_unique():
    household = HouseholdFactory(head__nik="6409010903850001")
    with pytest.raises(REFUSED), transaction.atomic():
        MemberFactory(household=household, nik="6409010903850001")


def test_second_head_is_refused():
    household = HouseholdFactory()
    with pytest.raises(REFUSED), transaction.atomic():
        MemberFactory(household=household, hubungan_keluarga=1)


def test_household_without_head_is_refused_at_commit():
    assert commit_refused(lambda: HouseholdFactory(head=False))


def test_household_with_head_and_members_commits():
    def build():
        household = HouseholdFactory()
        MemberFactory(household=household, hubungan_keluarga=3, jenis_kelamin=2)

    assert not commit_refused(build)


def test_removing_the_only_head_is_refused_at_commit():
    household = HouseholdFactory()
    head = household.members.get()
    assert commit_refused(lambda: Member.objects.filter(pk=head.pk).update(hubungan_keluarga=4))
    assert commit_refused(lambda: Member.objects.filter(pk=head.pk).delete())


def test_moving_the_head_to_another_household_is_refused_at_commit():
    head = HouseholdFactory().members.get()

    def move_head_to_a_new_household():
        second = HouseholdFactory(head=False)
        Member.objects.filter(pk=head.pk).update(household=second)

    assert commit_refused(move_head_to_a_new_household)


def test_deleting_a_household_with_its_members_is_allowed():
    household = HouseholdFactory()
    MemberFactory(household=household)
    assert not commit_refused(lambda: Household.objects.filter(pk=household.pk).delete())


def test_level_attended_only_for_those_who_went_to_school():
    household = HouseholdFactory()
    with pytest.raises(REFUSED), transaction.atomic():
        MemberFactory(household=household, partisipasi_sekolah=1, jenjang_pendidikan=3)


def test_member_codes_are_checked():
    household = HouseholdFactory()
    for field, value in [
        ("jenis_kelamin", 3),
        ("hubungan_keluarga", 12),
        ("partisipasi_sekolah", 4),
        ("jenjang_pendidikan", 23),
        ("ijazah_tertinggi", 24),
    ]:
        with pytest.raises(REFUSED), transaction.atomic():
            MemberFactory(household=household, **{field: value})


def test_implausible_birth_date_is_refused():
    household = HouseholdFactory()
    with pytest.raises(REFUSED), transaction.atomic():
        MemberFactory(household=household, tanggal_lahir=dt.date(1850, 1, 1))
