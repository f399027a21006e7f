"""What a user gets: the benchmark's real HTTP server, its client, the framework floor,
the SQL of a request timed in the database, process memory, a load test and the
dashboard in a real browser.

- `Portal` starts gunicorn (the project's gunicorn_conf.py, the production worker count
  2 x cores + 1) on a free loopback port with the benchmark's database and
  `demo.bench_settings` (the portal plus the floor view); `JobWorker` starts
  `manage.py db_worker` beside it for imports and exports that run as jobs.
- `fetch` times one request from connecting to the last byte of the body, on a new
  connection each time, as gunicorn's sync workers close every connection.
- The floor (`Floor.put`, demo/bench_urls.py) is a minimal Django view returning the same
  bytes as the measured endpoint, through the same middleware, with the same credentials.
- `request_sql` runs the same request in this process with the queries captured, and
  `explain_seconds` times them in PostgreSQL: the sum of EXPLAIN (ANALYZE) execution
  times (planning apart), without the queries the floor request makes too (sessions,
  users, tokens: the framework's, counted in the floor).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from desapresisi import http_cache

from .bench_urls import FLOOR_ROOT

HOST = "127.0.0.1"
START_TIMEOUT = 90
# Query kinds that are timed with EXPLAIN (ANALYZE); SET, savepoints and the like are not.
# Writes (a rate limit's cache entry, a session's expiry) run in a transaction rolled back.
EXPLAINED = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")


def database_url(name: str | None = None) -> str:
    """The URL of the database this process uses (the test database inside a test), or
    of another database `name` on the same server."""
    database = connection.settings_dict
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"postgis://{credentials}{host}{port}/{quote(name or database['NAME'], safe='')}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        DJANGO_SETTINGS_MODULE="demo.bench_settings",
        DATABASE_URL=database_url(),
        DB_CONN_MAX_AGE=str(connection.settings_dict.get("CONN_MAX_AGE") or 0),
        PYTHONUNBUFFERED="1",
    )
    environment.update(extra or {})
    return environment


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _static_current() -> bool:
    """Whether STATIC_ROOT's manifest is newer than every file the static finders list."""
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for finder in get_finders():
        for path, storage in finder.list([]):
            if Path(storage.path(path)).stat().st_mtime > built:
                return False
    return True


def collect_static(environment: dict[str, str]) -> None:
    """The manifest the production static storage needs (the server runs with DEBUG=0).
    Skipped when it is current: collectstatic rewrites the manifest, and a server another
    process starts meanwhile (a test's, on the other worker) would find none."""
    if _static_current():
        return
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        capture_output=True,
    )


@dataclass
class Fetched:
    seconds: float
    status: int
    size: int
    body: bytes
    headers: dict[str, str]


def fetch(
    port: int,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes | None = None,
    keep: bool = True,
) -> Fetched:
    """One request on a new connection, timed from connect to the last byte read.
    `keep=False` counts the body without keeping it (a large export)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=1800)
    try:
        conn.request(method, path, body=body, headers={"Host": HOST, **(headers or {})})
        response = conn.getresponse()
        if keep:
            data = response.read()
            size = len(data)
        else:
            data, size = b"", 0
            while chunk := response.read(1 << 20):
                size += len(chunk)
        seconds = time.perf_counter() - started
        return Fetched(seconds, response.status, size, data, dict(response.getheaders()))
    finally:
        conn.close()


class Portal:
    """gunicorn serving the portal with the benchmark's settings, on a free port."""

    def __init__(self, *, environment: dict[str, str], workers: int | None = None):
        self.environment = environment
        self.workers = workers or 2 * (os.cpu_count() or 1) + 1
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log")  # noqa: SIM115

    def __enter__(self) -> Portal:
        self.port = free_port()
        command = [
            _bin("gunicorn"), "desapresisi.wsgi:application",
            "--config", "desapresisi/gunicorn_conf.py",
            "--bind", f"{HOST}:{self.port}", "--workers", str(self.workers),
            "--timeout", "1800", "--error-logfile", "-",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603 - gunicorn of this environment
            command,
            cwd=settings.BASE_DIR,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn ended at start-up:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if fetch(self.port, "/health/live/").status == 200:
                    # Every worker up (each answers its first request more slowly).
                    while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
                        time.sleep(0.1)
                    for _ in range(self.workers * 2):
                        fetch(self.port, "/health/live/")
                    return self
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer within {START_TIMEOUT} s")

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []


class JobWorker:
    """`manage.py db_worker` (imports and exports that run as background jobs)."""

    def __init__(self, *, environment: dict[str, str]):
        self.environment = environment
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log")  # noqa: SIM115

    def __enter__(self) -> JobWorker:
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2"],
            cwd=settings.BASE_DIR,
            env=self.environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])


