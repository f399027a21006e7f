"""Health and metrics: the health endpoint follows a real worker process (stopped:
unhealthy within its limit; started again: healthy), tells a full disk, a stale backup and
a waiting queue, and holds no personal data; metrics are for this machine or the token."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from desapresisi.health import Heartbeat
from desapresisi.logs import JsonFormatter, PersonalDataFilter, RequestIdMiddleware
from desapresisi.models import WorkerHeartbeat
from households.models import DirtyRegion
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


def health(client=None):
    response = (client or Client()).get("/health/")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    return response.status_code, response.json()


def test_without_a_worker_the_portal_is_unhealthy():
    status, report = health()
    assert status == 503
    assert report["failed"] == ["worker"]
    assert report["checks"]["worker"] == {
        "status": "fail",
        "workers": 0,
        "max_age_seconds": 45,
        "last_seen_seconds": None,
    }
    assert report["checks"]["database"] == {"status": "ok"}


def test_a_fresh_heartbeat_is_healthy_and_a_stale_one_is_not(settings):
    beat = Heartbeat("pekerja-uji")
    beat.beat()
    status, report = health()
    assert (status, report["healthy"], report["checks"]["worker"]["workers"]) == (200, True, 1)
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - dt.timedelta(seconds=46))
    status, report = health()
    assert (status, report["failed"]) == (503, ["worker"])
    assert report["checks"]["worker"]["last_seen_seconds"] >= 46


def test_a_hung_task_shows_how_long_it_runs():
    beat = Heartbeat("pekerja-sibuk")
    beat.busy()
    beat.beat()
    WorkerHeartbeat.objects.update(busy_since=timezone.now() - dt.timedelta(minutes=30))
    _, report = health()
    assert report["checks"]["worker"]["longest_task_seconds"] >= 1800


def test_a_queue_that_does_not_move_is_unhealthy(settings):
    Heartbeat("pekerja").beat()
    task = DBTaskResult.objects.create(
        status=TaskResultStatus.READY,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="households.jobs.run_import",
        backend_name="default",
    )
    status, report = health()
    assert status == 200 and report["checks"]["queue"]["depth"] == 1
    DBTaskResult.objects.filter(pk=task.pk).update(
        enqueued_at=timezone.now()
        - dt.timedelta(seconds=settings.HEALTH_QUEUE_MAX_WAIT_SECONDS + 5)
    )
    status, report = health()
    assert (status, report["failed"]) == (503, ["queue"])


def test_little_room_for_exports_is_unhealthy(settings, tmp_path):
    Heartbeat("pekerja").beat()
    settings.EXPORT_ROOT = tmp_path / "not-yet-created" / "exports"
    status, report = health()
    assert status == 200 and report["checks"]["export_disk"]["free_mb"] > 0
    settings.HEALTH_MIN_FREE_MB = 10**12
    status, report = health()
    assert (status, report["failed"]) == (503, ["export_disk"])


def test_the_newest_backup_must_be_recent(settings, tmp_path):
    Heartbeat("pekerja").beat()
    assert health()[1]["checks"]["backup"] == {"status": "not_configured"}
    settings.PRODUCTION = True  # no backup configured in production is a failure
    assert health()[1]["failed"] == ["backup"]
    stamp = tmp_path / "last-backup"
    settings.BACKUP_STATUS_FILE = str(stamp)
    assert health()[1]["failed"] == ["backup"]  # configured, never run
    stamp.touch()
    status, report = health()
    assert status == 200 and report["checks"]["backup"]["age_hours"] < 0.1
    old = time.time() - 27 * 3600
    os.utime(stamp, (old, old))
    status, report = health()
    assert (status, report["failed"]) == (503, ["backup"])
    assert report["checks"]["backup"]["age_hours"] > 26


def test_the_health_answer_holds_no_personal_data():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN, head__nama="Siti Rahasia")
    Heartbeat("pekerja").beat()
    body = Client().get("/health/").content.decode()
    assert household.no_kk not in body and "Siti" not in body and PENAJAM_KELURAHAN not in body


def test_liveness_needs_no_database():
    response = Client().get("/health/live/")
    assert response.status_code == 200 and response.content == b"ok\n"


# --- a real worker process ------------------------------------------------------------


def _worker_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    db = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgis://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env["WORKER_HEARTBEAT_SECONDS"] = "1"
    env["HEALTH_WORKER_MAX_AGE_SECONDS"] = "3"
    return env


def _start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.5", "--verbosity", "0"],
        cwd=BASE_DIR,
        env=_worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _wait_for(status: int, client: Client, seconds: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if client.get("/health/").status_code == status:
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"/health/ did not answer {status} within {seconds} s")


@pytest.mark.django_db(transaction=True)
def test_health_follows_the_worker_process(settings):
    settings.WORKER_HEARTBEAT_SECONDS = 1
    settings.HEALTH_WORKER_MAX_AGE_SECONDS = 3
    client = Client()
    assert client.get("/health/").status_code == 503
    worker = _start_worker()
    try:
        _wait_for(200, client, 60)
        worker.send_signal(signal.SIGKILL)  # a crash: nothing gets to say goodbye
        worker.wait(10)
        took = _wait_for(503, client, 20)
        assert took <= 3 + 1 + 1  # the limit, one beat, one poll
        assert client.get("/health/").json()["failed"] == ["worker"]
        worker = _start_worker()
        _wait_for(200, client, 60)
        worker.send_signal(signal.SIGTERM)  # a stop by systemd: graceful
        assert worker.wait(20) == 0, worker.stderr.read().decode()
        _wait_for(503, client, 20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)


# --- metrics --------------------------------------------------------------------------


def test_metrics_time_requests_by_route_without_identifiers():
    household = HouseholdFactory(region_id=PENAJAM_KELURAHAN)
    DirtyRegion.objects.get_or_create(region_id=PENAJAM_KELURAHAN)
    client = Client()
    client.get(f"/api/v1/households/{household.pk}/")
    client.get("/health/live/")
    body = client.get("/metrics").content.decode()
    assert 'route="api/<version>/households/<int:pk>/"' in body
    assert 'route="health/live/",status="2xx"' in body
    assert f"/{household.pk}/" not in body
    assert "desapresisi_rollup_stale_villages 1.0" in body
    assert "desapresisi_rollup_staleness_seconds" in body
    assert "desapresisi_tasks_waiting 0.0" in body


def test_metrics_count_finished_and_failed_tasks():
    now = timezone.now()
    for status, seconds in ((TaskResultStatus.SUCCESSFUL, 2), (TaskResultStatus.FAILED, 5)):
        DBTaskResult.objects.create(
            status=status,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="households.jobs.run_import",
            backend_name="default",
            started_at=now - dt.timedelta(seconds=seconds),
            finished_at=now,
        )
    body = Client().get("/metrics").content.decode()
    assert 'desapresisi_tasks_finished{outcome="failed",task="run_import"} 1.0' in body
    assert (
        'desapresisi_tasks_duration_seconds_sum{outcome="successful",task="run_import"} 2.0' in body
    )


def test_metrics_are_not_for_other_machines_or_behind_the_proxy(settings, tmp_path):
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 404
    proxied = Client(HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.get("/metrics").status_code == 404
    token = tmp_path / "metrics-token"
    token.write_text("rahasia-pemantau\n")
    settings.METRICS_TOKEN_FILE = str(token)
    remote = Client(REMOTE_ADDR="10.1.2.3")
    assert remote.get("/metrics").status_code == 404
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer salah").status_code == 404
    answer = remote.get("/metrics", HTTP_AUTHORIZATION="Bearer rahasia-pemantau")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")


# --- logs -----------------------------------------------------------------------------


def test_every_answer_carries_a_request_id():
    client = Client()
    first = client.get("/health/live/")["X-Request-ID"]
    second = client.get("/health/live/")["X-Request-ID"]
    assert len(first) == 32 and first != second
    sent = client.get("/health/live/", HTTP_X_REQUEST_ID="proxy-1234abcd")
    assert sent["X-Request-ID"] == "proxy-1234abcd"
    odd = client.get("/health/live/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert odd["X-Request-ID"] != "<script>alert(1)</script>" and len(odd["X-Request-ID"]) == 32


def test_log_lines_carry_the_request_id_and_no_identity_numbers():

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("desapresisi.uji")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def view(request):
        logger.info("NIK %s tidak cocok dengan KK 6409011234567890", "6409015505900001")
        try:
            raise ValueError("nik 6409015505900001")
        except ValueError:
            logger.exception("gagal")
        return HttpResponse()

    try:
        RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-00000001"))
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-00000001", "req-00000001"]
    assert lines[0]["message"] == "NIK 640901******0001 tidak cocok dengan KK 640901******7890"
    assert "6409015505900001" not in stream.getvalue()
    assert "640901******0001" in lines[1]["exception"]
    assert lines[0]["time"].endswith("Z") and lines[0]["level"] == "INFO"
