"""Life events through the API (issue 13): moving in, splitting a household, replacing
temporary numbers, and the register GET /api/v1/events/, which lists only what the
caller's areas hold, side by side, with names and dates per the disclosure policy. The
household page shows the household's events."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.db import connection

from desapresisi.masking import mask_number
from desapresisi.models import AuditAction, AuditEntry
from households.models import EventKind, Household, LifeEvent, Member, TemporarySerial
from households.services import member_event_record, member_transfer_record
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
)

pytestmark = pytest.mark.django_db

DAY = "2025-12-01"
BORN = dt.date(1992, 6, 20)


@pytest.fixture
def village():
    """Desa A: `first` (head, a son of 20, his wife), `second`; desa B: `other` (head and
    a daughter)."""
    first = HouseholdFactory(region_id=PENAJAM_KELURAHAN, rt="003")
    son = MemberFactory(household=first, tanggal_lahir=dt.date(2005, 1, 3), nama="Putra Sulung")
    wife = MemberFactory(
        household=first, hubungan_keluarga=5, jenis_kelamin=2, tanggal_lahir=dt.date(2006, 8, 9),
        nama="Menantu Rahasia",
    )  # fmt: skip
    second = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    other = HouseholdFactory(region_id=BABULU_DESA)
    daughter = MemberFactory(household=other, jenis_kelamin=2, tanggal_lahir=BORN, nama="Putri B")
    return {"first": first, "son": son, "wife": wife, "second": second, "other": other,
            "daughter": daughter}  # fmt: skip


def versi(household: Household) -> int:
    return Household.objects.values_list("versi", flat=True).get(pk=household.pk)


def post_household(client, household, data, **headers):
    return client.post(
        f"/api/v1/households/{household.pk}/events/",
        {"versi": versi(household), **data},
        content_type="application/json",
        **headers,
    )


def post_member(client, member, data):
    member.refresh_from_db()
    return client.post(
        f"/api/v1/members/{member.pk}/events/",
        {"versi": member.versi, **data},
        content_type="application/json",
    )


def test_operator_records_a_move_in_and_a_split_through_the_api(village, personas, as_user):
    client = as_user(personas["operator_a"])
    first, second, son, wife = (village[k] for k in ("first", "second", "son", "wife"))
    nik = nik_for(PENAJAM_KELURAHAN, BORN, 1, 8080)
    moved_in = post_household(
        client, second,
        {"kind": "pindah_masuk", "nik": nik, "nama": "Pendatang", "jenis_kelamin": 1,
         "tanggal_lahir": BORN.isoformat(), "hubungan_keluarga": 9, "tanggal": DAY,
         "asal_pindah": "Kota Balikpapan"},
    )  # fmt: skip
    assert moved_in.status_code == 200, moved_in.json()
    assert moved_in.json()["jumlah_anggota"] == 2 and moved_in.json()["versi"] == 2
    assert Member.objects.get(nik=nik).household_id == second.pk

    split = post_household(
        client, first,
        {"kind": "pecah_kk", "tanggal": DAY, "kepala_baru": son.pk, "rt": "007",
         "anggota_pecah": [{"id": son.pk}, {"id": wife.pk, "hubungan_keluarga": 3}]},
    )  # fmt: skip
    assert split.status_code == 201, split.json()
    body = split.json()
    new = Household.objects.get(pk=body["id"])
    assert split["Location"].endswith(f"/api/v1/households/{new.pk}/")
    assert split["ETag"] == f'"{body["versi"]}"'
    assert body["no_kk"] == mask_number(new.no_kk) and new.no_kk.startswith("0")
    assert body["rt"] == "007" and body["jumlah_anggota"] == 2
    assert {(m["id"], m["hubungan_keluarga"]) for m in body["members"]} == {
        (son.pk, 1),
        (wife.pk, 3),
    }
    assert versi(first) == 2

    issued = post_household(client, new, {"kind": "ganti_kk", "no_kk": "6409010101250555"})
    assert issued.status_code == 200, issued.json()
    assert Household.objects.get(pk=new.pk).no_kk == "6409010101250555"
    kinds = list(LifeEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["pindah_masuk", "pecah_kk", "pecah_kk"]


def test_split_and_move_in_errors_over_the_api_are_400_404_and_409(village, personas, as_user):
    client = as_user(personas["operator_a"])
    first, son = village["first"], village["son"]
    head = first.members.get(hubungan_keluarga=1)
    for data, field in [
        ({"kind": "pecah_kk", "tanggal": DAY, "kepala_baru": head.pk,
          "anggota_pecah": [{"id": head.pk}]}, "anggota_pecah"),
        ({"kind": "pecah_kk", "tanggal": DAY, "anggota_pecah": [{"id": son.pk}]}, "kepala_baru"),
        ({"kind": "pecah_kk", "kepala_baru": son.pk, "anggota_pecah": [{"id": son.pk}]},
         "tanggal"),
        ({"kind": "pecah_kk", "tanggal": DAY, "kepala_baru": son.pk,
          "anggota_pecah": [{"id": son.pk}], "no_kk": village["other"].no_kk}, "no_kk"),
        ({"kind": "pecah_kk", "tanggal": DAY, "kepala_baru": son.pk,
          "anggota_pecah": [{"id": son.pk}], "lokasi": [1, 2, 3]}, "lokasi"),
        ({"kind": "pecah_kk", "tanggal": DAY, "kepala_baru": son.pk,
          "anggota_pecah": [{"id": son.pk}], "nama": "x"}, "nama"),
        ({"kind": "pindah_masuk", "tanggal": DAY, "nama": "X", "jenis_kelamin": 2,
          "tanggal_lahir": BORN.isoformat(), "hubungan_keluarga": 9,
          "nik": village["daughter"].nik}, "nik"),
        ({"kind": "pindah_masuk", "tanggal": DAY, "nik": "1"}, "nama"),
        ({"kind": "ganti_kk", "no_kk": "6409010101250556"}, "no_kk"),  # not temporary
    ]:  # fmt: skip
        response = post_household(client, first, data)
        assert response.status_code == 400, (data, response.json())
        assert field in response.json()["error"]["fields"], (data, response.json())
    refused = post_household(
        client, first,
        {"kind": "pindah_masuk", "tanggal": DAY, "nama": "X", "jenis_kelamin": 2,
         "tanggal_lahir": BORN.isoformat(), "hubungan_keluarga": 9,
         "nik": village["daughter"].nik},
    ).json()["error"]["fields"]["nik"][0]  # fmt: skip
    for secret in ("Putri B", "Babulu", village["other"].no_kk[-4:]):
        assert secret not in refused
    body = {"kind": "pecah_kk", "tanggal": DAY, "kepala_baru": son.pk,
            "anggota_pecah": [{"id": son.pk}]}  # fmt: skip
    stale = client.post(
        f"/api/v1/households/{first.pk}/events/", {**body, "versi": 9},
        content_type="application/json",
    )  # fmt: skip
    assert stale.status_code == 409 and stale.json()["error"]["current"] == {"versi": 1}
    other_village = post_household(client, village["other"], body)
    assert other_village.status_code == 404
    official = post_household(as_user(personas["official"]), first, body)
    assert official.status_code == 403
    assert Household.objects.count() == 3 and not LifeEvent.objects.exists()


def test_a_temporary_nik_is_replaced_through_the_member_events(village, personas, as_user):
    client = as_user(personas["operator_a"])
    first = village["first"]
    born = post_household(
        client, first, {"kind": "lahir", "nama": "Bayi Api", "jenis_kelamin": 2, "tanggal": DAY}
    )
    assert born.status_code == 200, born.json()
    baby = Member.objects.get(nama="Bayi Api")
    issued = nik_for(PENAJAM_KELURAHAN, dt.date(2025, 12, 1), 2, 4444)
    wrong = post_member(client, baby, {"kind": "ganti_nik", "nik": "12"})
    assert wrong.status_code == 400 and "nik" in wrong.json()["error"]["fields"]
    dated = post_member(client, baby, {"kind": "ganti_nik", "nik": issued, "tanggal": DAY})
    assert dated.status_code == 400 and "tanggal" in dated.json()["error"]["fields"]
    replaced = post_member(client, baby, {"kind": "ganti_nik", "nik": issued})
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json()["nik"] == mask_number(issued)
    assert Member.objects.get(pk=baby.pk).nik == issued


def test_a_dated_change_of_head_and_transfer_through_the_api(village, personas, as_user):
    client = as_user(personas["operator_a"])
    first, son, second = village["first"], village["son"], village["second"]
    head = post_household(
        client, first, {"kind": "ganti_kepala", "anggota": son.pk, "tanggal": "2025-11-30"}
    )
    assert head.status_code == 200, head.json()
    moved = post_member(
        client, village["wife"], {"kind": "pindah_kk", "rumah_tangga_tujuan": second.pk}
    )
    assert moved.status_code == 200, moved.json()
    dates = dict(LifeEvent.objects.values_list("kind", "tanggal"))
    assert dates[EventKind.HEAD_CHANGE] == dt.date(2025, 11, 30)
    assert dates[EventKind.TRANSFER] == dt.date.today()


# --- the register: GET /api/v1/events/ -------------------------------------------------------


@pytest.fixture
def register(village):
    """Desa A: a death; desa B: a move out; across the two: an administrator's transfer
    of A's son into B's household."""
    member_event_record(
        queryset=Member.objects.all(), pk=village["wife"].pk, kind="meninggal",
        date=dt.date(2025, 11, 5), expected_version=1,
    )  # fmt: skip
    member_event_record(
        queryset=Member.objects.all(), pk=village["daughter"].pk, kind="pindah_keluar",
        date=dt.date(2025, 12, 2), expected_version=1, destination="Kota Samarinda",
    )  # fmt: skip
    member_transfer_record(
        queryset=Member.objects.all(), pk=village["son"].pk,
        target_queryset=Household.objects.all(), target_pk=village["other"].pk,
        expected_version=1, date=dt.date(2025, 12, 3), relationship=9,
    )  # fmt: skip
    return village


def listed(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/events/{query}")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_the_register_lists_only_events_of_the_callers_areas(register, personas, as_user):
    a = listed(as_user(personas["operator_a"]))
    b = listed(as_user(personas["operator_b"]))
    everything = listed(as_user(personas["admin"]))
    assert [row["kind"] for row in everything] == ["pindah_kk", "pindah_keluar", "meninggal"]
    assert [row["kind"] for row in a] == ["pindah_kk", "meninggal"]
    assert [row["kind"] for row in b] == ["pindah_kk", "pindah_keluar"]
    assert listed(as_user(personas["analyst_waru"])) == []
    assert as_user(personas["norole"]).get("/api/v1/events/").status_code == 403
    assert as_user(None).get("/api/v1/events/").status_code in (401, 403)


def test_a_transfer_across_villages_shows_each_side_only_to_its_area(register, personas, as_user):
    son, first, other = register["son"], register["first"], register["other"]
    (seen_by_a,) = listed(as_user(personas["operator_a"]), "?kind=pindah_kk")
    (seen_by_b,) = listed(as_user(personas["operator_b"]), "?kind=pindah_kk")
    # Desa A: its own side, the name it knew; nothing of the household in desa B, nor
    # the member's id (the row is in desa B now).
    assert (seen_by_a["household"], seen_by_a["region"], seen_by_a["rt"]) == (
        first.pk, PENAJAM_KELURAHAN, "003",
    )  # fmt: skip
    hidden = ("other_household", "other_region", "other_dusun", "other_rw", "other_rt", "member")
    assert all(seen_by_a[key] is None for key in hidden)
    assert seen_by_a["nama"] == son.nama and seen_by_a["nik"] == mask_number(son.nik)
    # Desa B: its side and the member (now its own); nothing of desa A's household.
    assert (seen_by_b["other_household"], seen_by_b["other_region"], seen_by_b["member"]) == (
        other.pk, BABULU_DESA, son.pk,
    )  # fmt: skip
    assert all(seen_by_b[key] is None for key in ("household", "region", "dusun", "rw", "rt"))
    (seen_by_admin,) = listed(as_user(personas["admin"]), "?kind=pindah_kk")
    assert (seen_by_admin["household"], seen_by_admin["other_household"]) == (first.pk, other.pk)


def test_filters_apply_to_the_visible_sides_only(register, personas, as_user):
    client = as_user(personas["operator_a"])
    other = register["other"]
    # Desa B's code or household id tells desa A's operator nothing, not even that its
    # transfer went there.
    assert listed(client, f"?region={BABULU_DESA}") == []
    assert listed(client, f"?household={other.pk}") == []
    assert len(listed(client, f"?region={PENAJAM_KELURAHAN}")) == 2
    assert len(listed(client, f"?household={register['first'].pk}")) == 2
    assert [r["kind"] for r in listed(client, "?kind=meninggal,pindah_keluar")] == ["meninggal"]
    assert [r["kind"] for r in listed(client, "?bulan=2025-11")] == ["meninggal"]
    dated = listed(client, "?tanggal_dari=2025-12-01&tanggal_sampai=2025-12-31")
    assert [r["kind"] for r in dated] == ["pindah_kk"]
    admin = as_user(personas["admin"])
    assert [r["kind"] for r in listed(admin, f"?region={BABULU_DESA}")] == [
        "pindah_kk", "pindah_keluar",
    ]  # fmt: skip
    for query, field in [
        ("?region=bukan", "region"),
        ("?kind=kawin", "kind"),
        ("?bulan=2025-13", "bulan"),
        ("?tanggal_dari=kemarin", "tanggal_dari"),
        ("?household=x", "household"),
    ]:
        response = client.get(f"/api/v1/events/{query}")
        assert response.status_code == 400, query
        assert field in response.json()["error"]["fields"], query


def test_roles_without_names_get_the_month_but_no_name_number_date_or_rt(
    register, personas, as_user
):
    client = as_user(personas["official"])
    rows = listed(client)
    assert len(rows) == 3
    for row in rows:
        for key in ("nama", "nik", "tanggal", "asal_tujuan", "rw", "rt", "other_rw", "other_rt"):
            assert row[key] is None, (key, row)
        assert row["bulan"] in ("2025-11", "2025-12") and row["jenis_kelamin"] in (1, 2)
    refused = client.get("/api/v1/events/?tanggal_dari=2025-12-01")
    assert refused.status_code == 400 and "tanggal_dari" in refused.json()["error"]["fields"]
    assert len(listed(client, "?bulan=2025-12")) == 2


def test_unmasking_the_register_is_for_roles_allowed_to_and_audited(register, personas, as_user):
    analyst = as_user(personas["analyst"])
    rows = listed(analyst, "?unmask=true&kind=meninggal")
    assert rows[0]["nik"] == register["wife"].nik
    assert AuditEntry.objects.filter(action=AuditAction.UNMASK, rows=1).exists()
    refused = as_user(personas["operator_a"]).get("/api/v1/events/?unmask=true")
    assert refused.status_code == 403


def test_the_register_pages_with_a_cursor(register, personas, as_user):
    client = as_user(personas["admin"])
    first = client.get("/api/v1/events/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    rest = client.get(first["next"]).json()
    ids = [row["id"] for row in first["results"] + rest["results"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    # A cursor that is not one of the portal's is bad input, named (not a missing page).
    bad = client.get("/api/v1/events/?cursor=kind")
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]["fields"]
    assert client.get("/api/v1/households/?cursor=kind").status_code == 400


# --- the household page ---------------------------------------------------------------------


def test_the_household_page_lists_its_events_with_the_other_household_when_visible(
    register, personas, as_user
):
    first, son = register["first"], register["son"]
    page_a = as_user(personas["operator_a"]).get(f"/rumah-tangga/{first.pk}/")
    html = page_a.content.decode()
    assert 'id="events"' in html
    assert f"{son.nama} pindah ke rumah tangga lain" in html
    assert "di luar wilayah Anda" in html
    assert f"/rumah-tangga/{register['other'].pk}/" not in html
    assert "Menantu Rahasia meninggal" in html
    page_admin = as_user(personas["admin"]).get(f"/rumah-tangga/{first.pk}/").content.decode()
    assert f'href="/rumah-tangga/{register["other"].pk}/"' in page_admin
    assert mask_number(register["other"].no_kk) in page_admin
    page_b = as_user(personas["operator_b"]).get(f"/rumah-tangga/{register['other'].pk}/")
    html_b = page_b.content.decode()
    assert f"{son.nama} pindah masuk dari rumah tangga lain" in html_b
    assert "Kota Samarinda" in html_b  # the daughter's destination


# --- events recorded before the register ----------------------------------------------------


def test_the_migration_registers_earlier_deaths_moves_out_and_births(village):
    """Migration 0019 adds the events the rows already tell: run its backfill again on a
    register emptied of them."""
    migration = importlib.import_module("households.migrations.0019_life_events")
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', '5:operator-lama@10.0.0.1', false)")
    member_event_record(
        queryset=Member.objects.all(), pk=village["daughter"].pk, kind="pindah_keluar",
        date=dt.date(2025, 12, 2), expected_version=1, destination="Kota Samarinda",
    )  # fmt: skip
    MemberFactory(
        household=village["second"], nik="0" + PENAJAM_KELURAHAN.replace(".", "") + "00004",
        nama="Bayi Lama", tanggal_lahir=dt.date(2025, 11, 1),
    )  # fmt: skip
    LifeEvent.objects.all().delete()
    TemporarySerial.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('desapresisi.actor', '', false)")
        cursor.execute(migration.BACKFILL)
    moved, born = LifeEvent.objects.order_by("kind", "id")
    moved, born = (moved, born) if moved.kind == "pindah_keluar" else (born, moved)
    assert (moved.kind, moved.tanggal, moved.asal_tujuan, moved.region_id) == (
        "pindah_keluar", dt.date(2025, 12, 2), "Kota Samarinda", BABULU_DESA,
    )  # fmt: skip
    assert moved.actor == "5:operator-lama@10.0.0.1"
    assert (born.kind, born.tanggal, born.nama) == ("lahir", dt.date(2025, 11, 1), "Bayi Lama")
    serial = TemporarySerial.objects.get()
    assert (serial.key, serial.last) == ("nik:0" + PENAJAM_KELURAHAN.replace(".", ""), 4)