# --- process memory ---------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _status_kb(pid: int, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peaks(pids: Iterable[int]) -> bool:
    """Reset the peak RSS (VmHWM) of other processes of ours; False where not allowed."""
    done = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            done = False
    return done


def peaks_mb(pids: Iterable[int]) -> dict[int, float]:
    return {pid: kb / 1024 for pid in pids if (kb := _status_kb(pid, "VmHWM")) is not None}


# --- the floor and the SQL of a request -------------------------------------------------------


class Floor:
    """Bodies for the floor view, under FLOOR_ROOT/<run>/ (removed at the end)."""

    def __init__(self) -> None:
        self.run = uuid.uuid4().hex[:12]
        self.directory = FLOOR_ROOT / self.run
        self.directory.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, body: bytes, suffix: str) -> str:
        (self.directory / f"{key}.{suffix}").write_bytes(body)
        return f"/__bench__/floor/{self.run}/{key}.{suffix}"

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _client_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """HTTP headers as the Django test client takes them (HTTP_AUTHORIZATION=...)."""
    out = {}
    for name, value in (headers or {}).items():
        if name.lower() == "cookie":
            continue
        out["HTTP_" + name.upper().replace("-", "_")] = value
    return out


def captured_queries(
    path: str, *, headers=None, client: Client | None = None
) -> list[tuple[str, float]]:
    """The SQL the request runs, captured in this process (same URLconf as the server),
    with the seconds each took as the driver saw it (round trip and commit included)."""
    client = client or Client(HTTP_HOST=HOST)
    with (
        override_settings(ROOT_URLCONF="demo.bench_urls"),
        CaptureQueriesContext(connection) as captured,
    ):
        response = client.get(path, **_client_headers(headers))
        if hasattr(response, "streaming_content"):
            for _chunk in response.streaming_content:
                pass
    if response.status_code >= 400:
        raise RuntimeError(f"{path}: HTTP {response.status_code} in process")
    return [(query["sql"], float(query["time"])) for query in captured.captured_queries]


@dataclass
class RequestSql:
    seconds: float  # sum of EXPLAIN (ANALYZE) execution times, median of the runs
    planning_seconds: float
    queries: int
    framework_queries: int
    # The endpoint's statements as the driver timed them in the request, BEGIN and COMMIT
    # included (one run, in process).
    driver_seconds: float = 0.0
    statements: list[str] = field(default_factory=list)


def request_sql(
    path: str, floor_path: str, *, headers=None, client: Client | None = None, repeat: int = 3
) -> RequestSql:
    """The endpoint's own SQL (what the floor request does not run too), timed in the
    database: of building the answer, as the first request of it does (this process
    forgets the answers and versions it kept, which a repeat is served from)."""
    http_cache.ANSWERS.clear()
    http_cache.VERSIONS.clear()
    framework = {
        _without_times(sql)
        for sql, _seconds in captured_queries(floor_path, headers=headers, client=client)
    }
    own = [
        (sql, seconds)
        for sql, seconds in captured_queries(path, headers=headers, client=client)
        if _without_times(sql) not in framework
    ]
    statements = [sql for sql, _seconds in own if sql.lstrip().upper().startswith(EXPLAINED)]
    execution, planning = explain_seconds(statements, repeat=repeat)
    return RequestSql(
        execution,
        planning,
        len(statements),
        len(framework),
        driver_seconds=sum(seconds for _sql, seconds in own),
        statements=statements,
    )


TIMESTAMP = re.compile(r"'\d{4}-\d\d-\d\d[ T][\d:.+-]+'")


def _without_times(sql: str) -> str:
    """A query without its timestamp literals: the session look-up of the floor request
    and of the real one differ only by `now()` passed as a parameter."""
    return TIMESTAMP.sub("'?'", sql)


