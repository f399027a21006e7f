"""The programmes API: creation by an SKPD, freezing from household filters, transitions
with four eyes, bulk changes, photos, masking and the public's suppressed figures."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from desapresisi.models import AuditAction, AuditEntry
from households.indicators.rollup import indicators_refresh
from households.models import Household
from programmes.models import Intervention, Programme
from programmes.services import stats_refresh
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, ProgrammeFactory
from tests.programmes.test_services import jpeg_with_exif, no_latrine, team  # noqa: F401

pytestmark = pytest.mark.django_db


def test_analyst_creates_a_programme_for_their_skpd_only(team, as_user):  # noqa: F811
    client = as_user(team["analyst"])
    body = {
        "code": "stbm-2026",
        "name": "STBM jamban sehat",
        "year": 2026,
        "funding_sources": ["dak", "apbd_kabupaten"],
        "unit": "household",
        "indicator": "tanpa_jamban",
        "area": "64.09",
        "target_count": 100,
        "unit_cost": 3500000,
    }
    response = client.post("/api/v1/programmes/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["skpd"] == {"code": "dinkes", "name": "Dinas Kesehatan"}
    again = client.post("/api/v1/programmes/", body, content_type="application/json")
    assert again.status_code == 400 and "code" in again.json()["error"]["fields"]
    other = {**body, "code": "lain", "skpd": "perkim"}
    assert (
        client.post("/api/v1/programmes/", other, content_type="application/json").status_code
        == 403
    )
    wrong_unit = {**body, "code": "ats", "indicator": "ats_7_18"}
    refused = client.post("/api/v1/programmes/", wrong_unit, content_type="application/json")
    assert refused.status_code == 400 and "unit" in refused.json()["error"]["fields"]
    client = as_user(team["operator_a"])
    assert (
        client.post(
            "/api/v1/programmes/", {**body, "code": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert Programme.objects.count() == 1


def test_freeze_from_household_filters_and_warn_double_aid(team, as_user):  # noqa: F811
    poor = no_latrine(desil_kesejahteraan=2)
    no_latrine(desil_kesejahteraan=7)
    no_latrine(BABULU_DESA, desil_kesejahteraan=1)
    perkim = ProgrammeFactory(skpd=team["perkim"], code="rtlh")
    Intervention.objects.create(programme=perkim, household=poor)
    programme = ProgrammeFactory(skpd=team["dinkes"], code="stbm")
    client = as_user(team["analyst"])
    url = f"/api/v1/programmes/{programme.pk}/target-lists/"
    criteria = {"region": "64.09.01", "desil_kesejahteraan__lte": "4"}
    response = client.post(url, {"criteria": criteria}, content_type="application/json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["size"], body["interventions"]) == (1, 1, 1)
    assert body["criteria"] == criteria
    assert body["warnings"] == [
        {
            "household": poor.pk,
            "programmes": [{"programme": "rtlh", "name": perkim.name, "skpd": "Dinas Perkim"}],
        }
    ]
    bad = client.post(
        url, {"criteria": {"nik": "1", "region": "x"}}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"criteria.nik"}
    listed = client.get(url).json()["results"]
    assert [row["version"] for row in listed] == [1]
    assert as_user(team["official"]).get(url).status_code == 403


def test_transitions_four_eyes_and_masking(team, as_user):  # noqa: F811
    household = no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    client.post(
        f"/api/v1/programmes/{programme.pk}/target-lists/", {}, content_type="application/json"
    )
    intervention = Intervention.objects.get()
    url = f"/api/v1/interventions/{intervention.pk}/transition/"
    for status in ("disetujui", "selesai"):
        response = client.post(
            url, {"status": status, "note": "ok"}, content_type="application/json"
        )
        assert response.status_code == 200, response.json()
    refused = client.post(url, {"status": "terverifikasi"}, content_type="application/json")
    assert refused.status_code == 403
    assert "Empat mata" in refused.json()["error"]["message"]
    wrong = client.post(url, {"status": "diusulkan"}, content_type="application/json")
    assert wrong.status_code == 400 and "status" in wrong.json()["error"]["fields"]
    verified = as_user(team["second"]).post(
        url, {"status": "terverifikasi"}, content_type="application/json"
    )
    assert verified.status_code == 200
    detail = verified.json()
    assert [event["to_status"] for event in detail["events"]] == [
        "diusulkan", "disetujui", "selesai", "terverifikasi"
    ]  # fmt: skip
    assert detail["no_kk"] != household.no_kk and detail["no_kk"].endswith(household.no_kk[-4:])
    # Other SKPDs read, never write; operators of other villages do not find it.
    other = as_user(team["perkim_analyst"]).get(f"/api/v1/interventions/{intervention.pk}/")
    assert other.status_code == 200
    assert (
        as_user(team["operator_b"]).get(f"/api/v1/interventions/{intervention.pk}/").status_code
        == 404
    )
    assert as_user(team["official"]).get("/api/v1/interventions/").status_code == 403


def test_bulk_transition_names_the_item_and_writes_nothing(team, as_user):  # noqa: F811
    no_latrine(), no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    client.post(
        f"/api/v1/programmes/{programme.pk}/target-lists/", {}, content_type="application/json"
    )
    first, second = Intervention.objects.order_by("pk")
    response = client.post(
        "/api/v1/interventions/bulk-transition/",
        {"ids": [first.pk, second.pk, 999999], "status": "disetujui"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["ids[2]"]
    assert set(Intervention.objects.values_list("status", flat=True)) == {"diusulkan"}
    ok = client.post(
        "/api/v1/interventions/bulk-transition/",
        {"ids": [first.pk, second.pk], "status": "disetujui"},
        content_type="application/json",
    )
    assert ok.json() == {"changed": 2}


def test_photo_upload_and_file(team, as_user):  # noqa: F811
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    as_user(team["analyst"]).post(
        f"/api/v1/programmes/{programme.pk}/target-lists/", {}, content_type="application/json"
    )
    intervention = Intervention.objects.get()
    client = as_user(team["operator_a"])
    url = f"/api/v1/interventions/{intervention.pk}/photos/"
    upload = SimpleUploadedFile("bukti.jpg", jpeg_with_exif(), content_type="image/jpeg")
    response = client.post(url, {"photo": upload})
    assert response.status_code == 201, response.json()
    photo = response.json()
    assert [round(value, 2) for value in photo["lokasi"]] == [116.7, -1.25]
    file = client.get(photo["url"])
    assert file.status_code == 200 and file["Content-Type"] == "image/jpeg"
    bad = client.post(url, {"photo": SimpleUploadedFile("x.jpg", b"not an image")})
    assert bad.status_code == 400 and "photo" in bad.json()["error"]["fields"]
    assert client.post(url, {}).status_code == 400
    assert as_user(team["operator_b"]).get(photo["url"]).status_code == 404


def test_public_sees_programme_figures_suppressed(team, client, as_user):  # noqa: F811
    no_latrine(), no_latrine(BABULU_DESA)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    as_user(team["analyst"]).post(
        f"/api/v1/programmes/{programme.pk}/target-lists/", {}, content_type="application/json"
    )
    client.logout()
    public = client.get(f"/api/v1/programmes/{programme.pk}/").json()
    assert public["can_manage"] is False
    assert {row["region"] for row in public["progress"]["villages"]} == {
        PENAJAM_KELURAHAN,
        BABULU_DESA,
    }
    assert all(row["targets"] is None for row in public["progress"]["villages"])
    assert public["progress"]["totals"]["planned"] is None
    analyst = as_user(team["analyst"]).get(f"/api/v1/programmes/{programme.pk}/").json()
    assert analyst["can_manage"] is True
    assert analyst["progress"]["totals"]["targets"] == 2
    assert analyst["progress"]["totals"]["counts"]["diusulkan"] == 2
    coverage = client.get(
        "/api/v1/programmes/coverage/?indicator=tanpa_jamban&year=2026&parent=64.09"
    )
    assert coverage.status_code == 200
    unknown = client.get("/api/v1/programmes/coverage/?indicator=nope&year=2026")
    assert unknown.status_code == 400


def test_coverage_counts_reached_households(team, as_user):  # noqa: F811
    for _ in range(5):
        no_latrine()
    HouseholdFactory()
    indicators_refresh(full=True)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    before = client.get(
        "/api/v1/programmes/coverage/?indicator=tanpa_jamban&year=2026&parent=64.09.01"
    ).json()
    row = next(item for item in before if item["region"] == PENAJAM_KELURAHAN)
    assert (row["counted"], row["reached"], row["untouched"]) == (5, 0, 5)
    client.post(
        f"/api/v1/programmes/{programme.pk}/target-lists/",
        {"criteria": {"region": PENAJAM_KELURAHAN}},
        content_type="application/json",
    )
    after = client.get(
        "/api/v1/programmes/coverage/?indicator=tanpa_jamban&year=2026&parent=64.09.01"
    ).json()
    row = next(item for item in after if item["region"] == PENAJAM_KELURAHAN)
    assert (row["counted"], row["reached"], row["untouched"]) == (5, 5, 0)


def test_reading_interventions_is_an_audited_view(team, as_user):  # noqa: F811
    no_latrine()
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    client.post(
        f"/api/v1/programmes/{programme.pk}/target-lists/", {}, content_type="application/json"
    )
    intervention = Intervention.objects.get()
    assert client.get("/api/v1/interventions/").status_code == 200
    assert client.get(f"/api/v1/interventions/{intervention.pk}/").status_code == 200
    assert client.get(f"/program/{programme.pk}/").status_code == 200
    assert client.get(f"/intervensi/{intervention.pk}/").status_code == 200
    views = AuditEntry.objects.filter(action=AuditAction.VIEW, username=team["analyst"].username)
    assert sorted(v.path for v in views) == sorted([
        "/api/v1/interventions/", f"/api/v1/interventions/{intervention.pk}/",
        f"/program/{programme.pk}/", f"/intervensi/{intervention.pk}/",
    ])  # fmt: skip
    assert all(v.rows == 1 for v in views)


def test_coverage_sums_villages_up_to_kecamatan_and_kabupaten(team, as_user):  # noqa: F811
    for _ in range(5):
        no_latrine()
    for _ in range(6):
        no_latrine(BABULU_DESA)
    indicators_refresh(full=True)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    client = as_user(team["analyst"])
    client.post(
        f"/api/v1/programmes/{programme.pk}/target-lists/",
        {"criteria": {"region": PENAJAM_KELURAHAN}},
        content_type="application/json",
    )
    url = "/api/v1/programmes/coverage/?indicator=tanpa_jamban&year=2026&parent=64.09"
    by_level = {
        level: {row["region"]: row for row in client.get(f"{url}&level={level}").json()}
        for level in ("kecamatan", "kabupaten")
    }
    penajam = by_level["kecamatan"]["64.09.01"]
    assert (penajam["counted"], penajam["reached"], penajam["untouched"]) == (5, 5, 0)
    babulu = by_level["kecamatan"]["64.09.03"]
    assert (babulu["counted"], babulu["reached"], babulu["untouched"]) == (6, 0, 6)
    kabupaten = by_level["kabupaten"]["64.09"]
    assert (kabupaten["counted"], kabupaten["reached"], kabupaten["untouched"]) == (11, 5, 6)
    assert client.get(f"{url}&level=rt").status_code == 400


def test_public_coverage_hides_a_village_whose_figures_would_give_a_small_cell_away(
    team,  # noqa: F811
    client,
):
    """Five counted, two reached: publishing 5 and 3 would give the hidden 2 away by
    subtraction, so the village shows nothing, and neither does the kecamatan above it
    (its sum minus the visible villages would)."""
    for _ in range(5):
        no_latrine()
    for _ in range(6):
        no_latrine(BABULU_DESA)
    indicators_refresh(full=True)
    programme = ProgrammeFactory(skpd=team["dinkes"])
    two = list(Household.objects.filter(region_id=PENAJAM_KELURAHAN)[:2])
    for household in two:
        Intervention.objects.create(programme=programme, household=household)
    stats_refresh(programme_ids=[programme.pk], regions={PENAJAM_KELURAHAN})
    url = "/api/v1/programmes/coverage/?indicator=tanpa_jamban&year=2026&parent=64.09"
    villages = {row["region"]: row for row in client.get(url).json()}
    assert villages[PENAJAM_KELURAHAN] == {
        "region": PENAJAM_KELURAHAN,
        "name": villages[PENAJAM_KELURAHAN]["name"],
        "counted": None,
        "reached": None,
        "untouched": None,
    }
    babulu = villages[BABULU_DESA]
    assert (babulu["counted"], babulu["reached"], babulu["untouched"]) == (6, 0, 6)
    kecamatan = {row["region"]: row for row in client.get(f"{url}&level=kecamatan").json()}
    assert kecamatan["64.09.01"]["reached"] is None
    assert kecamatan["64.09.01"]["counted"] is None
    kabupaten = client.get(f"{url}&level=kabupaten").json()[0]
    assert kabupaten["reached"] is None and kabupaten["untouched"] is None
