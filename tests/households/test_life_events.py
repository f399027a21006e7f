"""The register of life events (issue 13): every event service writes its dated row in
the same transaction; a move in from outside (or from another village, taking over the
moved-out member row: NIK and history kept); a split into a new household; replacing a
temporary NIK or No. KK. Refusals name the field, write nothing, and tell nothing about
records outside the caller's areas."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from desapresisi.masking import mask_number
from desapresisi.models import ChangeRecord
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, EventKind, Household, LifeEvent, Member, MemberStatus
from households.selectors import households_for
from households.services import (
    StaleEdit,
    head_change_record,
    household_kk_replace,
    household_split_record,
    member_birth_record,
    member_event_record,
    member_move_in_record,
    member_nik_replace,
    member_transfer_record,
)
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
)
from tests.households.test_member_events import assert_rollup_matches_plain_count, figure

pytestmark = pytest.mark.django_db

ACTOR_A = "7:operator-a@127.0.0.1"
ACTOR_B = "8:operator-b@127.0.0.1"
DAY = dt.date(2025, 12, 1)  # after the factories' survey date (2025-10-15)
ARRIVAL = dt.date(2025, 12, 10)
BORN = dt.date(1990, 4, 12)


@pytest.fixture
def village():
    """Desa A: `first` (head, wife, a son of 20 and his wife), `second`; desa B: `other`
    (head and a daughter)."""
    first = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="002")
    wife = MemberFactory(
        household=first, hubungan_keluarga=3, jenis_kelamin=2, tanggal_lahir=dt.date(1987, 5, 2)
    )
    son = MemberFactory(household=first, tanggal_lahir=dt.date(2005, 1, 3))
    daughter_in_law = MemberFactory(
        household=first, hubungan_keluarga=5, jenis_kelamin=2, tanggal_lahir=dt.date(2006, 8, 9)
    )
    second = HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan II")
    other = HouseholdFactory(region_id=BABULU_DESA, dusun="Dusun Karya")
    daughter = MemberFactory(household=other, jenis_kelamin=2, tanggal_lahir=BORN)
    indicators_refresh(full=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', '', false)")
    return {
        "first": first, "wife": wife, "son": son, "daughter_in_law": daughter_in_law,
        "second": second, "other": other, "daughter": daughter,
    }  # fmt: skip


def versi(household: Household) -> int:
    return Household.objects.values_list("versi", flat=True).get(pk=household.pk)


def member_versi(member: Member) -> int:
    return Member.objects.values_list("versi", flat=True).get(pk=member.pk)


def events(**filters) -> list[LifeEvent]:
    return list(LifeEvent.objects.filter(**filters).order_by("id"))


# --- every event service writes its register row ---------------------------------------------


def test_a_death_and_a_move_out_are_registered_with_date_place_snapshot_and_actor(village):
    wife, son, first = village["wife"], village["son"], village["first"]
    member_event_record(
        queryset=Member.objects.all(), pk=wife.pk, kind="meninggal", date=DAY,
        expected_version=1, actor=ACTOR_A,
    )  # fmt: skip
    member_event_record(
        queryset=Member.objects.all(), pk=son.pk, kind="pindah_keluar", date=DAY,
        expected_version=1, destination="Kota Samarinda", actor=ACTOR_A,
    )  # fmt: skip
    death, move = events()
    assert (death.kind, death.tanggal, death.member_id, death.household_id) == (
        "meninggal", DAY, wife.pk, first.pk,
    )  # fmt: skip
    assert (death.region_id, death.dusun, death.rw, death.rt) == (
        PENAJAM_KELURAHAN, "Lingkungan I", "001", "002",
    )  # fmt: skip
    assert (death.jenis_kelamin, death.nama, death.nik) == (2, wife.nama, wife.nik)
    assert death.actor == ACTOR_A and death.dicatat is not None
    assert (move.kind, move.asal_tujuan, move.other_household_id) == (
        "pindah_keluar", "Kota Samarinda", None,
    )  # fmt: skip


def test_a_birth_is_registered_on_the_birth_date(village):
    first = village["first"]
    member_birth_record(
        household_queryset=Household.objects.all(), household_pk=first.pk, expected_version=1,
        name="Bayi Register", sex=2, date=DAY, actor=ACTOR_A,
    )  # fmt: skip
    (event,) = events(kind=EventKind.BIRTH)
    baby = Member.objects.get(nama="Bayi Register")
    assert (event.member_id, event.tanggal, event.jenis_kelamin, event.nik) == (
        baby.pk, DAY, 2, baby.nik,
    )  # fmt: skip
    assert event.actor == ACTOR_A


def test_a_change_of_head_carries_a_date_defaulting_to_today(village):
    first, wife = village["first"], village["wife"]
    head_change_record(
        household_queryset=Household.objects.all(), household_pk=first.pk, expected_version=1,
        new_head_pk=wife.pk,
    )  # fmt: skip
    (event,) = events(kind=EventKind.HEAD_CHANGE)
    assert (event.member_id, event.tanggal) == (wife.pk, timezone.localdate())
    head_change_record(
        household_queryset=Household.objects.all(), household_pk=first.pk, expected_version=2,
        new_head_pk=village["son"].pk, date=DAY,
    )  # fmt: skip
    assert events(kind=EventKind.HEAD_CHANGE)[-1].tanggal == DAY


def test_a_transfer_is_one_event_with_both_households(village):
    son, first, other = village["son"], village["first"], village["other"]
    member_transfer_record(
        queryset=Member.objects.all(), pk=son.pk, target_queryset=Household.objects.all(),
        target_pk=other.pk, expected_version=1, relationship=9, date=DAY,
    )  # fmt: skip
    (event,) = events()
    assert (event.kind, event.tanggal, event.member_id) == ("pindah_kk", DAY, son.pk)
    assert (event.household_id, event.region_id, event.dusun) == (
        first.pk, PENAJAM_KELURAHAN, "Lingkungan I",
    )  # fmt: skip
    assert (event.other_household_id, event.other_region_id, event.other_dusun) == (
        other.pk, BABULU_DESA, "Dusun Karya",
    )  # fmt: skip


def test_dates_of_a_transfer_and_a_change_of_head_are_refused_in_the_future(village):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        member_transfer_record(
            queryset=Member.objects.all(), pk=village["son"].pk,
            target_queryset=Household.objects.all(), target_pk=village["second"].pk,
            expected_version=1, date=tomorrow,
        )  # fmt: skip
    assert "tanggal" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        member_transfer_record(
            queryset=Member.objects.all(), pk=village["son"].pk,
            target_queryset=Household.objects.all(), target_pk=village["second"].pk,
            expected_version=1, date=dt.date(2004, 1, 1),  # before his birth
        )  # fmt: skip
    assert "tanggal" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        head_change_record(
            household_queryset=Household.objects.all(), household_pk=village["first"].pk,
            expected_version=1, new_head_pk=village["wife"].pk, date=tomorrow,
        )  # fmt: skip
    assert "tanggal" in caught.value.message_dict
    assert not LifeEvent.objects.exists()
    assert Member.objects.get(pk=village["son"].pk).household_id == village["first"].pk


def test_a_refused_event_leaves_no_register_row(village):
    with pytest.raises(StaleEdit):
        member_event_record(
            queryset=Member.objects.all(), pk=village["wife"].pk, kind="meninggal", date=DAY,
            expected_version=5,
        )  # fmt: skip
    assert not LifeEvent.objects.exists()


def test_the_register_keeps_events_of_a_member_deleted_by_plain_sql(village):
    """A census import deletes members with plain SQL: the events stay, without the member
    (ON DELETE SET NULL in the database), with their snapshot."""
    son = village["son"]
    member_event_record(
        queryset=Member.objects.all(), pk=son.pk, kind="pindah_keluar", date=DAY,
        expected_version=1,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM households_member WHERE id = %s", [son.pk])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    (event,) = events()
    assert (event.member_id, event.nama, event.jenis_kelamin) == (None, son.nama, 1)


# --- pindah masuk ---------------------------------------------------------------------------


def move_in(household: Household, *, queryset=None, **extra):
    values = {
        "nik": nik_for(PENAJAM_KELURAHAN, BORN, 1, 4321), "name": "Pendatang Baru", "sex": 1,
        "birth_date": BORN, "relationship": 9, "date": ARRIVAL, "origin": "Kab. Paser",
        **extra,
    }  # fmt: skip
    return member_move_in_record(
        household_queryset=Household.objects.all() if queryset is None else queryset,
        household_pk=household.pk, expected_version=versi(household), **values,
    )  # fmt: skip


def test_a_person_from_outside_moves_in_and_counts(village):
    second = village["second"]
    result = move_in(second, actor=ACTOR_A)
    indicators_refresh()
    newcomer = Member.objects.get(nama="Pendatang Baru")
    assert (newcomer.household_id, newcomer.hubungan_keluarga, newcomer.status_anggota) == (
        second.pk, 9, MemberStatus.CURRENT,
    )  # fmt: skip
    second.refresh_from_db()
    assert second.jumlah_anggota == 2 and result.versi == second.versi == 2
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 6
    assert_rollup_matches_plain_count()
    (event,) = events()
    assert (event.kind, event.tanggal, event.asal_tujuan, event.member_id) == (
        "pindah_masuk", ARRIVAL, "Kab. Paser", newcomer.pk,
    )  # fmt: skip
    assert event.actor == ACTOR_A
    insert = ChangeRecord.objects.get(table="member", row_id=newcomer.pk, action="insert")
    assert insert.actor == ACTOR_A and insert.household_id == second.pk


def test_move_in_errors_name_the_field_and_write_nothing(village):
    second = village["second"]
    today = timezone.localdate()
    cases = [
        ({"name": " "}, "nama"),
        ({"sex": None}, "jenis_kelamin"),
        ({"birth_date": None}, "tanggal_lahir"),
        ({"relationship": None}, "hubungan_keluarga"),
        ({"relationship": 1}, "hubungan_keluarga"),
        ({"relationship": 42}, "hubungan_keluarga"),
        ({"date": None}, "tanggal"),
        ({"date": today + dt.timedelta(days=1)}, "tanggal"),
        ({"date": dt.date(2025, 10, 1)}, "tanggal"),  # before the household's survey
        ({"origin": "x" * 201}, "asal_pindah"),
        ({"nik": ""}, "nik"),
        ({"nik": "12345"}, "nik"),
        ({"nik": "0" + PENAJAM_KELURAHAN.replace(".", "") + "00009"}, "nik"),  # temporary
        ({"nik": nik_for(PENAJAM_KELURAHAN, BORN, 2, 11)}, "jenis_kelamin"),
        ({"nik": nik_for(PENAJAM_KELURAHAN, dt.date(1991, 4, 12), 1, 11)}, "tanggal_lahir"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            move_in(second, **extra)
        assert field in caught.value.message_dict, (extra, caught.value.message_dict)
    assert (versi(second), second.members.count(), LifeEvent.objects.count()) == (1, 1, 0)
    with pytest.raises(StaleEdit):
        member_move_in_record(
            household_queryset=Household.objects.all(), household_pk=second.pk,
            expected_version=9, nik=nik_for(PENAJAM_KELURAHAN, BORN, 1, 4321), name="X", sex=1,
            birth_date=BORN, relationship=9, date=ARRIVAL,
        )  # fmt: skip
    with pytest.raises(Household.DoesNotExist):  # outside the caller's areas: not found
        move_in(village["other"], queryset=Household.objects.filter(region_id=PENAJAM_KELURAHAN))


def test_a_nik_held_elsewhere_is_refused_without_telling_anything_about_it(village):
    """A NIK of a current or dead member in another village: the same words either way,
    naming no village, household, person or status."""
    daughter = village["daughter"]
    area_a = households_for_region(PENAJAM_KELURAHAN)
    answers = []
    for status in ("current", "dead"):
        if status == "dead":
            member_event_record(
                queryset=Member.objects.all(), pk=daughter.pk, kind="meninggal", date=DAY,
                expected_version=1,
            )  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            move_in(village["second"], queryset=area_a, nik=daughter.nik, sex=2, name="Siapa Saja")
        (message,) = caught.value.message_dict["nik"]
        answers.append(message)
    assert answers[0] == answers[1]
    other = village["other"]
    for secret in (daughter.nama, "Babulu", BABULU_DESA, other.no_kk, mask_number(other.no_kk),
                   "meninggal", str(other.pk)):  # fmt: skip
        assert secret not in answers[0]
    assert "operator desa asal" in answers[0]


def households_for_region(code: str):
    return Household.objects.filter(region_id=code)


def test_a_nik_held_in_the_callers_area_names_the_household_masked(village):
    wife, first = village["wife"], village["first"]
    with pytest.raises(ValidationError) as caught:
        move_in(village["second"], nik=wife.nik, sex=2, birth_date=wife.tanggal_lahir)
    (message,) = caught.value.message_dict["nik"]
    assert mask_number(first.no_kk) in message and first.no_kk not in message


def test_a_move_between_villages_takes_over_the_moved_out_row_keeping_nik_and_history(
    village, personas
):
    """Desa B's operator records the daughter's move out; desa A's operator records her
    move in: the same row (id, NIK, history) is now a current member in desa A."""
    daughter, other, second = village["daughter"], village["other"], village["second"]
    member_event_record(
        queryset=Member.objects.filter(household__region_id=BABULU_DESA), pk=daughter.pk,
        kind="pindah_keluar", date=DAY, destination="Penajam", expected_version=1,
        actor=ACTOR_B,
    )  # fmt: skip
    indicators_refresh()
    assert figure("jumlah_jiwa", BABULU_DESA) == 1
    move_in(
        second, queryset=households_for(personas["operator_a"]), nik=daughter.nik, sex=2,
        name="Putri Pindahan", relationship=3, actor=ACTOR_A,
    )  # fmt: skip
    indicators_refresh()
    daughter_now = Member.objects.get(pk=daughter.pk)
    assert (daughter_now.nik, daughter_now.household_id, daughter_now.nama) == (
        daughter.nik, second.pk, "Putri Pindahan",
    )  # fmt: skip
    assert (daughter_now.status_anggota, daughter_now.tanggal_status) == (
        MemberStatus.CURRENT, None,
    )  # fmt: skip
    assert daughter_now.tujuan_pindah == ""
    assert figure("jumlah_jiwa", BABULU_DESA) == 1
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 6
    assert_rollup_matches_plain_count()
    # The row's history: the insert in desa B, the move out, the move in.
    records = ChangeRecord.objects.filter(table="member", row_id=daughter.pk).order_by("id")
    assert [(r.action, r.household_id) for r in records] == [
        ("insert", other.pk), ("update", other.pk), ("update", second.pk),
    ]  # fmt: skip
    assert records.last().changes["status_anggota"] == [3, 1]
    # Each village's register has its own event; the move in names no other household.
    out, arrival = events()
    assert (out.kind, out.region_id, out.actor, out.nama) == (
        "pindah_keluar", BABULU_DESA, ACTOR_B, daughter.nama,
    )  # fmt: skip
    assert (arrival.kind, arrival.region_id, arrival.other_household_id) == (
        "pindah_masuk", PENAJAM_KELURAHAN, None,
    )  # fmt: skip
    assert arrival.member_id == out.member_id == daughter.pk


def test_a_move_in_before_the_recorded_move_out_is_refused(village):
    daughter = village["daughter"]
    member_event_record(
        queryset=Member.objects.all(), pk=daughter.pk, kind="pindah_keluar",
        date=dt.date(2025, 12, 20), expected_version=1,
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        move_in(village["second"], nik=daughter.nik, sex=2, date=ARRIVAL)
    assert "tanggal" in caught.value.message_dict
    assert Member.objects.get(pk=daughter.pk).status_anggota == MemberStatus.MOVED_OUT


def test_a_moved_out_head_is_taken_over_only_after_a_change_of_head(village):
    other = village["other"]
    head = other.members.get(hubungan_keluarga=1)
    member_event_record(
        queryset=Member.objects.all(), pk=head.pk, kind="pindah_keluar", date=DAY,
        expected_version=1,
    )  # fmt: skip
    area_a = households_for_region(PENAJAM_KELURAHAN)
    with pytest.raises(ValidationError) as caught:
        move_in(village["second"], queryset=area_a, nik=head.nik, birth_date=head.tanggal_lahir)
    assert "ganti kepala" in caught.value.message_dict["nik"][0]
    head_change_record(
        household_queryset=Household.objects.all(), household_pk=other.pk, expected_version=1,
        new_head_pk=village["daughter"].pk,
    )  # fmt: skip
    move_in(village["second"], queryset=area_a, nik=head.nik, birth_date=head.tanggal_lahir)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # both households keep one head
    assert Member.objects.get(pk=head.pk).household_id == village["second"].pk


# --- pecah KK -------------------------------------------------------------------------------


def split(household: Household, members: list[Member], head: Member, **extra):
    values = {"date": DAY, **extra}
    return household_split_record(
        household_queryset=Household.objects.all(), household_pk=household.pk,
        expected_version=versi(household), member_pks=[m.pk for m in members],
        head_pk=head.pk, **values,
    )  # fmt: skip


def test_a_split_forms_a_valid_household_and_the_figures_count_everyone_once(village):
    first, son, daughter_in_law = village["first"], village["son"], village["daughter_in_law"]
    first.refresh_from_db()
    result = split(
        first, [son, daughter_in_law], son, relationships={daughter_in_law.pk: 3},
        no_kk="6409010101250999", rt="005", actor=ACTOR_A,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred one-head rule, now
    indicators_refresh()
    new = Household.objects.get(pk=result.new_household.pk)
    assert new.no_kk == "6409010101250999" and new.region_id == PENAJAM_KELURAHAN
    assert (new.dusun, new.rw, new.rt, new.alamat) == ("Lingkungan I", "001", "005", first.alamat)
    assert new.lokasi.equals(first.lokasi)
    # The answers of the survey are copied, its date too; the source is the operator.
    for name in ("fasilitas_bab", "sumber_air_minum", "lantai", "desil_kesejahteraan",
                 "desil_sumber", "penerima_pkh", "tanggal_survei"):  # fmt: skip
        assert getattr(new, name) == getattr(first, name), name
    assert new.sumber_data == DataSource.MANUAL
    codes = dict(new.members.values_list("pk", "hubungan_keluarga"))
    assert codes == {son.pk: 1, daughter_in_law.pk: 3}
    first.refresh_from_db()
    assert (first.jumlah_anggota, new.jumlah_anggota) == (2, 2)
    assert result.household.versi == first.versi == 2
    # People are not counted twice nor lost: the village still has its 5.
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 5
    assert figure("jumlah_rumah_tangga", PENAJAM_KELURAHAN) == 3
    assert_rollup_matches_plain_count()
    assert_households_match_plain_count()
    # One event per person who moved, with both households.
    moved = events(kind=EventKind.SPLIT)
    assert [(e.member_id, e.household_id, e.other_household_id, e.tanggal) for e in moved] == [
        (son.pk, first.pk, new.pk, DAY), (daughter_in_law.pk, first.pk, new.pk, DAY),
    ]  # fmt: skip
    assert {e.actor for e in moved} == {ACTOR_A}
    assert moved[0].other_rt == "005"
    insert = ChangeRecord.objects.get(table="household", row_id=new.pk, action="insert")
    assert insert.actor == ACTOR_A


def assert_households_match_plain_count():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM households_household WHERE region_id = %s", [PENAJAM_KELURAHAN]
        )
        (plain,) = cursor.fetchone()
    assert figure("jumlah_rumah_tangga", PENAJAM_KELURAHAN) == plain


def test_a_split_without_an_issued_kk_gets_a_temporary_one_later_replaced(village):
    first, son = village["first"], village["son"]
    result = split(first, [son], son)
    new = Household.objects.get(pk=result.new_household.pk)
    assert new.no_kk == "0" + PENAJAM_KELURAHAN.replace(".", "") + "00001"
    household_kk_replace(
        household_queryset=Household.objects.all(), household_pk=new.pk,
        expected_version=new.versi, no_kk="6409010101250998", actor=ACTOR_A,
    )  # fmt: skip
    new.refresh_from_db()
    assert new.no_kk == "6409010101250998"
    change = ChangeRecord.objects.filter(table="household", row_id=new.pk, action="update").get()
    assert change.changes["no_kk"] == ["0" + PENAJAM_KELURAHAN.replace(".", "") + "00001",
                                       "6409010101250998"]  # fmt: skip
    # A replaced temporary number is never handed out again.
    second_split = split(first, [village["daughter_in_law"]], village["daughter_in_law"])
    again = Household.objects.get(pk=second_split.new_household.pk)
    assert again.no_kk.endswith("00002")


def test_split_errors_name_the_field_and_write_nothing(village):
    first, son, wife = village["first"], village["son"], village["wife"]
    daughter_in_law = village["daughter_in_law"]
    head = first.members.get(hubungan_keluarga=1)
    stranger = village["daughter"]
    member_event_record(
        queryset=Member.objects.all(), pk=wife.pk, kind="meninggal", date=DAY,
        expected_version=1,
    )  # fmt: skip
    taken = village["other"].no_kk
    today = timezone.localdate()
    cases = [
        ([], son, {}, "anggota_pecah"),
        ([son, head], son, {}, "anggota_pecah"),  # the head stays
        ([son, wife], son, {}, "anggota_pecah"),  # died
        ([son, stranger], son, {}, "anggota_pecah"),  # of another household
        ([son], daughter_in_law, {}, "kepala_baru"),  # not among those who move
        ([son, daughter_in_law], son, {"relationships": {daughter_in_law.pk: 1}}, "anggota_pecah"),
        ([son, daughter_in_law], son, {"relationships": {daughter_in_law.pk: 42}},
         "anggota_pecah"),
        ([son], son, {"relationships": {wife.pk: 3}}, "anggota_pecah"),
        ([son], son, {"relationships": {son.pk: 4}}, "kepala_baru"),
        ([son], son, {"no_kk": "123"}, "no_kk"),
        ([son], son, {"no_kk": "0640901100100001"}, "no_kk"),  # temporary
        ([son], son, {"no_kk": first.no_kk}, "no_kk"),
        ([son], son, {"no_kk": taken}, "no_kk"),
        ([son], son, {"date": None}, "tanggal"),
        ([son], son, {"date": today + dt.timedelta(days=1)}, "tanggal"),
        ([son], son, {"date": dt.date(2025, 10, 1)}, "tanggal"),  # before the survey
        ([son], son, {"location": [0.0, 0.0]}, "lokasi"),  # outside the village
        ([son], son, {"rt": "12345"}, "rt"),
    ]  # fmt: skip
    for members, new_head, extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            split(first, members, new_head, **extra)
        assert field in caught.value.message_dict, (extra, field, caught.value.message_dict)
    assert Household.objects.count() == 3
    assert set(first.members.values_list("pk", flat=True)) == {head.pk, wife.pk, son.pk,
                                                               daughter_in_law.pk}  # fmt: skip
    assert versi(first) == 1 and not LifeEvent.objects.filter(kind=EventKind.SPLIT).exists()
    with pytest.raises(StaleEdit):
        household_split_record(
            household_queryset=Household.objects.all(), household_pk=first.pk,
            expected_version=4, member_pks=[son.pk], head_pk=son.pk, date=DAY,
        )  # fmt: skip


def test_a_kk_held_elsewhere_is_refused_without_naming_it(village):
    first, son = village["first"], village["son"]
    with pytest.raises(ValidationError) as caught:
        household_split_record(
            household_queryset=households_for_region(PENAJAM_KELURAHAN), household_pk=first.pk,
            expected_version=1, member_pks=[son.pk], head_pk=son.pk, date=DAY,
            no_kk=village["other"].no_kk,
        )  # fmt: skip
    (message,) = caught.value.message_dict["no_kk"]
    assert message == "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."


def test_a_split_with_a_given_location_checks_it_with_the_location_rule(village):
    first, son = village["first"], village["son"]
    point = village["second"].lokasi
    result = split(first, [son], son, location=[point.x, point.y], dusun="Lingkungan II")
    new = Household.objects.get(pk=result.new_household.pk)
    assert new.lokasi.equals_exact(point, 1e-9) and new.dusun == "Lingkungan II"


# --- temporary NIK and No. KK replaced by the issued ones ----------------------------------


def test_a_temporary_nik_is_replaced_by_the_issued_one_and_the_history_has_both(village):
    first = village["first"]
    member_birth_record(
        household_queryset=Household.objects.all(), household_pk=first.pk, expected_version=1,
        name="Bayi Nik", sex=2, date=DAY,
    )  # fmt: skip
    baby = Member.objects.get(nama="Bayi Nik")
    temporary = baby.nik
    issued = nik_for(PENAJAM_KELURAHAN, DAY, 2, 5555)
    result = member_nik_replace(
        queryset=Member.objects.all(), pk=baby.pk, expected_version=baby.versi, nik=issued,
        actor=ACTOR_A,
    )  # fmt: skip
    baby.refresh_from_db()
    assert baby.nik == issued and result.versi == baby.versi == 2
    change = ChangeRecord.objects.get(table="member", row_id=baby.pk, action="update")
    assert change.changes["nik"] == [temporary, issued] and change.actor == ACTOR_A
    # The register keeps the number the birth was recorded with.
    assert LifeEvent.objects.get(kind=EventKind.BIRTH).nik == temporary
    # The next birth does not get the replaced temporary number again.
    member_birth_record(
        household_queryset=Household.objects.all(), household_pk=first.pk,
        expected_version=versi(first), name="Bayi Dua", sex=1, date=DAY,
    )  # fmt: skip
    assert Member.objects.get(nama="Bayi Dua").nik.endswith("00002")


def test_nik_replacement_errors_name_the_field_and_change_nothing(village):
    first = village["first"]
    member_birth_record(
        household_queryset=Household.objects.all(), household_pk=first.pk, expected_version=1,
        name="Bayi Salah", sex=2, date=DAY,
    )  # fmt: skip
    baby = Member.objects.get(nama="Bayi Salah")
    cases = [
        (baby, "12", "nik"),
        (baby, "0" * 16, "nik"),  # temporary again
        (baby, nik_for(PENAJAM_KELURAHAN, DAY, 1, 5), "nik"),  # a boy's NIK
        (baby, nik_for(PENAJAM_KELURAHAN, dt.date(2025, 12, 2), 2, 5), "nik"),
        (village["wife"], nik_for(PENAJAM_KELURAHAN, dt.date(1987, 5, 2), 2, 9), "nik"),  # issued
    ]
    for member, nik, field in cases:
        with pytest.raises(ValidationError) as caught:
            member_nik_replace(
                queryset=Member.objects.all(), pk=member.pk, expected_version=member.versi,
                nik=nik,
            )  # fmt: skip
        assert field in caught.value.message_dict, nik
    # A NIK held elsewhere (here: a girl of desa B born on the same day) is not described.
    elsewhere = MemberFactory(
        household=village["other"], jenis_kelamin=2, tanggal_lahir=DAY,
        nik=nik_for(PENAJAM_KELURAHAN, DAY, 2, 77),
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        member_nik_replace(
            queryset=Member.objects.filter(household__region_id=PENAJAM_KELURAHAN), pk=baby.pk,
            expected_version=baby.versi, nik=elsewhere.nik,
        )  # fmt: skip
    assert caught.value.message_dict["nik"] == [
        "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."
    ]
    with pytest.raises(StaleEdit):
        member_nik_replace(
            queryset=Member.objects.all(), pk=baby.pk, expected_version=7,
            nik=nik_for(PENAJAM_KELURAHAN, DAY, 2, 78),
        )  # fmt: skip
    assert Member.objects.get(pk=baby.pk).nik.startswith("0")


def test_only_a_temporary_kk_is_replaced(village):
    first = village["first"]
    with pytest.raises(ValidationError) as caught:
        household_kk_replace(
            household_queryset=Household.objects.all(), household_pk=first.pk,
            expected_version=1, no_kk="6409010101250997",
        )  # fmt: skip
    assert "no_kk" in caught.value.message_dict
    assert Household.objects.get(pk=first.pk).no_kk == first.no_kk


def test_temporary_serials_are_per_village_and_kind(village):
    split(village["first"], [village["son"]], village["son"])
    member_birth_record(
        household_queryset=Household.objects.all(), household_pk=village["other"].pk,
        expected_version=1, name="Bayi B", sex=1, date=DAY,
    )  # fmt: skip
    new_kk = Household.objects.filter(no_kk__startswith="0").get().no_kk
    baby_nik = Member.objects.get(nama="Bayi B").nik
    assert new_kk.endswith("00001") and baby_nik.endswith("00001")
    assert baby_nik[1:11] == BABULU_DESA.replace(".", "")