def explain_seconds(statements: list[str], *, repeat: int = 3) -> tuple[float, float]:
    """(execution, planning) seconds: the sum over the statements of PostgreSQL's own
    EXPLAIN (ANALYZE, TIMING OFF) figures, median of `repeat` runs."""
    if not statements:
        return 0.0, 0.0
    runs = []
    with transaction.atomic(), connection.cursor() as cursor:
        for _ in range(repeat):
            execution = planning = 0.0
            for sql in statements:
                try:
                    with transaction.atomic():  # a write may not run twice (a unique key)
                        cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}")
                        plan = cursor.fetchone()[0]
                except DatabaseError:
                    continue
                if isinstance(plan, str):
                    plan = json.loads(plan)
                execution += plan[0]["Execution Time"] / 1000
                planning += plan[0].get("Planning Time", 0.0) / 1000
            runs.append((execution, planning))
        transaction.set_rollback(True)  # EXPLAIN ANALYZE ran the writes: none is kept
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


# --- load test --------------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _one(port: int, path: str, headers: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    data = await reader.read()  # to EOF: the server closes the connection
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    seconds = time.perf_counter() - started
    try:
        status = int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return seconds, status


async def _load(port, paths, headers, clients, per_client) -> Load:
    latencies: list[float] = []
    errors = 0

    async def client(number: int) -> None:
        nonlocal errors
        for index in range(per_client):
            path = paths[(number * per_client + index) % len(paths)]
            try:
                seconds, status = await _one(port, path, headers)
            except OSError:
                errors += 1
                continue
            if status != 200:
                errors += 1
            latencies.append(seconds)

    started = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(clients)))
    return Load(clients * per_client, errors, time.perf_counter() - started, latencies)


def load_test(
    port: int,
    paths: list[str],
    *,
    headers: dict[str, str] | None = None,
    clients: int = 50,
    per_client: int = 20,
) -> Load:
    """`clients` concurrent clients, each sending `per_client` requests one after the other
    (a new connection each, Connection: close), cycling through `paths`."""
    return asyncio.run(_load(port, paths, headers or {}, clients, per_client))


# --- the dashboard in a real browser ----------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
POLYGONS_DRAWN = """() => {
  const map = document.getElementById('map');
  const drawn = document.querySelectorAll('#map path.leaflet-interactive').length;
  if (!map || !map.dataset.featureCount || drawn < Number(map.dataset.featureCount) || !drawn)
    return false;
  return {drawn, at: performance.now()};
}"""
MAP_READY = """() => {
  const map = document.getElementById('map');
  return map && map.dataset.ready === '1' ? performance.now() : false;
}"""


@dataclass
class FirstView:
    polygons_ms: float
    ready_ms: float
    load_ms: float
    polygons: int
    requests: int
    bytes: int
    largest: tuple[str, int]
    by_type: dict[str, int]
    errors: list[str]


def dashboard_first_view(port: int, *, path: str = "/", timeout_ms: int = 120_000) -> FirstView:
    """A first visit (empty cache) of the dashboard in headless Chromium: the time from
    navigation start until every area polygon is in the map (the map code's
    `data-feature-count`, set after drawing), until the map says it is ready, and the
    requests and bytes (encoded body sizes) the page made."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (optional at import)

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    errors: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu",
                      "--disable-background-networking"],
            )  # fmt: skip
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"http://{HOST}:{port}{path}", timeout=timeout_ms)
                drawn = page.wait_for_function(
                    POLYGONS_DRAWN, polling="raf", timeout=timeout_ms
                ).json_value()
                ready = page.wait_for_function(
                    MAP_READY, polling="raf", timeout=timeout_ms
                ).json_value()
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
                entries = page.evaluate(
                    """() => {
                      const nav = performance.getEntriesByType('navigation')[0];
                      const items = [nav, ...performance.getEntriesByType('resource')];
                      return {
                        load: nav.loadEventEnd,
                        items: items.map(e => ({name: e.name, type: e.initiatorType,
                                                bytes: e.encodedBodySize || 0}))
                      };
                    }"""
                )
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
    items = entries["items"]
    by_type: dict[str, int] = {}
    for item in items:
        by_type[item["type"]] = by_type.get(item["type"], 0) + item["bytes"]
    largest = max(items, key=lambda item: item["bytes"])
    return FirstView(
        polygons_ms=drawn["at"],
        ready_ms=ready,
        load_ms=entries["load"],
        polygons=drawn["drawn"],
        requests=len(items),
        bytes=sum(item["bytes"] for item in items),
        largest=(largest["name"].split(str(port), 1)[-1], largest["bytes"]),
        by_type=by_type,
        errors=errors,
    )
