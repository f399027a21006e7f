"""Background tasks (django-tasks; `manage.py db_worker` runs them from PostgreSQL)."""

from __future__ import annotations

from django_tasks import task

from .exports import export_job_run
from .imports import import_job_run
from .indicators import indicators_refresh


@task()
def import_census_task(job_id: int) -> None:
    import_job_run(job_id=job_id)


@task()
def indicators_refresh_task() -> None:
    """The incremental rollup (figures and map cells of the villages marked stale)."""
    indicators_refresh()


@task()
def export_task(job_id: int) -> None:
    export_job_run(job_id=job_id)
