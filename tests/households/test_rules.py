"""One validator (households.rules): the operator's form, the API and the census import
give the same verdict on the same bad value, in the same words."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from households import rules
from households.forms import HouseholdCreateForm
from households.models import Household
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory, nik_for
from tests.households.census_import.test_import import family, run

pytestmark = pytest.mark.django_db

BORN = dt.date(2025, 12, 1)  # after the factories' survey date (2025-10-15): a birth
LATE_SURVEY = dt.date(2025, 12, 20)  # a household surveyed after it: a member's record
WRONG_DATE_NIK = nik_for(PENAJAM_KELURAHAN, BORN + dt.timedelta(days=1), 1, 4242)


def form_message(client, household, *, nik: str) -> dict[str, list[str]]:
    """The errors of the member form (data entry) for a boy born on BORN with `nik`."""
    url = f"/rumah-tangga/{household.pk}/anggota/baru/"
    household.refresh_from_db()
    response = client.post(
        url,
        {"versi": household.versi, "nik": nik, "nama": "Anak Uji", "jenis_kelamin": "1",
         "tanggal_lahir": BORN.isoformat(), "hubungan_keluarga": "4", "disabilitas": "false"},
    )  # fmt: skip
    assert response.status_code == 400
    return response.context["form"].errors


def api_message(client, household, *, nik: str) -> dict[str, list[str]]:
    """The error fields of the API's birth (lahir) of a boy born on BORN with `nik`."""
    household.refresh_from_db()
    response = client.post(
        f"/api/v1/households/{household.pk}/events/",
        {"kind": "lahir", "versi": household.versi, "nama": "Anak Uji", "jenis_kelamin": 1,
         "tanggal": BORN.isoformat(), "nik": nik},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def import_message(*, nik: str) -> dict[str, list[str]]:
    """The import's row errors (by column) for the same boy in a family surveyed later."""
    households, members = family(kk="6409010101254242", base=42)
    households[0]["tanggal_survei"] = LATE_SURVEY.isoformat()
    # The head born on a date the factories never give: no NIK of a factory's member
    # (born 1985-03-09, serials by sequence) can be the head's, whatever ran before.
    head_born = dt.date(1979, 5, 17)
    members[0].update(
        tanggal_lahir=head_born.isoformat(), nik=nik_for(PENAJAM_KELURAHAN, head_born, 1, 42)
    )
    members[1].update(nik=nik, tanggal_lahir=BORN.isoformat(), jenis_kelamin="1")
    return import_errors(households, members)


def import_errors(households, members) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for error in run(households, members).errors:
        found.setdefault(error.column, []).append(str(error.message))
    return found


@pytest.fixture
def places():
    return {
        "birth": HouseholdFactory(region_id=PENAJAM_KELURAHAN),
        "entry": HouseholdFactory(region_id=PENAJAM_KELURAHAN, tanggal_survei=LATE_SURVEY),
    }


@pytest.mark.parametrize(
    "nik",
    ["640901123", "6.40901E+15", "6409010112254242.0", "64090101122542AB"],
    ids=["short", "scientific", "decimal", "letters"],
)
def test_a_bad_nik_gets_one_message_from_form_api_and_import(nik, places, personas, as_user):
    client = as_user(personas["operator_a"])
    expected = str(rules.identity_problem(nik, "NIK"))
    assert form_message(client, places["entry"], nik=nik)["nik"] == [expected]
    assert api_message(client, places["birth"], nik=nik)["nik"] == [expected]
    assert import_message(nik=nik)["nik"] == [expected]


def test_a_nik_against_its_birth_date_gets_one_message(places, personas, as_user):
    client = as_user(personas["operator_a"])
    _answer, message = rules.nik_birth_mismatch(WRONG_DATE_NIK, BORN, 1)
    expected = [str(message)]
    # The form and the import name the answer the NIK contradicts; a birth's form names
    # the NIK (the date is the event's), with the same words.
    assert form_message(client, places["entry"], nik=WRONG_DATE_NIK)["tanggal_lahir"] == expected
    assert api_message(client, places["birth"], nik=WRONG_DATE_NIK)["nik"] == expected
    assert import_message(nik=WRONG_DATE_NIK)["tanggal_lahir"] == expected


def test_an_event_in_the_future_gets_one_message_from_the_api_and_the_services(personas, as_user):
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    member = MemberFactory(household=household)
    client = as_user(personas["operator_a"])
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client.post(
        f"/api/v1/members/{member.pk}/events/",
        {"kind": "meninggal", "tanggal": tomorrow.isoformat(), "versi": member.versi},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["tanggal"] == [
        str(rules.event_date_problem(tomorrow))
    ]


def test_the_rules_read_no_database():
    # Plain values in, a verdict out: the same call from any path.
    assert rules.identity_problem("6409010903850001", "NIK") is None
    assert rules.issued_identity_problem("0640901000010001", "No. KK") is not None
    assert rules.birth_date_problem(dt.date(1899, 12, 31)) is not None
    assert rules.event_date_problem(dt.date(2020, 1, 1), birth=dt.date(2021, 1, 1)) is not None
    assert Household.objects.count() == 0


def test_a_survey_date_gets_one_message_from_form_api_and_import(personas, as_user):
    client = as_user(personas["operator_a"])
    old = "1999-12-31"
    expected = [str(rules.survey_date_problem(dt.date(1999, 12, 31)))]
    form = HouseholdCreateForm()
    data = dict.fromkeys(form.fields, "")
    data.update({name: "false" for name in form.fields if name.startswith("penerima_")})
    data.update({"tanggal_survei": old, "kepala_nama": "A", "kepala_jenis_kelamin": "1",
                 "kepala_tanggal_lahir": "1980-01-01", "kepala_disabilitas": "false"})  # fmt: skip
    page = client.post(f"/desa/{PENAJAM_KELURAHAN}/rumah-tangga/baru/", data)
    assert page.status_code == 400
    assert page.context["form"].errors["tanggal_survei"] == expected
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    api = client.patch(
        f"/api/v1/households/{household.pk}/",
        {"tanggal_survei": old, "versi": household.versi},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["error"]["fields"]["tanggal_survei"] == expected
    households, members = family(kk="6409010101254343", base=43)
    households[0]["tanggal_survei"] = old
    errors = [
        str(e.message) for e in run(households, members).errors if e.column == "tanggal_survei"
    ]
    assert errors == expected


def test_an_edited_birth_date_is_checked_against_the_nik_as_the_import_does(personas, as_user):
    client = as_user(personas["operator_a"])
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    member = MemberFactory(household=household, tanggal_lahir=dt.date(1985, 3, 9))
    _answer, message = rules.nik_birth_mismatch(member.nik, dt.date(1986, 3, 9), 1)
    api = client.patch(
        f"/api/v1/members/{member.pk}/",
        {"tanggal_lahir": "1986-03-09", "versi": member.versi},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["error"]["fields"]["tanggal_lahir"] == [str(message)]
    url = f"/rumah-tangga/{household.pk}/anggota/{member.pk}/ubah/"
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    page = client.post(url, {**data, "tanggal_lahir": "1986-03-09"})
    assert page.status_code == 400
    assert page.context["form"].errors["tanggal_lahir"] == [str(message)]
    member.refresh_from_db()
    assert member.tanggal_lahir == dt.date(1985, 3, 9)


def test_a_skipped_answer_gets_one_message_from_form_api_and_import(personas, as_user):
    # A toilet type (309b) for a family without a facility (309a = 6, skip to 310).
    client = as_user(personas["operator_a"])
    expected = [
        str(rules.skipped_answer_problems(Household, {"fasilitas_bab": 6, "jenis_kloset": 1})[
            "jenis_kloset"])
    ]  # fmt: skip
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, fasilitas_bab=1, jenis_kloset=1)
    url = f"/rumah-tangga/{household.pk}/ubah/"
    form = client.get(url).context["form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    page = client.post(url, {**data, "fasilitas_bab": "6"})
    assert page.status_code == 400
    assert page.context["form"].errors["jenis_kloset"] == expected
    api = client.patch(
        f"/api/v1/households/{household.pk}/",
        {"fasilitas_bab": 6, "versi": household.versi},
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["error"]["fields"]["jenis_kloset"] == expected
    households, members = family(kk="6409010101254444", base=44)
    households[0].update(fasilitas_bab="6", jenis_kloset="1")
    assert import_errors(households, members)["jenis_kloset"] == expected
    household.refresh_from_db()
    assert household.fasilitas_bab == 1
