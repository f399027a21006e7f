"""Life events on pages (issue 13): one form per kind, each with its date and the actor
(the logged-in operator), recorded through the same services as the API; refusals next
to their fields; a save over a newer version offers the operator's entry again."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from households.models import EventKind, Household, LifeEvent, Member, MemberStatus
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
    point_in_village,
)

pytestmark = pytest.mark.django_db

DAY = "2025-12-01"  # after the factories' survey date


@pytest.fixture
def home():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    child = MemberFactory(household=household, nama="Anak Satu", tanggal_lahir=dt.date(2005, 1, 1))
    wife = MemberFactory(
        household=household, nama="Istri", hubungan_keluarga=3, jenis_kelamin=2,
        tanggal_lahir=dt.date(1987, 5, 2),
    )  # fmt: skip
    return {"household": household, "child": child, "wife": wife}


@pytest.fixture
def operator(personas, as_user):
    return as_user(personas["operator_a"])


def opened(client, url) -> dict:
    """What the page's form posts as it was opened (hidden fields and initial values)."""
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "" if value is None else str(value)
    return data


def size(household) -> int:
    return Household.objects.values_list("jumlah_anggota", flat=True).get(pk=household.pk)


def test_a_birth_on_the_page_adds_a_member_with_the_operator_as_actor(home, operator):
    household = home["household"]
    url = f"/rumah-tangga/{household.pk}/lahir/"
    data = {**opened(operator, url), "nama": "Bayi Halaman", "jenis_kelamin": "2",
            "tanggal": DAY, "disabilitas": "false"}  # fmt: skip
    response = operator.post(url, data)
    assert response.status_code == 302 and response["Location"] == f"/rumah-tangga/{household.pk}/"
    baby = household.members.get(nama="Bayi Halaman")
    assert baby.nik.startswith("0") and size(household) == 4
    event = LifeEvent.objects.get(kind=EventKind.BIRTH, member=baby)
    assert event.tanggal == dt.date(2025, 12, 1) and "operator-a" in event.actor


def test_a_death_and_a_move_out_stop_counting_the_member(home, operator):
    household, child, wife = home["household"], home["child"], home["wife"]
    death = f"/rumah-tangga/{household.pk}/anggota/{child.pk}/meninggal/"
    assert operator.post(death, {**opened(operator, death), "tanggal": DAY}).status_code == 302
    move = f"/rumah-tangga/{household.pk}/anggota/{wife.pk}/pindah-keluar/"
    data = {**opened(operator, move), "tanggal": DAY, "tujuan_pindah": "Balikpapan"}
    assert operator.post(move, data).status_code == 302
    child.refresh_from_db()
    wife.refresh_from_db()
    assert child.status_anggota == MemberStatus.DIED
    assert (wife.status_anggota, wife.tujuan_pindah) == (MemberStatus.MOVED_OUT, "Balikpapan")
    assert size(household) == 1


def test_a_refusal_is_shown_next_to_its_field(home, operator):
    household, child = home["household"], home["child"]
    url = f"/rumah-tangga/{household.pk}/anggota/{child.pk}/meninggal/"
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = operator.post(url, {**opened(operator, url), "tanggal": tomorrow})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_tanggal-error"' in body and "masa depan" in body
    child.refresh_from_db()
    assert child.status_anggota == MemberStatus.CURRENT


def test_a_member_moves_to_another_household_of_the_village_by_its_kk(home, operator):
    household, child = home["household"], home["child"]
    other = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    elsewhere = HouseholdFactory(region_id=BABULU_DESA)
    url = f"/rumah-tangga/{household.pk}/anggota/{child.pk}/pindahkan/"
    refused = operator.post(
        url, {**opened(operator, url), "rumah_tangga_tujuan": elsewhere.no_kk, "tanggal": DAY}
    )
    assert refused.status_code == 400
    assert "tidak ditemukan di wilayah Anda" in refused.content.decode()
    data = {**opened(operator, url), "rumah_tangga_tujuan": other.no_kk, "tanggal": DAY}
    assert operator.post(url, data).status_code == 302
    child.refresh_from_db()
    assert child.household_id == other.pk
    assert LifeEvent.objects.filter(kind=EventKind.TRANSFER, other_household=other).exists()


def test_a_move_in_from_outside_and_from_another_household(home, operator):
    household = home["household"]
    url = f"/rumah-tangga/{household.pk}/pindah-masuk/"
    nik = nik_for(PENAJAM_KELURAHAN, dt.date(1995, 4, 4), 1, 7070)
    outside = {**opened(operator, url), "asal": "1", "nik": nik, "nama": "Pendatang",
               "jenis_kelamin": "1", "tanggal_lahir": "1995-04-04", "hubungan_keluarga": "9",
               "asal_pindah": "Samarinda", "tanggal": DAY}  # fmt: skip
    assert operator.post(url, outside).status_code == 302
    assert household.members.filter(nik=nik, nama="Pendatang").exists()
    neighbour = MemberFactory(household=HouseholdFactory(region_id=PENAJAM_KELURAHAN))
    portal = {**opened(operator, url), "asal": "2", "nik": neighbour.nik,
              "hubungan_keluarga": "9", "tanggal": DAY}  # fmt: skip
    assert operator.post(url, portal).status_code == 302
    neighbour.refresh_from_db()
    assert neighbour.household_id == household.pk  # the same row: NIK and history kept


