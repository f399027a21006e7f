"""Life events, part 1 (issue 13): a member who died or moved out stays on record, with
status and date, and stops counting in the household's size, its children out of school,
the indicators and the map; the figures after a refresh equal a count written plainly."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from desapresisi.access import Disclosure, disclosure_for
from desapresisi.models import ChangeRecord
from households.exports.csv_sql import member_csv
from households.exports.rows import csv_stream, member_headers, member_rows
from households.indicators.criteria import map_criteria_conditions
from households.indicators.rollup import indicators_refresh
from households.models import Household, Indicator, IndicatorValue, Member, MemberStatus
from households.selectors import household_page_data
from households.services import StaleEdit, member_event_record
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

SURVEY = dt.date(2025, 10, 15)  # the factories' survey date: period "2025"


@pytest.fixture
def village():
    """Two households in desa A, one in desa B; a 14-year-old out of school in the first."""
    first = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    child = MemberFactory(
        household=first, tanggal_lahir=dt.date(2011, 2, 1), partisipasi_sekolah=3,
        jenjang_pendidikan=8, ijazah_tertinggi=3,
    )  # fmt: skip
    spouse = MemberFactory(household=first, hubungan_keluarga=3, tanggal_lahir=dt.date(1987, 5, 2))
    second = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    other = HouseholdFactory(region_id=BABULU_DESA)
    MemberFactory(household=other)
    indicators_refresh(full=True)
    return {"first": first, "child": child, "spouse": spouse, "second": second, "other": other}


def record(member: Member, kind: str, date: dt.date, **extra):
    member.refresh_from_db()
    return member_event_record(
        queryset=Member.objects.all(), pk=member.pk, kind=kind, date=date,
        expected_version=member.versi, **extra,
    )  # fmt: skip


def plain_counts() -> dict[str, dict[str, int]]:
    """Per village, counted plainly in SQL from the member rows: people who have not died
    or moved out, and of them the children 7-18 at the survey date not in school."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT h.region_id, count(*),
                   count(*) FILTER (WHERE m.partisipasi_sekolah IN (1, 3)
                       AND date_part('year', age(h.tanggal_survei, m.tanggal_lahir))
                           BETWEEN 7 AND 18)
            FROM households_member m JOIN households_household h ON h.id = m.household_id
            WHERE m.status_anggota = 1
            GROUP BY h.region_id
            """
        )
        return {code: {"people": n, "ats": ats} for code, n, ats in cursor.fetchall()}


def figure(code: str, region: str) -> float:
    row = IndicatorValue.objects.filter(indicator_id=code, region_id=region, period="2025").first()
    return row.numerator if row else 0.0


def assert_rollup_matches_plain_count():
    plain = plain_counts()
    for region in (PENAJAM_KELURAHAN, BABULU_DESA):
        expected = plain.get(region, {"people": 0, "ats": 0})
        assert figure("jumlah_jiwa", region) == expected["people"], region
        assert figure("ats_7_18", region) == expected["ats"], region
        stored = Household.objects.filter(region_id=region)
        assert sum(h.jumlah_anggota for h in stored) == expected["people"], region
        assert sum(h.jumlah_ats for h in stored) == expected["ats"], region


def test_death_of_a_child_out_of_school_lowers_household_size_ats_and_the_figures(village):
    first, child = village["first"], village["child"]
    first.refresh_from_db()
    assert (first.jumlah_anggota, first.jumlah_ats) == (3, 1)
    assert figure("ats_7_18", PENAJAM_KELURAHAN) == 1
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 4  # two heads, the child, the spouse
    assert_rollup_matches_plain_count()

    result = record(child, "meninggal", dt.date(2025, 12, 1))
    indicators_refresh()

    first.refresh_from_db()
    assert (first.jumlah_anggota, first.jumlah_ats) == (2, 0)
    assert figure("ats_7_18", PENAJAM_KELURAHAN) == 0
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 3
    assert_rollup_matches_plain_count()
    # The member stays, with status, date and a new version.
    child.refresh_from_db()
    assert (child.status_anggota, child.tanggal_status) == (MemberStatus.DIED, dt.date(2025, 12, 1))
    assert child.versi == result.versi == 2


def test_moving_out_lowers_the_counts_and_keeps_the_destination(village):
    first, spouse = village["first"], village["spouse"]
    record(spouse, "pindah_keluar", dt.date(2025, 11, 20), destination="Kota Balikpapan")
    indicators_refresh()
    first.refresh_from_db()
    assert (first.jumlah_anggota, first.jumlah_ats) == (2, 1)
    assert figure("jumlah_jiwa", PENAJAM_KELURAHAN) == 3
    assert_rollup_matches_plain_count()
    spouse.refresh_from_db()
    assert (spouse.status_anggota, spouse.tujuan_pindah) == (
        MemberStatus.MOVED_OUT, "Kota Balikpapan",
    )  # fmt: skip


def test_a_survey_date_change_recounts_only_current_members(village):
    first = village["first"]
    record(village["child"], "meninggal", dt.date(2025, 12, 1))
    Household.objects.filter(pk=first.pk).update(tanggal_survei=dt.date(2025, 11, 1))
    first.refresh_from_db()
    assert first.jumlah_ats == 0


def test_a_dead_child_meets_no_map_criterion(village):
    """The map colours households by member criteria (an EXISTS over members): a child who
    died no longer makes its household an out-of-school household."""
    Indicator.objects.filter(code="ats_7_18").update(map_criterion=True)  # shipped so, too
    conditions = dict(map_criteria_conditions())
    first = village["first"]

    def meets() -> bool:
        return Household.objects.filter(pk=first.pk).filter(conditions["ats_7_18"]).exists()

    assert meets()
    record(village["child"], "meninggal", dt.date(2025, 12, 1))
    assert not meets()


def test_the_event_is_in_the_history_with_the_actor(village):
    child = village["child"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', '', false)")
    record(child, "meninggal", dt.date(2025, 12, 1), actor="7:operator-a@127.0.0.1")
    change = ChangeRecord.objects.filter(table="member", row_id=child.pk, action="update").get()
    assert change.actor == "7:operator-a@127.0.0.1"
    assert change.changes["status_anggota"] == [1, 2]
    assert change.changes["tanggal_status"] == [None, "2025-12-01"]
    assert Member.objects.filter(pk=child.pk).exists()


def test_errors_name_the_field_and_write_nothing(village):
    child = village["child"]
    today = timezone.localdate()
    cases = [
        ("meninggal", today + dt.timedelta(days=1), {}, "tanggal"),
        ("meninggal", dt.date(2010, 1, 1), {}, "tanggal"),  # before birth
        ("lahir", today, {}, "kind"),
        ("meninggal", today, {"destination": "Samarinda"}, "tujuan_pindah"),
    ]
    for kind, date, extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            record(child, kind, date, **extra)
        assert field in caught.value.message_dict, (kind, date)
    child.refresh_from_db()
    assert (child.status_anggota, child.versi) == (MemberStatus.CURRENT, 1)


def test_a_member_who_died_cannot_die_again_nor_move_out(village):
    child = village["child"]
    record(child, "meninggal", dt.date(2025, 12, 1))
    for kind in ("meninggal", "pindah_keluar"):
        with pytest.raises(ValidationError) as caught:
            record(child, kind, dt.date(2025, 12, 2))
        assert "kind" in caught.value.message_dict


def test_a_stale_version_is_refused(village):
    child = village["child"]
    with pytest.raises(StaleEdit) as caught:
        member_event_record(
            queryset=Member.objects.all(), pk=child.pk, kind="meninggal",
            date=dt.date(2025, 12, 1), expected_version=99,
        )  # fmt: skip
    assert caught.value.current_version == 1


def test_the_dead_head_stays_head_and_the_household_commits(village):
    """Decision (issue 13, part 1): the head keeps SHDK 1 after death until a change of
    head; the one-head rule is untouched and the household is still valid."""
    head = village["first"].members.get(hubungan_keluarga=1)
    record(head, "meninggal", dt.date(2025, 12, 1))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred head check runs now
    head.refresh_from_db()
    assert (head.hubungan_keluarga, head.status_anggota) == (1, MemberStatus.DIED)


def test_the_household_record_keeps_a_dead_child_whom_no_indicator_counts(village, personas):
    user = personas["operator_a"]
    first, child = village["first"], village["child"]

    def page() -> dict:
        return household_page_data(
            user=user, pk=first.pk, disclosure=disclosure_for(user, unmask_requested=False)
        )

    counted = {item["code"]: item["members"] for item in page()["indicators"]}
    assert child.nama in counted["ats_7_18"]
    record(child, "meninggal", dt.date(2025, 12, 1))
    data = page()
    assert child.pk in [member["id"] for member in data["members"]]
    assert "ats_7_18" not in {item["code"] for item in data["indicators"]}


# --- API ------------------------------------------------------------------------------------


def url(member: Member) -> str:
    return f"/api/v1/members/{member.pk}/events/"


def test_operator_records_a_death_through_the_api(village, personas, as_user):
    client = as_user(personas["operator_a"])
    child = village["child"]
    response = client.post(
        url(child), {"kind": "meninggal", "tanggal": "2025-12-01", "versi": 1},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status_anggota"], body["tanggal_status"], body["versi"]) == (
        2, "2025-12-01", 2,
    )  # fmt: skip
    assert response["ETag"] == '"2"'
    change = ChangeRecord.objects.get(table="member", row_id=child.pk, action="update")
    assert change.actor.startswith(f"{personas['operator_a'].pk}:operator-a@")
    # The list shows current members by default; the filter shows the others.
    listed = client.get(f"/api/v1/members/?household={child.household_id}").json()
    assert child.pk not in [row["id"] for row in listed["results"]]
    died = client.get(f"/api/v1/members/?household={child.household_id}&status_anggota=2")
    assert [row["id"] for row in died.json()["results"]] == [child.pk]
    everyone = client.get(f"/api/v1/members/?household={child.household_id}&status_anggota=semua")
    assert len(everyone.json()["results"]) == 3
    bad = client.get("/api/v1/members/?status_anggota=9")
    assert bad.status_code == 400 and "status_anggota" in bad.json()["error"]["fields"]


def test_api_errors_name_the_field_and_a_stale_version_is_409(village, personas, as_user):
    client = as_user(personas["operator_a"])
    child = village["child"]

    def post(data):
        return client.post(url(child), data, content_type="application/json")

    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    for data, field in [
        ({"kind": "meninggal", "tanggal": future, "versi": 1}, "tanggal"),
        ({"kind": "kawin", "tanggal": "2025-12-01", "versi": 1}, "kind"),
        ({"kind": "meninggal", "versi": 1}, "tanggal"),
        ({"kind": "meninggal", "tanggal": "2025-12-01"}, "versi"),
    ]:
        response = post(data)
        assert response.status_code == 400, (data, response.json())
        assert field in response.json()["error"]["fields"], (data, response.json())
    stale = post({"kind": "meninggal", "tanggal": "2025-12-01", "versi": 5})
    assert stale.status_code == 409
    child.refresh_from_db()
    assert (child.status_anggota, child.versi) == (MemberStatus.CURRENT, 1)


@pytest.mark.parametrize("language", ["id", "en"])
def test_exports_carry_the_status_date_and_destination_in_both_paths(village, language):
    record(village["spouse"], "pindah_keluar", dt.date(2025, 11, 20), destination="Kota Balikpapan")
    record(village["child"], "meninggal", dt.date(2025, 12, 1))
    disclosure = Disclosure(names=True, unmasked=False)
    queryset = Member.objects.filter(household=village["first"])
    python = list(member_rows(queryset=queryset, disclosure=disclosure, language=language))
    by_name = {row["nama"]: row for row in python}
    spouse, child = by_name[village["spouse"].nama], by_name[village["child"].nama]
    moved, died = ("Moved out", "Died") if language == "en" else ("Pindah keluar", "Meninggal")
    assert (spouse["status_anggota"], spouse["status_anggota_label"]) == (3, moved)
    assert (spouse["tanggal_status"], spouse["tujuan_pindah"]) == (
        dt.date(2025, 11, 20), "Kota Balikpapan",
    )  # fmt: skip
    assert (child["status_anggota_label"], child["tanggal_status"]) == (died, dt.date(2025, 12, 1))
    headers = member_headers()
    text = "".join(csv_stream(headers=headers, rows=python)).lstrip("\ufeff")
    expected = list(csv.reader(io.StringIO(text)))
    sql = b"".join(member_csv(queryset=queryset, disclosure=disclosure, language=language))
    assert list(csv.reader(io.StringIO(sql.decode("utf-8-sig")))) == expected
