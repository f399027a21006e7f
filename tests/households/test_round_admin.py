"""Survey rounds in the Django admin (issue 15): the kabupaten administrator opens a round
with the add form and closes the open one with an action that first says what closing
does; a second open round, an edit or a delete of a round are refused."""

from __future__ import annotations

import pytest

from households.models import HouseholdObservation, RoundStatus, SurveyRound
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/households/surveyround/"
ADD = "/admin/households/surveyround/add/"


def opening(code: str) -> dict:
    return {
        "code": code,
        "name": f"Pendataan {code}",
        "source": "pendataan",
        "reference_date": "2025-06-30",
        "fieldwork_start": "2025-05-01",
        "fieldwork_end": "2025-08-31",
        "decile_source": "DTSEN",
        "decile_vintage": "2025-T1",
    }


@pytest.fixture
def admin_client(client, personas):
    client.force_login(personas["admin"])
    return client


def test_the_administrator_opens_a_round_and_a_second_open_one_is_refused(admin_client):
    response = admin_client.post(ADD, opening("2025-pendataan"))
    assert response.status_code == 302, response.content.decode()[:2000]
    opened = SurveyRound.objects.get(code="2025-pendataan")
    assert opened.status == RoundStatus.OPEN and opened.decile_vintage == "2025-T1"
    response = admin_client.post(ADD, opening("2026-pemutakhiran"))
    assert response.status_code == 200
    assert "2025-pendataan" in response.content.decode()
    assert not SurveyRound.objects.filter(code="2026-pemutakhiran").exists()
    # The list shows it with its state; a round is never deleted here.
    listing = admin_client.get(CHANGELIST).content.decode()
    assert "2025-pendataan" in listing
    assert admin_client.get(f"{CHANGELIST}{opened.pk}/delete/").status_code == 403


def test_closing_asks_first_then_writes_the_panel(admin_client, personas):
    HouseholdFactory.create_batch(3, region_id=PENAJAM_KELURAHAN)
    admin_client.post(ADD, opening("2025-pendataan"))
    survey_round = SurveyRound.objects.get(code="2025-pendataan")
    chosen = {"action": "close_round", "_selected_action": [survey_round.pk]}
    response = admin_client.post(CHANGELIST, chosen)
    assert response.status_code == 200
    page = response.content.decode()
    assert "dibekukan" in page and "2025-pendataan" in page
    survey_round.refresh_from_db()
    assert survey_round.status == RoundStatus.OPEN
    assert not HouseholdObservation.objects.exists()
    response = admin_client.post(CHANGELIST, {**chosen, "confirm": "2025-pendataan"})
    assert response.status_code == 302
    survey_round.refresh_from_db()
    assert survey_round.status == RoundStatus.CLOSED
    assert survey_round.closed_by == personas["admin"]
    assert HouseholdObservation.objects.filter(survey_round=survey_round).count() == 3
    # Closing it again is refused with a message, not an error page.
    response = admin_client.post(CHANGELIST, {**chosen, "confirm": "2025-pendataan"}, follow=True)
    assert response.status_code == 200
    assert "tepat satu putaran yang terbuka" in response.content.decode()


def test_a_round_cannot_be_edited_once_open(admin_client):
    admin_client.post(ADD, opening("2025-pendataan"))
    survey_round = SurveyRound.objects.get(code="2025-pendataan")
    response = admin_client.post(
        f"{CHANGELIST}{survey_round.pk}/change/", {**opening("lain"), "name": "Diubah"}
    )
    assert response.status_code in (200, 302)
    survey_round.refresh_from_db()
    assert survey_round.code == "2025-pendataan" and survey_round.name == "Pendataan 2025-pendataan"


@pytest.mark.parametrize("role", ["official", "analyst", "operator_a"])
def test_other_roles_do_not_reach_the_rounds_admin(client, personas, role):
    client.force_login(personas[role])
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and "/login/" in response["Location"]