def test_a_move_in_from_another_village_names_nothing(home, operator):
    household = home["household"]
    stranger = MemberFactory(household=HouseholdFactory(region_id=BABULU_DESA))
    url = f"/rumah-tangga/{household.pk}/pindah-masuk/"
    data = {**opened(operator, url), "asal": "2", "nik": stranger.nik, "tanggal": DAY}
    response = operator.post(url, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "tidak ditemukan di rumah tangga wilayah Anda" in body
    assert stranger.nama not in body and stranger.household.no_kk[-4:] not in body


def test_a_split_forms_a_new_household_and_shows_it(home, operator):
    household, child = home["household"], home["child"]
    url = f"/rumah-tangga/{household.pk}/pecah-kk/"
    page = operator.get(url).content.decode()
    assert "Anak Satu" in page and 'type="checkbox"' in page
    data = {**opened(operator, url), "anggota_pecah": [child.pk], "kepala_baru": child.pk,
            "tanggal": DAY}  # fmt: skip
    response = operator.post(url, data)
    assert response.status_code == 302
    child.refresh_from_db()
    assert response["Location"] == f"/rumah-tangga/{child.household_id}/"
    assert child.household_id != household.pk and child.hubungan_keluarga == 1
    assert Household.objects.get(pk=child.household_id).no_kk.startswith("0")


def test_a_change_of_head(home, operator):
    household, wife = home["household"], home["wife"]
    former = household.members.get(hubungan_keluarga=1)
    url = f"/rumah-tangga/{household.pk}/ganti-kepala/"
    assert operator.post(url, {**opened(operator, url), "anggota": wife.pk}).status_code == 302
    wife.refresh_from_db()
    former.refresh_from_db()
    assert wife.hubungan_keluarga == 1 and former.hubungan_keluarga == 2  # husband


def test_a_birth_over_a_newer_version_offers_the_entry_again(home, operator):
    household = home["household"]
    url = f"/rumah-tangga/{household.pk}/lahir/"
    data = {**opened(operator, url), "nama": "Bayi Kedua", "jenis_kelamin": "1",
            "tanggal": DAY, "disabilitas": "false"}  # fmt: skip
    Household.objects.filter(pk=household.pk).update(alamat="Jl. Baru 2")  # someone else
    response = operator.post(url, data)
    assert response.status_code == 409
    assert 'id="conflict"' in response.content.decode()
    again = response.context["form"]
    assert again.data["nama"] == "Bayi Kedua"
    household.refresh_from_db()
    assert again.data["versi"] == str(household.versi)
    assert not Member.objects.filter(nama="Bayi Kedua").exists()
    assert operator.post(url, again.data).status_code == 302
    assert Member.objects.filter(nama="Bayi Kedua").exists()


def test_the_household_page_links_the_forms_for_editors_only(home, personas, as_user):
    household, child = home["household"], home["child"]
    page = as_user(personas["operator_a"]).get(f"/rumah-tangga/{household.pk}/").content.decode()
    for slug in ("lahir", "pindah-masuk", "pecah-kk", "ganti-kepala", "anggota/baru"):
        assert f"/rumah-tangga/{household.pk}/{slug}/" in page
    for slug in ("meninggal", "pindah-keluar", "pindahkan", "ubah", "hapus"):
        assert f"/rumah-tangga/{household.pk}/anggota/{child.pk}/{slug}/" in page
    analyst = as_user(personas["analyst"]).get(f"/rumah-tangga/{household.pk}/").content.decode()
    assert "/lahir/" not in analyst and "/meninggal/" not in analyst


def test_a_split_household_may_live_elsewhere_in_the_village(home, operator):
    household, child = home["household"], home["child"]
    url = f"/rumah-tangga/{household.pk}/pecah-kk/"
    far = point_in_village(BABULU_DESA, 1)
    data = {**opened(operator, url), "anggota_pecah": [child.pk], "kepala_baru": child.pk,
            "tanggal": DAY, "alamat": "Jl. Baru 7",
            "lintang": f"{far.y:.6f}", "bujur": f"{far.x:.6f}"}  # fmt: skip
    refused = operator.post(url, data)
    assert refused.status_code == 400
    assert "luar desa" in " ".join(refused.context["form"].errors["lintang"])
    near = point_in_village(PENAJAM_KELURAHAN, 7)
    data.update({"lintang": f"{near.y:.6f}", "bujur": f"{near.x:.6f}"})
    assert operator.post(url, data).status_code == 302
    child.refresh_from_db()
    new = Household.objects.get(pk=child.household_id)
    assert new.alamat == "Jl. Baru 7" and new.lokasi.distance(near) < 1e-5
