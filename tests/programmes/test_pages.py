"""The programme pages without JavaScript: list, programme, freezing, bulk approval and
the field form of one intervention (status, progress, photo; four eyes)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from programmes.models import EvidencePhoto, Intervention, Programme
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, MemberFactory, ProgrammeFactory
from tests.programmes.test_services import jpeg_with_exif, no_latrine, team  # noqa: F401

pytestmark = pytest.mark.django_db


def test_public_pages_show_figures_not_names(team, client):  # noqa: F811
    household = no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"], name="STBM Uji")
    Intervention.objects.create(programme=programme, household=household)
    index = client.get("/program/")
    assert index.status_code == 200 and "STBM Uji" in index.content.decode()
    page = client.get(f"/program/{programme.pk}/").content.decode()
    assert household.no_kk not in page and household.alamat not in page
    assert 'id="intervention-table"' not in page and 'id="freeze-form"' not in page


def test_freeze_approve_and_work_through_the_pages(team, as_user):  # noqa: F811
    poor = no_latrine(desil_kesejahteraan=3)
    no_latrine(desil_kesejahteraan=8)
    no_latrine(BABULU_DESA, desil_kesejahteraan=1)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    page = client.get(f"/program/{programme.pk}/")
    assert 'id="freeze-form"' in page.content.decode()
    response = client.post(
        f"/program/{programme.pk}/sasaran/",
        {"region": "64.09.01", "desil_max": "4"},
        follow=True,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Daftar sasaran versi 1 dibekukan: 1 rumah tangga." in body
    intervention = Intervention.objects.get()
    assert intervention.household == poor
    bad = client.post(
        f"/program/{programme.pk}/sasaran/", {"region": "64.09.01", "desil_max": "40"}
    )
    assert bad.status_code == 400 and 'id="id_desil_max-error"' in bad.content.decode()
    approved = client.post(
        f"/program/{programme.pk}/ubah-status/", {"ids": [intervention.pk], "status": "disetujui"}
    )
    assert approved.status_code == 302
    intervention.refresh_from_db()
    assert intervention.status == "disetujui"
    # The village's operator marks it done with a photo.
    operator = as_user(team["operator_a"])
    upload = SimpleUploadedFile("bukti.jpg", jpeg_with_exif(), content_type="image/jpeg")
    done = operator.post(
        f"/intervensi/{intervention.pk}/",
        {
            "status": "selesai",
            "note": "jamban dibangun",
            "realised_amount": "3200000",
            "photo": upload,
        },
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    assert EvidencePhoto.objects.filter(intervention=intervention).count() == 1
    refused = operator.post(f"/intervensi/{intervention.pk}/", {"status": "terverifikasi"})
    assert refused.status_code == 403
    assert "Hanya SKPD pemilik" in refused.content.decode()
    verified = as_user(team["second"]).post(
        f"/intervensi/{intervention.pk}/", {"status": "terverifikasi"}
    )
    assert verified.status_code == 302
    intervention.refresh_from_db()
    assert (intervention.status, intervention.done_by, intervention.verified_by) == (
        "terverifikasi",
        team["operator_a"],
        team["second"],
    )
    assert as_user(team["operator_b"]).get(f"/intervensi/{intervention.pk}/").status_code == 404


def test_intervention_form_names_bad_fields(team, as_user):  # noqa: F811
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    client.post(f"/program/{programme.pk}/sasaran/", {"region": PENAJAM_KELURAHAN})
    intervention = Intervention.objects.get()
    empty = client.post(f"/intervensi/{intervention.pk}/", {})
    assert empty.status_code == 400 and 'id="form-errors"' in empty.content.decode()
    wrong = client.post(f"/intervensi/{intervention.pk}/", {"status": "selesai"})
    assert wrong.status_code == 400 and 'id="id_status-error"' in wrong.content.decode()
    photo = client.post(
        f"/intervensi/{intervention.pk}/",
        {"photo": SimpleUploadedFile("x.jpg", b"bukan foto")},
    )
    assert photo.status_code == 400 and 'id="id_photo-error"' in photo.content.decode()
    intervention.refresh_from_db()
    assert intervention.status == "diusulkan" and not EvidencePhoto.objects.exists()


def test_refused_status_keeps_no_photo(team, as_user):  # noqa: F811
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    as_user(team["analyst"]).post(
        f"/program/{programme.pk}/sasaran/", {"region": PENAJAM_KELURAHAN}
    )
    intervention = Intervention.objects.get()
    upload = SimpleUploadedFile("bukti.jpg", jpeg_with_exif(), content_type="image/jpeg")
    refused = as_user(team["operator_a"]).post(
        f"/intervensi/{intervention.pk}/", {"status": "disetujui", "photo": upload}
    )
    assert refused.status_code == 403
    assert not EvidencePhoto.objects.exists()


def programme_post(**changes) -> dict:
    return {
        "code": "stbm-2027", "name": "STBM 2027", "skpd": "dinkes", "year": "2027",
        "indicator": "tanpa_jamban", "unit": "household", "area": "64.09.01",
        "funding_sources": ["dak", "apbd_kabupaten"], "target_count": "120",
        "unit_cost": "2500000", **changes,
    }  # fmt: skip


def test_an_skpd_analyst_creates_a_programme_on_its_page(team, as_user):  # noqa: F811
    client = as_user(team["analyst"])
    assert 'id="programme-new-link"' in client.get("/program/").content.decode()
    form = client.get("/program/baru/").content.decode()
    # Their own SKPD only, and areas within theirs (64.09: the kabupaten and below).
    assert '<option value="dinkes"' in form and '<option value="perkim"' not in form
    assert '<option value="64.09.01.1001"' in form
    response = client.post("/program/baru/", programme_post())
    programme = Programme.objects.get(code="stbm-2027")
    assert response.status_code == 302 and response["Location"] == f"/program/{programme.pk}/"
    assert (programme.skpd, programme.area_id, programme.indicator_id) == (
        team["dinkes"], "64.09.01", "tanpa_jamban",
    )  # fmt: skip
    assert programme.funding_sources == ["dak", "apbd_kabupaten"]
    assert (programme.target_count, programme.unit_cost) == (120, 2_500_000)


def test_the_programme_form_names_what_is_wrong_next_to_the_field(team, as_user):  # noqa: F811
    client = as_user(team["analyst"])
    ProgrammeFactory(code="dipakai", skpd=team["dinkes"])
    for changes, field in (
        ({"code": "dipakai"}, "code"),
        ({"unit": "member"}, "unit"),  # the indicator counts households
        ({"skpd": "perkim"}, "skpd"),  # not theirs
        ({"area": "65"}, "area"),  # outside their areas
        ({"target_count": "-1"}, "target_count"),
    ):
        response = client.post("/program/baru/", programme_post(**changes))
        body = response.content.decode()
        assert response.status_code == 400, (changes, response.status_code)
        assert f'id="id_{field}-error"' in body or f'data-field="{field}"' in body, changes
        assert 'class="hf-field hf-invalid" data-field="' + field + '"' in body, changes
    assert Programme.objects.filter(code="stbm-2027").count() == 0


def test_the_programme_form_exists_only_for_those_who_may_create(team, as_user):  # noqa: F811
    for role in ("official", "operator_a", "analyst_waru"):  # analyst_waru: no SKPD
        client = as_user(team[role])
        assert client.get("/program/baru/").status_code == 404, role
        assert client.post("/program/baru/", programme_post()).status_code == 404, role
        assert 'id="programme-new-link"' not in client.get("/program/").content.decode()
    admin = as_user(team["admin"])
    assert admin.post("/program/baru/", programme_post(skpd="perkim")).status_code == 302
    assert Programme.objects.get(code="stbm-2027").skpd == team["perkim"]


def test_freeze_form_carries_the_household_lists_other_filters(team, as_user):  # noqa: F811
    big_no_aid = no_latrine(desil_kesejahteraan=2)
    big_with_pkh = no_latrine(desil_kesejahteraan=2, penerima_pkh=True)
    no_latrine(desil_kesejahteraan=2)  # one member: too small
    for household in (big_no_aid, big_with_pkh):
        MemberFactory.create_batch(5, household=household)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    filled = client.get(f"/program/{programme.pk}/?region=64.09.01&more=penerima_bpnt%3Dfalse")
    assert 'value="penerima_bpnt=false"' in filled.content.decode()
    unknown = client.post(
        f"/program/{programme.pk}/sasaran/",
        {"region": "64.09.01", "more": "jenis_lantai=1&warna_rumah=hijau"},
    )
    body = unknown.content.decode()
    assert unknown.status_code == 400 and 'id="id_more-error"' in body
    assert "warna_rumah" in body and not Intervention.objects.exists()
    clash = client.post(
        f"/program/{programme.pk}/sasaran/", {"region": "64.09.01", "more": "region=64.09.03"}
    )
    assert clash.status_code == 400 and "region" in clash.content.decode()
    response = client.post(
        f"/program/{programme.pk}/sasaran/",
        {"region": "64.09.01", "desil_max": "4", "members_min": "5", "no_aid": "on"},
        follow=True,
    )
    assert "Daftar sasaran versi 1 dibekukan: 1 rumah tangga." in response.content.decode()
    assert [item.household for item in Intervention.objects.all()] == [big_no_aid]
    frozen = programme.target_lists.get()
    assert frozen.criteria["jumlah_anggota__gte"] == "5"
    assert frozen.criteria["penerima_pkh"] == "false"
