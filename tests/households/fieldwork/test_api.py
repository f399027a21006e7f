"""Field collection over the API and the import page: forms, entity list, an upload as
an import job (dry run, then commit), and the ODK Central pull up to its HTTP session."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from households.census_import import jobs as import_jobs
from households.fieldwork import jobs as fieldwork_jobs
from households.models import FieldSubmission, Household, ImportJob
from tests.factories import HouseholdFactory

from .exports import central_zip
from .test_submissions import A, B, field_export

pytestmark = pytest.mark.django_db

BASE = "/api/v1/fieldwork"


def test_an_operator_downloads_the_forms_and_the_entity_list(personas, as_user):
    client = as_user(personas["operator_a"])
    HouseholdFactory()
    census = client.get(f"{BASE}/census-form.xlsx")
    assert census.status_code == 200
    assert 'filename="desapresisi_sensus.xlsx"' in census["Content-Disposition"]
    book = load_workbook(io.BytesIO(census.content))
    assert {"survey", "choices", "settings"} <= set(book.sheetnames)
    visit = client.get(f"{BASE}/visit-form.xlsx")
    assert "entities" in load_workbook(io.BytesIO(visit.content)).sheetnames
    kobo = client.get(f"{BASE}/visit-form.xlsx?tool=kobo")
    assert 'filename="desapresisi_kunjungan-kobo.xlsx"' in kobo["Content-Disposition"]
    assert "entities" not in load_workbook(io.BytesIO(kobo.content)).sheetnames
    entities = client.get(f"{BASE}/entities.csv")
    assert entities["Content-Type"].startswith("text/csv")
    assert entities.content.decode().splitlines()[0].startswith("name,label,versi,")
    assert len(entities.content.decode().splitlines()) == 2


def test_an_analyst_gets_no_form_and_no_entity_list(personas, as_user):
    client = as_user(personas["analyst"])
    assert client.get(f"{BASE}/census-form.xlsx").status_code == 403
    assert client.get(f"{BASE}/entities.csv").status_code == 403


def test_an_upload_is_an_import_job_dry_run_then_commit(personas, as_user):
    client = as_user(personas["operator_a"])
    upload = SimpleUploadedFile(
        "desapresisi_sensus.zip", central_zip(field_export(b_outside=True)), "application/zip"
    )
    response = client.post(f"{BASE}/submissions/", {"file": upload, "dry_run": "true"})
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "ditolak"
    assert [(e["submission"], e["column"]) for e in job["errors"]] == [(B, "lintang")]
    assert job["counts"]["submissions"]["duplicate"] == 1

    upload = SimpleUploadedFile(
        "desapresisi_sensus.zip", central_zip(field_export(b_outside=False)), "application/zip"
    )
    job = client.post(f"{BASE}/submissions/", {"file": upload, "dry_run": "true"}).json()
    assert job["status"] == "tervalidasi" and Household.objects.count() == 0
    committed = client.post(job["url"], {"action": "commit"}, content_type="application/json")
    assert committed.status_code == 200, committed.content
    assert committed.json()["status"] == "selesai"
    assert Household.objects.count() == 2
    assert set(FieldSubmission.objects.values_list("instance_id", flat=True)) == {A, B}
    stored = ImportJob.objects.get(pk=job["id"])
    assert stored.options["format"] == fieldwork_jobs.FORMAT
    assert FieldSubmission.objects.filter(job=stored).count() == 2


def test_the_import_page_offers_the_field_tools(personas, as_user):
    page = as_user(personas["operator_a"]).get("/impor/").content.decode()
    assert f'href="{BASE}/census-form.xlsx"' in page
    assert f'href="{BASE}/entities.csv"' in page
    assert 'id="fieldwork-form"' in page


def test_the_central_pull_is_refused_without_a_server(personas, as_user, settings):
    settings.ODK_CENTRAL_URL = ""
    response = as_user(personas["admin"]).post(
        f"{BASE}/central-pull/", {}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "ODK_CENTRAL_URL" in response.json()["error"]["message"]


class FakeResponse:
    def __init__(self, content: bytes):
        self.content = content

    def raise_for_status(self) -> None:
        return None


class FakeSession:
    """Stands in for pyodk's session: the pull is not tested against a real Central."""

    def __init__(self, content: bytes):
        self.content = content
        self.urls: list[tuple[str, dict]] = []

    def get(self, url, params=None):
        self.urls.append((url, params))
        return FakeResponse(self.content)


def test_the_central_pull_imports_the_forms_csv_zip(personas, settings):
    settings.ODK_CENTRAL_URL = "https://central.example.org"
    settings.ODK_CENTRAL_USERNAME = "portal@example.org"
    settings.ODK_CENTRAL_PASSWORD = "secret"
    settings.ODK_CENTRAL_PROJECT = 3
    settings.ODK_CENTRAL_FORMS = ["desapresisi_sensus"]
    session = FakeSession(central_zip(field_export(b_outside=False)))
    jobs = fieldwork_jobs.central_pull(user=personas["operator_a"], session=session)
    assert session.urls[0][0] == "projects/3/forms/desapresisi_sensus/submissions.csv.zip"
    assert ImportJob.objects.get(pk=jobs[0]).status == "selesai"
    assert Household.objects.count() == 2
    # The next pull takes only what is new: nothing.
    fieldwork_jobs.central_pull(user=personas["operator_a"], session=session)
    assert FieldSubmission.objects.count() == 2 and Household.objects.count() == 2


def test_the_pull_command_says_when_no_server_is_configured(settings):
    settings.ODK_CENTRAL_URL = ""
    with pytest.raises(CommandError, match="ODK_CENTRAL_URL"):
        call_command("pull_odk_central")


def test_a_large_export_runs_in_the_background_worker(personas, as_user, settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr(import_jobs, "SYNC_MAX_BYTES", 10)
    client = as_user(personas["operator_a"])
    upload = SimpleUploadedFile(
        "desapresisi_sensus.zip", central_zip(field_export(b_outside=False)), "application/zip"
    )
    response = client.post(f"{BASE}/submissions/", {"file": upload, "dry_run": "false"})
    assert response.status_code == 202
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "selesai"
    assert Household.objects.count() == 2
