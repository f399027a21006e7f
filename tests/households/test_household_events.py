"""Life events, part 2 (issue 13): a birth, a change of head and a move between two
households of the portal. Each changes the stored counts and the rollup as a plain count
says, is in the history with the actor, names the wrong field, and is locked by `versi`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from desapresisi.models import ChangeRecord
from households.indicators.rollup import indicators_refresh
from households.models import Household, Member, MemberStatus
from households.services import (
    StaleEdit,
    head_change_record,
    member_birth_record,
    member_event_record,
    member_transfer_record,
)
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
)
from tests.households.census_import.test_import import family, run
from tests.households.test_member_events import assert_rollup_matches_plain_count, figure

pytestmark = pytest.mark.django_db

ACTOR = "7:operator-a@127.0.0.1"
BIRTH = dt.date(2025, 12, 1)  # after the factories' survey date (2025-10-15)


@pytest.fixture
def village():
    """Two households in desa A (the first with a wife and a 14-year-old out of school),
    one in desa B."""
    first = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    child = MemberFactory(
        household=first, tanggal_lahir=dt.date(2011, 2, 1), partisipasi_sekolah=3,
        jenjang_pendidikan=8, ijazah_tertinggi=3,
    )  # fmt: skip
    wife = MemberFactory(
        household=first, hubungan_keluarga=3, jenis_kelamin=2, tanggal_lahir=dt.date(1987, 5, 2)
    )
    second = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    other = HouseholdFactory(region_id=BABULU_DESA)
    indicators_refresh(full=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', '', false)")
    return {"first": first, "child": child, "wife": wife, "second": second, "other": other}


def versi(household: Household) -> int:
    return Household.objects.values_list("versi", flat=True).get(pk=household.pk)


def birth(household: Household, **extra):
    values = {"name": "Bayi Uji", "sex": 1, "date": BIRTH, **extra}
    return member_birth_record(
        household_queryset=Household.objects.all(), household_pk=household.pk,
        expected_version=versi(household), **values,
    )  # fmt: skip


def head_change(household: Household, new_head: Member, **extra):
    return head_change_record(
        household_queryset=Household.objects.all(), household_pk=household.pk,
        expected_version=versi(household), new_head_pk=new_head.pk, **extra,
    )  # fmt: skip


def transfer(member: Member, target: Household, **extra):
    member.refresh_from_db()
    return member_transfer_record(
        queryset=Member.objects.all(), pk=member.pk, target_queryset=Household.objects.all(),
        target_pk=target.pk, expected_version=member.versi, **extra,
    )  # fmt: skip


def assert_one_head(household: Household) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred head checks run now
    assert household.members.filter(hubungan_keluarga=1).count() == 1


# --- lahir ----------------------------------------------------------------------------------


def test_a_birth_adds_a_current_member_counted_in_the_household_and_the_figures(village):
    first = village["first"]
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 4
    result = birth(first, actor=ACTOR)
    indicators_refresh()

    first.refresh_from_db()
    assert first.jumlah_anggota == 4
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 5
    assert_rollup_matches_plain_count()
    baby = first.members.get(nama="Bayi Uji")
    assert (baby.tanggal_lahir, baby.hubungan_keluarga, baby.status_anggota) == (
        BIRTH, 4, MemberStatus.CURRENT,
    )  # fmt: skip
    # No NIK yet: a temporary one, 0 + the village's digits + a serial.
    assert baby.nik == "0" + PENAJAM_KELURAHAN.replace(".", "") + "00001"
    # The household's version rises: a form read before the birth is stale.
    assert result.versi == first.versi == 2
    change = ChangeRecord.objects.get(table="member", row_id=baby.pk, action="insert")
    assert change.actor == ACTOR and change.household_id == first.pk
    assert change.changes["tanggal_lahir"] == [None, BIRTH.isoformat()]


def test_a_second_birth_without_nik_gets_the_next_temporary_nik(village):
    birth(village["first"])
    birth(village["second"], name="Bayi Dua", sex=2)
    niks = sorted(Member.objects.filter(nik__startswith="0").values_list("nik", flat=True))
    assert [nik[-5:] for nik in niks] == ["00001", "00002"]


def test_a_birth_with_its_nik_keeps_it(village):
    nik = nik_for(PENAJAM_KELURAHAN, BIRTH, 2, 77)
    birth(village["first"], sex=2, nik=nik, relationship=6)
    baby = Member.objects.get(nik=nik)
    assert (baby.jenis_kelamin, baby.hubungan_keluarga) == (2, 6)


def test_birth_errors_name_the_field_and_write_nothing(village):
    first = village["first"]
    today = timezone.localdate()
    taken = village["child"].nik
    cases = [
        ({"date": today + dt.timedelta(days=1)}, "tanggal"),
        ({"date": dt.date(2025, 10, 14)}, "tanggal"),  # before the survey date
        ({"date": None}, "tanggal"),
        ({"name": "  "}, "nama"),
        ({"sex": None}, "jenis_kelamin"),
        ({"relationship": 1}, "hubungan_keluarga"),
        ({"relationship": 2}, "hubungan_keluarga"),
        ({"nik": nik_for(PENAJAM_KELURAHAN, dt.date(2025, 11, 30), 1, 5)}, "nik"),
        ({"nik": nik_for(PENAJAM_KELURAHAN, BIRTH, 2, 5)}, "jenis_kelamin"),
        ({"nik": "12345"}, "nik"),
        ({"nik": taken}, "nik"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            birth(first, **extra)
        assert field in caught.value.message_dict, (extra, caught.value.message_dict)
    first.refresh_from_db()
    assert (first.jumlah_anggota, first.versi) == (3, 1)


def test_a_birth_on_a_stale_household_version_is_refused(village):
    with pytest.raises(StaleEdit) as caught:
        member_birth_record(
            household_queryset=Household.objects.all(), household_pk=village["first"].pk,
            expected_version=7, name="Bayi", sex=1, date=BIRTH,
        )  # fmt: skip
    assert caught.value.current_version == 1
    assert not Member.objects.filter(nama="Bayi").exists()


# --- ganti_kepala ---------------------------------------------------------------------------


def test_the_wife_becomes_head_and_the_former_head_her_husband(village):
    first, wife = village["first"], village["wife"]
    former = first.members.get(hubungan_keluarga=1)
    result = head_change(first, wife, actor=ACTOR)
    assert_one_head(first)
    wife.refresh_from_db()
    former.refresh_from_db()
    assert (wife.hubungan_keluarga, former.hubungan_keluarga) == (1, 2)
    assert result.versi == versi(first) == 2
    changes = {
        change.row_id: change
        for change in ChangeRecord.objects.filter(table="member", action="update")
    }
    assert changes[wife.pk].changes["hubungan_keluarga"] == [3, 1]
    assert changes[former.pk].changes["hubungan_keluarga"] == [1, 2]
    assert {changes[wife.pk].actor, changes[former.pk].actor} == {ACTOR}
    # Counts do not change with a change of head.
    first.refresh_from_db()
    assert first.jumlah_anggota == 3
    assert_rollup_matches_plain_count()


def test_a_dead_head_is_replaced_by_a_child_with_the_code_given(village):
    first, child = village["first"], village["child"]
    former = first.members.get(hubungan_keluarga=1)
    member_event_record(
        queryset=Member.objects.all(), pk=former.pk, kind="meninggal",
        date=dt.date(2025, 12, 1), expected_version=1,
    )  # fmt: skip
    head_change(first, child, former_head_relationship_code=7)
    assert_one_head(first)
    former.refresh_from_db()
    assert (former.hubungan_keluarga, former.status_anggota) == (7, MemberStatus.DIED)


def test_head_change_errors_name_the_field_and_change_nothing(village):
    first, wife, child = village["first"], village["wife"], village["child"]
    stranger = village["second"].members.get()
    member_event_record(
        queryset=Member.objects.all(), pk=child.pk, kind="pindah_keluar",
        date=dt.date(2025, 12, 1), expected_version=1,
    )  # fmt: skip
    head = first.members.get(hubungan_keluarga=1)
    cases = [
        (stranger, {}, "anggota"),  # not of this household
        (child, {}, "anggota"),  # moved out
        (head, {}, "anggota"),  # already head
        (wife, {"former_head_relationship_code": 1}, "hubungan_kepala_lama"),
        (wife, {"former_head_relationship_code": 99}, "hubungan_kepala_lama"),
    ]
    for new_head, extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            head_change(first, new_head, **extra)
        assert field in caught.value.message_dict, (new_head, extra)
    assert versi(first) == 1
    assert set(first.members.filter(hubungan_keluarga=1).values_list("pk", flat=True)) == {head.pk}
    with pytest.raises(StaleEdit):
        head_change_record(
            household_queryset=Household.objects.all(), household_pk=first.pk,
            expected_version=3, new_head_pk=wife.pk,
        )  # fmt: skip


# --- pindah_kk ------------------------------------------------------------------------------


def test_a_move_between_households_keeps_the_member_and_recounts_both(village):
    first, second, child = village["first"], village["second"], village["child"]
    nik = child.nik
    result = transfer(child, second, relationship=6, actor=ACTOR)
    indicators_refresh()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.jumlah_anggota, first.jumlah_ats) == (2, 0)
    assert (second.jumlah_anggota, second.jumlah_ats) == (2, 1)
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 4  # still in the village
    assert_rollup_matches_plain_count()
    child.refresh_from_db()
    assert (child.household_id, child.nik, child.hubungan_keluarga) == (second.pk, nik, 6)
    assert result.versi == child.versi == 2
    change = ChangeRecord.objects.get(table="member", row_id=child.pk, action="update")
    assert change.changes["household_id"] == [first.pk, second.pk]
    assert change.actor == ACTOR
    # The history of the row before the move is still there, under the same id.
    assert ChangeRecord.objects.filter(table="member", row_id=child.pk, action="insert").exists()


def test_a_move_to_another_village_moves_the_figures(village):
    transfer(village["wife"], village["other"])
    indicators_refresh()
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 3
    assert figure("jumlah_jiwa", BABULU_DESA) == 2
    assert_rollup_matches_plain_count()


def test_transfer_errors_name_the_field_and_move_nothing(village):
    first, second, wife, child = (village[k] for k in ("first", "second", "wife", "child"))
    head = first.members.get(hubungan_keluarga=1)
    member_event_record(
        queryset=Member.objects.all(), pk=child.pk, kind="meninggal",
        date=dt.date(2025, 12, 1), expected_version=1,
    )  # fmt: skip
    cases = [
        (head, second, {}, "hubungan_keluarga"),  # a head moves only after a change of head
        (wife, first, {}, "rumah_tangga_tujuan"),  # its own household
        (wife, second, {"relationship": 1}, "hubungan_keluarga"),
        (wife, second, {"relationship": 42}, "hubungan_keluarga"),
        (child, second, {}, "kind"),  # died
    ]
    for member, target, extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            transfer(member, target, **extra)
        assert field in caught.value.message_dict, (member, extra, caught.value.message_dict)
    wife.refresh_from_db()
    with pytest.raises(ValidationError) as caught:  # a household the caller may not edit
        member_transfer_record(
            queryset=Member.objects.all(), pk=wife.pk,
            target_queryset=Household.objects.filter(region_id=PENAJAM_KELURAHAN),
            target_pk=village["other"].pk, expected_version=wife.versi,
        )  # fmt: skip
    assert "rumah_tangga_tujuan" in caught.value.message_dict
    with pytest.raises(StaleEdit):
        member_transfer_record(
            queryset=Member.objects.all(), pk=wife.pk, target_queryset=Household.objects.all(),
            target_pk=second.pk, expected_version=wife.versi + 1,
        )  # fmt: skip
    assert set(first.members.values_list("pk", flat=True)) == {head.pk, wife.pk, child.pk}


def test_a_head_moves_after_a_change_of_head(village):
    first, second, wife = village["first"], village["second"], village["wife"]
    former = first.members.get(hubungan_keluarga=1)
    head_change(first, wife)
    transfer(former, second, relationship=9)
    assert_one_head(first)
    assert_one_head(second)
    assert (versi(first), Member.objects.get(pk=former.pk).household_id) == (2, second.pk)


# --- API ------------------------------------------------------------------------------------


def url(household: Household) -> str:
    return f"/api/v1/households/{household.pk}/events/"


def test_operator_records_a_birth_and_a_change_of_head_through_the_api(village, personas, as_user):
    client = as_user(personas["operator_a"])
    first, wife = village["first"], village["wife"]
    response = client.post(
        url(first),
        {"kind": "lahir", "nama": "Bayi Api", "jenis_kelamin": 2, "tanggal": "2025-12-01",
         "versi": 1},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["versi"] == 2 and response["ETag"] == '"2"'
    assert body["jumlah_anggota"] == 4
    baby = first.members.get(nama="Bayi Api")
    assert baby.pk in [member["id"] for member in body["members"]]
    change = ChangeRecord.objects.get(table="member", row_id=baby.pk, action="insert")
    assert change.actor.startswith(f"{personas['operator_a'].pk}:operator-a@")

    response = client.post(
        url(first), {"kind": "ganti_kepala", "anggota": wife.pk},
        content_type="application/json", headers={"If-Match": '"2"'},
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    heads = [m["id"] for m in response.json()["members"] if m["hubungan_keluarga"] == 1]
    assert heads == [wife.pk] and response.json()["versi"] == 3


def test_household_event_api_errors_404_and_409(village, personas, as_user):
    client = as_user(personas["operator_a"])
    first = village["first"]

    def post(household, data):
        return client.post(url(household), data, content_type="application/json")

    for data, field in [
        ({"kind": "lahir", "jenis_kelamin": 1, "tanggal": "2025-12-01", "versi": 1}, "nama"),
        ({"kind": "lahir", "nama": "B", "jenis_kelamin": 1, "tanggal": "2020-01-01", "versi": 1},
         "tanggal"),
        ({"kind": "kawin", "versi": 1}, "kind"),
        ({"kind": "ganti_kepala", "versi": 1}, "anggota"),
        ({"kind": "ganti_kepala", "anggota": village["wife"].pk, "nama": "x", "versi": 1},
         "nama"),
        ({"kind": "lahir", "nama": "B", "jenis_kelamin": 1, "tanggal": "2025-12-01"}, "versi"),
    ]:  # fmt: skip
        response = post(first, data)
        assert response.status_code == 400, (data, response.json())
        assert field in response.json()["error"]["fields"], (data, response.json())
    body = {"kind": "lahir", "nama": "B", "jenis_kelamin": 1, "tanggal": "2025-12-01"}
    stale = post(first, {**body, "versi": 4})
    assert stale.status_code == 409 and stale.json()["error"]["current"] == {"versi": 1}
    assert post(village["other"], {**body, "versi": 1}).status_code == 404
    assert Household.objects.get(pk=first.pk).jumlah_anggota == 3


def member_url(member: Member) -> str:
    return f"/api/v1/members/{member.pk}/events/"


def test_transfers_through_the_api_need_both_households_editable(village, personas, as_user):
    wife, second, other = village["wife"], village["second"], village["other"]

    def post(user, member, data):
        member.refresh_from_db()
        return as_user(personas[user]).post(
            member_url(member), {"kind": "pindah_kk", "versi": member.versi, **data},
            content_type="application/json",
        )  # fmt: skip

    # An operator of desa A cannot move a member to desa B, nor the other way round.
    refused = post("operator_a", wife, {"rumah_tangga_tujuan": other.pk})
    assert refused.status_code == 400
    assert "rumah_tangga_tujuan" in refused.json()["error"]["fields"]
    assert post("operator_b", wife, {"rumah_tangga_tujuan": other.pk}).status_code == 404
    assert post("official", wife, {"rumah_tangga_tujuan": second.pk}).status_code == 403
    # Kind-specific fields are named; a transfer's date may not lie in the future.
    placed = post("operator_a", wife, {"rumah_tangga_tujuan": second.pk, "tujuan_pindah": "X"})
    assert placed.status_code == 400 and "tujuan_pindah" in placed.json()["error"]["fields"]
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    dated = post("operator_a", wife, {"rumah_tangga_tujuan": second.pk, "tanggal": future})
    assert dated.status_code == 400 and "tanggal" in dated.json()["error"]["fields"]
    missing = post("operator_a", wife, {})
    assert "rumah_tangga_tujuan" in missing.json()["error"]["fields"]
    head = village["first"].members.get(hubungan_keluarga=1)
    head_moved = post("operator_a", head, {"rumah_tangga_tujuan": second.pk})
    assert head_moved.status_code == 400
    assert "hubungan_keluarga" in head_moved.json()["error"]["fields"]
    # Within the village: the operator; across villages: an administrator.
    moved = post("operator_a", wife, {"rumah_tangga_tujuan": second.pk})
    assert moved.status_code == 200, moved.json()
    assert moved.json()["household"] == second.pk
    across = post("admin", wife, {"rumah_tangga_tujuan": other.pk})
    assert across.status_code == 200, across.json()
    assert across.json()["region"] == BABULU_DESA
    assert Member.objects.get(pk=wife.pk).household_id == other.pk


def test_a_birth_and_an_import_refuse_a_nik_that_contradicts_the_date_alike(village):
    # One rule (rules.nik_birth_mismatch) for both paths: same verdict, same words.
    wrong = nik_for(PENAJAM_KELURAHAN, BIRTH.replace(day=BIRTH.day % 28 + 1), 1, 77)
    with pytest.raises(ValidationError) as caught:
        birth(village["first"], nik=wrong)
    (refused,) = caught.value.message_dict["nik"]
    households, members = family(kk="6409010101250777", base=77)
    members[0].update(nik=wrong, tanggal_lahir="2015-06-10", jenis_kelamin="1")  # before its survey
    result = run(households, members)
    assert [str(e.message) for e in result.errors if e.column == "tanggal_lahir"] == [refused]
