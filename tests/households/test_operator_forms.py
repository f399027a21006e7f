"""Data entry on pages (issue 13): a new household with its head, members added, edited
and removed. The services say what is refused (next to the field on the page), pages
lock by version, and a record outside the caller's areas is never named."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from desapresisi.models import ChangeRecord
from households.forms import HouseholdCreateForm, MemberForm
from households.models import DataSource, Household, LifeEvent, Member
from households.services import (
    StaleEdit,
    household_create,
    member_create,
    member_event_record,
    member_remove,
)
from tests.factories import (
    BABULU_DESA,
    PENAJAM_KELURAHAN,
    HouseholdFactory,
    MemberFactory,
    nik_for,
    point_in_village,
)

pytestmark = pytest.mark.django_db

SURVEY = dt.date(2025, 6, 1)
HEAD_BIRTH = dt.date(1980, 2, 2)


def create(**changes):
    values = {
        "household_queryset": Household.objects.all(),
        "village_code": PENAJAM_KELURAHAN,
        "no_kk": "",
        "answers": {"tanggal_survei": SURVEY, "fasilitas_bab": 1},
        "head": {"nama": "Kepala Baru", "jenis_kelamin": 1, "tanggal_lahir": HEAD_BIRTH},
        "head_nik": "",
    }
    values.update(changes)
    return household_create(**values)


def refused(call, **changes) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(**changes)
    return caught.value.message_dict


# --- household_create -----------------------------------------------------------------------


def test_a_new_household_gets_its_head_and_temporary_numbers():
    result = create()
    household = Household.objects.get(pk=result.pk)
    head = household.members.get()
    assert head.hubungan_keluarga == 1 and head.nama == "Kepala Baru"
    assert household.jumlah_anggota == 1
    assert household.sumber_data == DataSource.MANUAL
    digits = PENAJAM_KELURAHAN.replace(".", "")
    assert household.no_kk.startswith("0" + digits) and head.nik.startswith("0" + digits)
    assert ChangeRecord.objects.filter(household_id=household.pk).exists()


def test_a_new_household_keeps_issued_numbers_and_a_point_in_its_village():
    point = point_in_village(PENAJAM_KELURAHAN, 3)
    nik = nik_for(PENAJAM_KELURAHAN, HEAD_BIRTH, 1, 4321)
    result = create(
        no_kk="6409010101259999",
        head_nik=nik,
        answers={"tanggal_survei": SURVEY, "lokasi": [point.x, point.y]},
    )
    household = Household.objects.get(pk=result.pk)
    assert household.no_kk == "6409010101259999"
    assert household.members.get().nik == nik
    assert household.lokasi.equals_exact(point, tolerance=1e-9)


def test_a_new_household_refuses_bad_values_next_to_their_fields_and_writes_nothing():
    far = point_in_village(BABULU_DESA, 1)
    errors = refused(
        create,
        no_kk="12345",
        head_nik=nik_for(PENAJAM_KELURAHAN, dt.date(1981, 2, 2), 1, 1),
        answers={"tanggal_survei": timezone.localdate() + dt.timedelta(days=1),
                 "lokasi": [far.x, far.y]},
        head={"nama": "", "jenis_kelamin": 1, "tanggal_lahir": HEAD_BIRTH},
    )  # fmt: skip
    assert "16" in errors["no_kk"][0]
    assert "tidak cocok dengan NIK" in errors["kepala_tanggal_lahir"][0]
    assert "tidak masuk akal" in errors["tanggal_survei"][0]
    assert "luar desa" in errors["lokasi"][0]
    assert errors["kepala_nama"] == ["Wajib diisi."]
    assert not Household.objects.exists() and not Member.objects.exists()


def test_a_number_held_in_another_village_is_named_by_nothing():
    other = HouseholdFactory(region_id=BABULU_DESA)
    holder = MemberFactory(household=other, tanggal_lahir=HEAD_BIRTH)
    own = Household.objects.filter(region_id=PENAJAM_KELURAHAN)
    errors = refused(create, household_queryset=own, no_kk=other.no_kk, head_nik=holder.nik)
    for field in ("no_kk", "kepala_nik"):
        assert errors[field] == [
            "Nomor ini sudah terdaftar di wilayah lain; hubungi admin kabupaten."
        ]
    assert Household.objects.count() == 1


# --- member_create / member_remove ------------------------------------------------------------


def add_member(household, **values):
    household.refresh_from_db()
    defaults = {"nama": "Anggota Terlewat", "jenis_kelamin": 2,
                "tanggal_lahir": dt.date(1990, 1, 1), "hubungan_keluarga": 3}  # fmt: skip
    return member_create(
        household_queryset=Household.objects.all(),
        household_pk=household.pk,
        expected_version=values.pop("versi", household.versi),
        values={**defaults, **values},
        nik=values.pop("nik", "") if "nik" in values else "",
    )


def test_a_member_left_out_is_added_and_counted():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    before = household.versi
    result = add_member(household)
    household.refresh_from_db()
    assert household.jumlah_anggota == 2
    assert result.versi == household.versi > before
    assert Member.objects.get(pk=result.pk).nik.startswith("0")


def test_an_added_member_is_no_second_head_and_not_born_after_the_survey():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    errors = refused(add_member, household=household, hubungan_keluarga=1)
    assert "sudah punya kepala keluarga" in errors["hubungan_keluarga"][0]
    late = household.tanggal_survei + dt.timedelta(days=1)
    errors = refused(add_member, household=household, tanggal_lahir=late)
    assert "tidak masuk akal" in errors["tanggal_lahir"][0]


def test_adding_a_member_over_a_newer_version_is_stale():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    with pytest.raises(StaleEdit):
        add_member(household, versi=household.versi - 1)


def test_removal_is_for_mistakes_only():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    head = household.members.get()
    mistake = MemberFactory(household=household)
    died = MemberFactory(household=household)
    member_event_record(
        queryset=Member.objects.all(), pk=died.pk, kind="meninggal",
        date=dt.date(2025, 11, 1), expected_version=died.versi,
    )  # fmt: skip
    died.refresh_from_db()
    for member, words in ((head, "Kepala keluarga"), (died, "peristiwa kependudukan")):
        errors = refused(
            member_remove, queryset=Member.objects.all(), pk=member.pk,
            expected_version=member.versi,
        )  # fmt: skip
        assert words in errors["anggota"][0]
    member_remove(queryset=Member.objects.all(), pk=mistake.pk, expected_version=mistake.versi)
    assert not Member.objects.filter(pk=mistake.pk).exists()
    assert LifeEvent.objects.filter(member=died).exists()
    household.refresh_from_db()
    assert household.jumlah_anggota == 1  # the head; the one who died no longer counts


# --- forms -----------------------------------------------------------------------------------


def test_the_member_form_applies_the_skip_rule_and_shows_codebook_labels():
    form = MemberForm(
        data={"versi": 1, "nama": "A", "jenis_kelamin": "1", "tanggal_lahir": "2000-01-01",
              "hubungan_keluarga": "4", "partisipasi_sekolah": "1", "jenjang_pendidikan": "13",
              "disabilitas": "false"},
    )  # fmt: skip
    assert not form.is_valid()
    assert "Hanya diisi bila" in form.errors["jenjang_pendidikan"][0]
    labels = dict(form.fields["jenis_kelamin"].choices)
    assert labels[1] == "Laki-laki"
    attrs = form.fields["jenjang_pendidikan"].widget.attrs
    assert attrs["data-asked-when"] == "partisipasi_sekolah"


def test_the_new_household_form_ties_the_heads_skip_rule_to_the_heads_question():
    form = HouseholdCreateForm()
    attrs = form.fields["kepala_jenjang_pendidikan"].widget.attrs
    assert attrs["data-asked-when"] == "kepala_partisipasi_sekolah"
    assert "kepala_hubungan_keluarga" not in form.fields  # the head's is 1, set by the service
    assert "versi" not in form.fields


# --- pages -----------------------------------------------------------------------------------


def new_household_data(**changes) -> dict:
    form = HouseholdCreateForm()
    data = dict.fromkeys(form.fields, "")
    for name in ("penerima_pkh", "penerima_bpnt", "penerima_blt_dd", "penerima_pbi_jk",
                 "kepala_disabilitas"):  # fmt: skip
        data[name] = "false"
    data.update(
        {"tanggal_survei": "2025-06-01", "kepala_nama": "Kepala Halaman",
         "kepala_jenis_kelamin": "1", "kepala_tanggal_lahir": "1980-02-02", **changes}
    )  # fmt: skip
    return data


def test_an_operator_adds_a_household_on_the_page(personas, as_user):
    client = as_user(personas["operator_a"])
    page = client.get(f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/")
    assert page.status_code == 200
    assert 'for="id_kepala_nik"' in page.content.decode()
    response = client.post(f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/", new_household_data())
    assert response.status_code == 302
    household = Household.objects.get()
    assert response["Location"] == f"/rumah-tangga/{household.pk}/"
    assert household.members.get().nama == "Kepala Halaman"


def test_the_page_shows_the_services_verdict_next_to_the_field(personas, as_user):
    client = as_user(personas["operator_a"])
    response = client.post(
        f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/", new_household_data(kepala_nik="640901")
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_kepala_nik-error"' in body and "NIK hanya 6 digit" in body
    assert 'aria-describedby="id_kepala_nik-help id_kepala_nik-error"' in body
    assert not Household.objects.exists()


def test_an_operator_of_another_village_cannot_add_there(personas, as_user):
    client = as_user(personas["operator_b"])
    url = f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/"
    assert client.get(url).status_code == 404
    assert client.post(url, new_household_data()).status_code == 404
    assert not Household.objects.exists()


def test_editing_a_member_over_a_newer_version_shows_what_changed(personas, as_user):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    member = MemberFactory(household=household, pekerjaan="Petani")
    client = as_user(personas["operator_a"])
    url = f"/rumah-tangga/{household.pk}/anggota/{member.pk}/ubah/"
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    Member.objects.filter(pk=member.pk).update(pekerjaan="Nelayan")  # someone else, meanwhile
    response = client.post(url, {**data, "nama": "Nama Dibetulkan"})
    assert response.status_code == 409
    body = response.content.decode()
    assert "Petani" in body and "Nelayan" in body and "Nama Dibetulkan" in body
    again = response.context["form"]
    merged = {name: again.initial.get(name, "") for name in again.fields}
    assert merged["pekerjaan"] == "Nelayan" and merged["nama"] == "Nama Dibetulkan"
    assert client.post(url, merged).status_code == 302
    member.refresh_from_db()
    assert (member.nama, member.pekerjaan) == ("Nama Dibetulkan", "Nelayan")


def test_adding_a_member_over_a_newer_household_offers_it_again(personas, as_user):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    client = as_user(personas["operator_a"])
    url = f"/rumah-tangga/{household.pk}/anggota/baru/"
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update({"nama": "Terlewat", "jenis_kelamin": "2", "tanggal_lahir": "1990-01-01",
                 "hubungan_keluarga": "3", "disabilitas": "false"})  # fmt: skip
    Household.objects.filter(pk=household.pk).update(alamat="Jl. Lain 9")  # someone else
    response = client.post(url, data)
    assert response.status_code == 409
    assert response.context["form"].initial["nama"] == "Terlewat"
    again = response.context["form"]
    assert client.post(url, {n: again.initial.get(n, "") for n in again.fields}).status_code == 302
    assert household.members.filter(nama="Terlewat").exists()


def test_the_removal_page_says_why_the_head_cannot_go(personas, as_user):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    head = household.members.get()
    client = as_user(personas["operator_a"])
    url = f"/rumah-tangga/{household.pk}/anggota/{head.pk}/hapus/"
    page = client.get(url)
    assert page.status_code == 200 and "remove-form" not in page.content.decode()
    assert "ganti kepala keluarga" in page.content.decode()
    refused_post = client.post(url, {"versi": head.versi})
    assert refused_post.status_code == 400
    assert Member.objects.filter(pk=head.pk).exists()


def test_a_member_entered_by_mistake_is_removed_after_confirmation(personas, as_user):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    mistake = MemberFactory(household=household)
    client = as_user(personas["operator_a"])
    url = f"/rumah-tangga/{household.pk}/anggota/{mistake.pk}/hapus/"
    assert 'id="remove-form"' in client.get(url).content.decode()
    assert client.post(url, {"versi": mistake.versi - 1}).status_code == 409
    assert client.post(url, {"versi": mistake.versi}).status_code == 302
    assert not Member.objects.filter(pk=mistake.pk).exists()


def test_the_head_is_changed_by_its_event_not_by_a_member_edit(personas, as_user):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    wife = MemberFactory(household=household, hubungan_keluarga=3, jenis_kelamin=2,
                         tanggal_lahir=dt.date(1987, 5, 2))  # fmt: skip
    client = as_user(personas["operator_a"])
    url = f"/rumah-tangga/{household.pk}/anggota/{wife.pk}/ubah/"
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    response = client.post(url, {**data, "hubungan_keluarga": "1"})
    assert response.status_code == 400
    assert "ganti kepala" in response.context["form"].errors["hubungan_keluarga"][0]
    wife.refresh_from_db()
    assert wife.hubungan_keluarga == 3
