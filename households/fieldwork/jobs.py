"""Field submissions as import jobs, and the optional pull from an ODK Central server.

An upload of a field tool's export is an `ImportJob` like a census file (same dry run,
commit, progress, page and API), with `options["format"] = FORMAT`: the census import's
job runs it through `run_submissions_job` (registered in `census_import.jobs.RUNNERS`).

The pull (`central_pull_task`, a background task) downloads the CSV zip ODK Central
offers for a form (`GET /v1/projects/{project}/forms/{form}/submissions.csv.zip`, the same
file as "Download all submissions") with pyodk and imports it as such a job: submissions
already imported are skipped by instance ID, so each pull takes only the new ones. It is
configured by ODK_CENTRAL_URL, ODK_CENTRAL_USERNAME, ODK_CENTRAL_PASSWORD,
ODK_CENTRAL_PROJECT and ODK_CENTRAL_FORMS; it is not tested end to end here (no Central
server in the test suite): the tests stop at the HTTP session.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext, gettext_noop
from django_tasks import task
from pyodk._utils.session import Session

from desapresisi.errors import NotReady

from ..census_import import jobs as census_jobs
from ..uploads import upload_bytes
from .service import submissions_import
from .submissions import submissions_read

FORMAT = "lapangan"


def run_submissions_job(job, progress):
    # A field tool's export is small (IMPORT_MAX_BYTES): read whole.
    upload = submissions_read(
        name=job.file_name,
        data=upload_bytes(job.file_oid) or b"",
        members_data=upload_bytes(job.members_file_oid),
        members_name=job.options.get("members_name", ""),
    )
    return submissions_import(
        upload=upload,
        user=job.user,
        dry_run=job.dry_run,
        include_unreviewed=bool(job.options.get("include_unreviewed")),
        progress=progress,
        job=job,
    )


census_jobs.RUNNERS[FORMAT] = run_submissions_job


def submissions_job_create(
    *,
    user,
    file_name: str,
    data,
    members_data=None,
    members_name: str = "",
    dry_run: bool = True,
    include_unreviewed: bool = False,
    language: str = "id",
):
    return census_jobs.import_job_create(
        user=user,
        file_name=file_name,
        data=data,
        members_data=members_data,
        dry_run=dry_run,
        language=language,
        options={
            "format": FORMAT,
            "include_unreviewed": include_unreviewed,
            **({"members_name": members_name[:255]} if members_name else {}),
        },
    )


# --- the pull from ODK Central -----------------------------------------------------------


def central_configured() -> bool:
    return bool(
        settings.ODK_CENTRAL_URL
        and settings.ODK_CENTRAL_USERNAME
        and settings.ODK_CENTRAL_PASSWORD
        and settings.ODK_CENTRAL_PROJECT
    )


NOT_CONFIGURED = gettext_noop(
    "Server ODK Central belum diatur (ODK_CENTRAL_URL, ODK_CENTRAL_USERNAME, "
    "ODK_CENTRAL_PASSWORD, ODK_CENTRAL_PROJECT)."
)


def central_session():
    """A pyodk session to the configured server; the token stays in memory (no cache
    file in the home directory of the service account)."""
    return Session(
        base_url=settings.ODK_CENTRAL_URL,
        api_version="v1",
        username=settings.ODK_CENTRAL_USERNAME,
        password=settings.ODK_CENTRAL_PASSWORD,
        cache_path=None,
    )


def central_download(*, form_id: str, session=None) -> bytes:
    """The form's submissions as ODK Central's CSV zip (groups and repeats as exported)."""
    if not central_configured():
        raise NotReady(gettext(NOT_CONFIGURED))
    session = session or central_session()
    url = f"projects/{int(settings.ODK_CENTRAL_PROJECT)}/forms/{form_id}/submissions.csv.zip"
    response = session.get(url, params={"groupPaths": "true", "splitSelectMultiples": "false"})
    response.raise_for_status()
    return response.content


def central_pull(*, user, commit: bool = True, session=None) -> list[int]:
    """Download each configured form's submissions and import them as jobs (queued when
    large); returns the jobs' ids."""
    jobs = []
    for form_id in settings.ODK_CENTRAL_FORMS:
        data = central_download(form_id=form_id, session=session)
        job = submissions_job_create(
            user=user, file_name=f"{form_id}.csv.zip", data=data, dry_run=not commit
        )
        census_jobs.import_job_start(job=job)
        jobs.append(job.pk)
    return jobs


@task()
def central_pull_task(user_id: int | None, commit: bool = True) -> None:
    """The pull in the background worker (`manage.py db_worker`), with the rights of the
    user who asked for it."""
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    central_pull(user=user, commit=commit)
