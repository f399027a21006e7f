"""The benchmark: each operation of the portal measured against its raw baseline, in one
run, on the same data (`manage.py bench`; `--quick` for a smoke test in seconds).

Figures are wall-clock times on this machine. Generation and the rollup run in this
process; everything a user asks for is measured over real HTTP against a gunicorn and a
db_worker that the benchmark starts on its own database (demo/bench_http.py), each API
figure against the framework floor (demo/bench_urls.py: a minimal view returning the same
bytes) and against its own SQL timed in PostgreSQL (EXPLAIN ANALYZE). "cold" tile times are
the first request of each tile (PostgreSQL's and the OS's caches may still hold pages:
dropping them needs privileges a deployment does not give the application).

Peak memory (`peak_mb`) is the peak resident set size (RSS) of the process doing the work:
for the HTTP measures the largest of the gunicorn workers (and the db_worker for jobs),
reset through /proc/<pid>/clear_refs before the operation; otherwise this process,
during the operation, in MB of 2**20 bytes: the kernel's high-water mark VmHWM,
reset before the operation by writing "5" to /proc/self/clear_refs and read from
/proc/self/status after it. It is all the process holds (interpreter, libraries, and
memory that earlier operations have not handed back: `extra["rss_start_mb"]` is the RSS an
operation started from, where recorded); work done by the PostgreSQL server or by a psql
child process is not in it. Where /proc cannot be used (not Linux), the figure falls back
to the tracemalloc peak of the Python heap; the JSON's `peak_memory` names the method used.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import functools
import gc
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from rest_framework.authtoken.models import Token

from desapresisi.access import disclosure_for
from desapresisi.db import history_pause
from desapresisi.models import AccessProfile, Role
from households import schema
from households.census_import.columns import (
    HOUSEHOLD_SHEET,
    KEEP,
    MEMBER_SHEET,
    household_staging,
    member_staging,
)
from households.exports.rows import (
    csv_stream,
    household_headers,
    household_rows,
    member_headers,
    member_rows,
)
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, Household, ImportStatus
from households.selectors import members_for
from programmes.models import Programme
from quality.checks import CHECKS, planned
from quality.models import Rule
from quality.services import flags_refresh
from villages.models import Level, Region
from villages.services import regions_load

from .bench_http import (
    Fetched,
    Floor,
    JobWorker,
    Portal,
    collect_static,
    dashboard_first_view,
    database_url,
    fetch,
    load_test,
    peaks_mb,
    request_sql,
    reset_peaks,
    server_environment,
)
from .bench_rounds import bench_rounds
from .generator import households_generate, programmes_generate, programmes_remove_synthetic

TILE_ZOOMS = [8, 9, 10, 11, 12, 13, 14, 15, 16]
IMPORT_HOUSEHOLDS = 100_000
XLSX_HOUSEHOLDS = 100_000
QUICK_IMPORT_HOUSEHOLDS = 100
QUICK_XLSX_HOUSEHOLDS = 300
PEAK_NOTE = "peak MB: the process doing the work (this one; over HTTP gunicorn or db_worker)"


@dataclass
class Measure:
    name: str
    seconds: float
    baseline: str = ""
    baseline_seconds: float | None = None
    peak_mb: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.baseline_seconds:
            return None
        return self.seconds / self.baseline_seconds


@dataclass
class BenchResult:
    started: str
    machine: str
    region: str
    households: int
    peak_memory: str = ""
    measures: list[Measure] = field(default_factory=list)

    def as_json(self) -> str:
        data = asdict(self)
        for measure, raw in zip(self.measures, data["measures"], strict=True):
            raw["ratio"] = measure.ratio
        return json.dumps(data, indent=2, ensure_ascii=False)

    def table(self) -> str:
        lines = [
            f"{'operation':<44} {'time':>10} {'baseline':>10} {'ratio':>7} {'peak MB':>8}  note",
            "-" * 110,
        ]
        for m in self.measures:
            lines.append(
                f"{m.name:<44} {_ms(m.seconds):>10} {_ms(m.baseline_seconds):>10} "
                f"{(f'{m.ratio:.2f}' if m.ratio else ''):>7} "
                f"{(f'{m.peak_mb:.1f}' if m.peak_mb is not None else ''):>8}  {m.note}"
            )
        return "\n".join(lines)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


PEAK_RSS = "peak RSS of the Django process (VmHWM after /proc/self/clear_refs)"
PEAK_HEAP = "peak of the Python heap (tracemalloc; /proc/self/clear_refs unavailable)"
MB = 1024 * 1024


def _status_kb(name: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB."""
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    raise OSError(f"no {name} in /proc/self/status")


def _reset_peak_rss() -> None:
    # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0, own process).
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


@functools.cache
def peak_memory_method() -> str:
    try:
        _reset_peak_rss()
        _status_kb("VmHWM")
    except (OSError, ValueError):
        return PEAK_HEAP
    return PEAK_RSS


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


class PeakMemory:
    """`with PeakMemory() as memory:` ... then `memory.peak_mb` (see the module docstring).

    Not nestable: an inner block resets the peak of the outer one. Garbage is collected
    and freed C heap handed back to the OS first, so that an operation's peak carries as
    little as possible of the operations before it."""

    def __init__(self, *, trace_heap: bool = True):
        self.method = peak_memory_method()
        self.trace_heap = trace_heap
        self.start_mb: float | None = None
        self.peak_mb: float | None = None

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if trim := _malloc_trim():
            trim(0)
        if self.method == PEAK_RSS:
            _reset_peak_rss()
            self.start_mb = _status_kb("VmRSS") / 1024
        elif self.trace_heap:
            tracemalloc.start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.method == PEAK_RSS:
            self.peak_mb = _status_kb("VmHWM") / 1024
        elif self.trace_heap:
            self.peak_mb = tracemalloc.get_traced_memory()[1] / MB
            tracemalloc.stop()


def timed(
    function: Callable, *, repeat: int = 1, trace_heap: bool = True
) -> tuple[float, float | None, object]:
    """(median seconds, peak MB of the process during all the runs, last result).

    `trace_heap=False` gives no memory figure where only tracemalloc is available: it slows
    allocation-heavy Python several times over (the generator). Peak RSS costs nothing."""
    times = []
    result = None
    with PeakMemory(trace_heap=trace_heap) as memory:
        for _ in range(repeat):
            started = time.perf_counter()
            result = function()
            times.append(time.perf_counter() - started)
    return statistics.median(times), memory.peak_mb, result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def _sql_seconds(sql: str, params=None, *, repeat: int = 5) -> float:
    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return timed(run, repeat=repeat)[0]


def run_bench(
    *,
    region: str,
    households: int,
    seed: int,
    quick: bool,
    output: Path | None,
    progress: Callable[[str], None],
    import_households: int | None = None,
    xlsx_households: int | None = None,
    reuse: bool = False,
    dashboard_baseline: str | None = None,
    only: set[str] | None = None,
) -> BenchResult:
    """`only`: the names of the sections to run (SECTIONS); None runs them all. The census
    and its full rollup are always there, since every section reads them."""
    if only is not None and only - set(SECTIONS):
        raise ValueError(f"unknown bench sections: {', '.join(sorted(only - set(SECTIONS)))}")

    def wanted(section: str) -> bool:
        return only is None or section in only

    result = BenchResult(
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=f"{platform.node()} {platform.machine()} {_cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
        region=region,
        households=households,
        peak_memory=peak_memory_method(),
    )

    def add(measure: Measure) -> None:
        measure.note = f"{measure.note}; {PEAK_NOTE}" if measure.note else PEAK_NOTE
        result.measures.append(measure)
        if output:  # after every measure: a long run that fails keeps what it measured
            _write_json(output, result)

    # --- dataset ---------------------------------------------------------------------
    if region == "64" or region.startswith("64."):
        scope = "ppu" if region.startswith("64.09") else "kaltim"
        progress(f"loading regions ({scope})")
        regions_load(scope=scope)
    existing = _household_count(region) if reuse else 0
    if reuse and existing >= households:
        # The census of an earlier run or of `generate_households` (same region and size).
        progress(f"reusing the {existing:,} households already in {region}")
    else:
        progress(f"generating {households:,} synthetic households in {region}")
        seconds, peak, generated = timed(
            lambda: households_generate(
                region_code=region, households=households, seed=seed, refresh=False
            ),
            trace_heap=False,
        )
        add(
            Measure(
                "generate census (COPY)",
                seconds,
                peak_mb=peak,
                note=f"{generated.households:,} households, {generated.members:,} members, "
                f"{generated.households / seconds:,.0f} households/s",
            )
        )

    # --- rollup ---------------------------------------------------------------------------
    progress("full rollup refresh")
    full_seconds, peak, refreshed = timed(lambda: indicators_refresh(full=True))
    add(
        Measure(
            "rollup: full refresh", full_seconds, peak_mb=peak, note=f"{refreshed.rows:,} values"
        )
    )

    kabupaten = _kabupaten_of(region)
    if wanted("incremental") or wanted("quality"):
        _bench_incremental_and_quality(
            region, seed=seed, quick=quick, full_seconds=full_seconds, add=add,
            progress=progress, incremental=wanted("incremental"), quality=wanted("quality"),
        )  # fmt: skip
    served_sections = {name for name in SERVED_SECTIONS if wanted(name)}
    if served_sections:
        _bench_http_sections(
            region, kabupaten=kabupaten, seed=seed, quick=quick, add=add, progress=progress,
            sections=served_sections, import_households=import_households,
            xlsx_households=xlsx_households, dashboard_baseline=dashboard_baseline,
            reuse=reuse,
        )  # fmt: skip

    return result


# The sections of the benchmark, for `manage.py bench --only`: in process, then over HTTP.
SERVED_SECTIONS = (
    "values", "tiles", "list", "programme", "dashboard", "load", "exports", "import", "rounds",
)  # fmt: skip
SECTIONS = ("incremental", "quality", *SERVED_SECTIONS)


def _bench_incremental_and_quality(
    region: str,
    *,
    seed: int,
    quick: bool,
    full_seconds: float,
    add: Callable[[Measure], None],
    progress: Callable[[str], None],
    incremental: bool,
    quality: bool,
) -> None:
    kabupaten = _kabupaten_of(region)
    # An import round covers a kecamatan or a few villages, not a whole kabupaten.
    kecamatan = (
        Region.objects.filter(level=Level.KECAMATAN, code__startswith=f"{kabupaten}.")
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    if incremental:
        extra = 200 if quick else 10_000
        progress(f"adding {extra:,} households in kecamatan {kecamatan} (incremental refresh)")
        households_generate(
            region_code=kecamatan, households=extra, seed=seed + 1, replace=False, refresh=False
        )
        seconds, peak, refreshed = timed(indicators_refresh)
        add(
            Measure(
                f"rollup: incremental after {extra:,} households",
                seconds,
                baseline="full refresh",
                baseline_seconds=full_seconds,
                peak_mb=peak,
                note=f"{refreshed.villages} villages recomputed (target <= 10% of full)",
            )
        )

    if quality:
        # --- quality flags ------------------------------------------------------------------
        progress("quality flags: full and incremental against the raw SQL of the rules")
        for measure in bench_quality_flags(kecamatan=kecamatan):
            add(measure)


def _bench_http_sections(
    region: str,
    *,
    kabupaten: str,
    seed: int,
    quick: bool,
    add: Callable[[Measure], None],
    progress: Callable[[str], None],
    sections: set[str],
    import_households: int | None,
    xlsx_households: int | None,
    dashboard_baseline: str | None,
    reuse: bool = False,
) -> None:
    # --- what users get: every figure below over HTTP, from a gunicorn of this run -------
    admin = _bench_admin()
    analyst = _bench_user(region, AccessProfile, Role)
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as exports:
        environment = server_environment(
            {
                "EXPORT_ROOT": exports,
                # The import's CSV pair of 100,000 households is about 100 MB.
                "IMPORT_MAX_BYTES": str(IMPORT_MAX_BYTES),
                # The XLSX export of the quick run must take the job path too.
                **({"EXPORT_XLSX_SYNC_MAX_ROWS": "100"} if quick else {}),
                "THROTTLE_IMPORTS": "1000/hour",
                "THROTTLE_EXPORTS": "1000/hour",
            }
        )
        progress("collectstatic and gunicorn")
        collect_static(environment)
        floor = Floor()
        try:
            with (
                Portal(environment=environment, workers=2 if quick else None) as portal,
                JobWorker(environment=environment) as worker,
            ):
                served = Served(
                    portal=portal,
                    floor=floor,
                    quick=quick,
                    admin=admin,
                    analyst=analyst,
                    worker=worker,
                )
                _bench_served(
                    served,
                    region=region,
                    kabupaten=kabupaten,
                    seed=seed,
                    add=add,
                    progress=progress,
                    import_households=import_households,
                    xlsx_households=xlsx_households,
                    dashboard_baseline=dashboard_baseline,
                    sections=sections,
                    reuse=reuse,
                )
        finally:
            floor.close()


def _write_json(output: Path, result: BenchResult) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(result.as_json() + "\n", encoding="utf-8")


def _cpu_count() -> int:
    return os.cpu_count() or 0


def _kabupaten_of(region: str) -> str:
    if len(region) >= 5:
        return region[:5]
    # The kabupaten with the most villages under the region.
    return (
        Region.objects.filter(level=Level.KABUPATEN, code__startswith=f"{region}.")
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )


def _bench_user(region: str, profile_model, role_model):
    user, _ = get_user_model().objects.get_or_create(username="bench-analis")
    profile_model.objects.update_or_create(
        user=user, defaults={"role": role_model.ANALYST, "areas": [region]}
    )
    return user


# --- what users get: HTTP against the benchmark's gunicorn ----------------------------------

# Uploads of the import measure: its CSV pair of 100,000 households is about 100 MB.
IMPORT_MAX_BYTES = 512 * MB
HTTP_REPEAT, QUICK_HTTP_REPEAT = 9, 3
LOAD_CLIENTS, LOAD_PER_CLIENT = 50, 10
QUICK_LOAD_CLIENTS, QUICK_LOAD_PER_CLIENT = 10, 3
JOB_POLL_SECONDS = 0.1
JOB_TIMEOUT_SECONDS = 3600
VALUES_TARGET = 1.5  # values API over HTTP <= 1.5x the floor
TILE_P50_TARGET, TILE_P95_TARGET, CACHED_TILE_TARGET = 1.5, 3.0, 1.2


@dataclass
class Served:
    """The benchmark's server and the credentials of its two users."""

    portal: Portal
    floor: Floor
    quick: bool
    admin: object
    analyst: object
    tokens: dict = field(default_factory=dict)
    worker: JobWorker | None = None
    cookies: dict = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.portal.port

    @property
    def repeat(self) -> int:
        return QUICK_HTTP_REPEAT if self.quick else HTTP_REPEAT

    def token(self, user) -> dict[str, str]:
        """API credentials: the user's DRF token, as an API client sends it."""
        if user.pk not in self.tokens:
            key, _ = Token.objects.get_or_create(user=user)
            self.tokens[user.pk] = {"Authorization": f"Token {key.key}"}
        return self.tokens[user.pk]

    def session(self, user) -> dict[str, str]:
        """Browser credentials: a login session's cookie."""
        if user.pk not in self.cookies:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            name = settings.SESSION_COOKIE_NAME
            self.cookies[user.pk] = {"Cookie": f"{name}={client.cookies[name].value}"}
        return self.cookies[user.pk]

    def client_for(self, headers: dict[str, str]) -> Client:
        """A test client with the same credentials (for the SQL of a request)."""
        client = Client(HTTP_HOST="127.0.0.1")
        cookie = headers.get("Cookie", "")
        if cookie:
            name, _, value = cookie.partition("=")
            client.cookies[name] = value
        return client

    def warm_up(self, path: str, headers: dict[str, str]) -> None:
        """Requests enough for every gunicorn worker to have answered `path` (the
        kernel hands each connection to whichever worker accepts it first)."""
        for _ in range(2 * self.portal.workers):
            fetch(self.port, path, headers=headers)

    def paired(
        self, path: str, floor_path: str, headers, *, same_bytes: bool = True
    ) -> tuple[float, float, Fetched]:
        """Medians of `repeat` requests of `path` and of its floor, alternating, so that
        both meet the same load of a shared machine; the floor answers the same bytes
        (a page or a tile: about the same size, as a page's CSP nonce and CSRF token
        change with every answer, and the order of a dense tile's features with the
        plan PostgreSQL picks). Returns (seconds, floor seconds, the last answer)."""
        times, floor_times = [], []
        for _ in range(self.repeat):
            last = fetch(self.port, path, headers=headers)
            floor = fetch(self.port, floor_path, headers=headers)
            if last.status != 200 or floor.status != 200:
                raise RuntimeError(f"{path}: HTTP {last.status}, floor {floor.status}")
            same = (
                floor.body == last.body
                if same_bytes
                else abs(floor.size - last.size) <= max(64, last.size // 20)
            )
            if not same:
                raise RuntimeError(
                    f"the floor of {path} did not return the same bytes "
                    f"({floor.size:,} against {last.size:,})"
                )
            times.append(last.seconds)
            floor_times.append(floor.seconds)
        return statistics.median(times), statistics.median(floor_times), last

    def worker_peak_mb(self) -> float:
        peaks = peaks_mb(self.portal.worker_pids())
        return max(peaks.values()) if peaks else 0.0


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _http_measure(
    served: Served,
    name: str,
    path: str,
    *,
    headers: dict[str, str],
    suffix: str,
    target: float | None = None,
    note: str = "",
) -> Measure:
    """One endpoint over HTTP (median of `repeat` after one first request) against the
    framework floor returning the same bytes, and its own SQL in the database."""
    reset_peaks(served.portal.worker_pids())
    first = fetch(served.port, path, headers=headers)
    if first.status != 200:
        raise RuntimeError(f"{path}: HTTP {first.status}\n{served.portal.log_tail()}")
    key = f"m{len(os.listdir(served.floor.directory))}"
    floor_path = served.floor.put(key, first.body, suffix)
    served.warm_up(path, headers)
    served.warm_up(floor_path, headers)
    seconds, floor_seconds, last = served.paired(
        path, floor_path, headers, same_bytes=suffix != "html"
    )
    sql = request_sql(path, floor_path, headers=headers, client=served.client_for(headers))
    ratio = seconds / floor_seconds
    verdict = f"; target <= {target}x floor: {_verdict(ratio <= target)}" if target else ""
    return Measure(
        name,
        seconds,
        baseline="framework floor, same bytes",
        baseline_seconds=floor_seconds,
        peak_mb=served.worker_peak_mb(),
        note=f"{last.size / 1024:,.1f} KB; first request {_ms(first.seconds)}; its SQL in "
        f"PostgreSQL {_ms(sql.seconds)} (EXPLAIN ANALYZE, {sql.queries} queries, planning "
        f"{_ms(sql.planning_seconds)}; as the driver saw them in the request "
        f"{_ms(sql.driver_seconds)}); HTTP - floor = {_ms(seconds - floor_seconds)}"
        f"{verdict}{'; ' + note if note else ''}",
        extra={
            "path": path,
            "bytes": last.size,
            "first_seconds": first.seconds,
            "floor_seconds": floor_seconds,
            "sql_seconds": sql.seconds,
            "sql_planning_seconds": sql.planning_seconds,
            "sql_queries": sql.queries,
            "sql_driver_seconds": sql.driver_seconds,
            "ratio_to_floor": ratio,
            "target_ratio": target,
            "met": ratio <= target if target else None,
        },
    )


def _bench_served(
    served: Served,
    *,
    region: str,
    kabupaten: str,
    seed: int,
    add: Callable[[Measure], None],
    progress: Callable[[str], None],
    import_households: int | None,
    xlsx_households: int | None,
    dashboard_baseline: str | None = None,
    sections: set[str] = frozenset(SERVED_SECTIONS),
    reuse: bool = False,
) -> None:
    # --- indicator values ---------------------------------------------------------------
    province = region[:2]
    for label, parent in (
        (
            (f"kabupaten {kabupaten}", kabupaten),
            (f"province {province}", province),
        )
        if "values" in sections
        else ()
    ):
        url = f"/api/v1/indicators/values/?indicator=tanpa_jamban&level=desa&parent={parent}"
        for who, headers in (("anonymous", {}), ("token", served.token(served.analyst))):
            progress(f"indicator values API, {label}, {who}")
            measure = _http_measure(
                served,
                f"indicator values API: {label}, {who}",
                url,
                headers=headers,
                suffix="json",
                target=VALUES_TARGET,
            )
            if who == "anonymous":
                raw = _sql_seconds(
                    "SELECT region_id, extract(year FROM tanggal_survei), "
                    "count(*) FILTER (WHERE fasilitas_bab = 6), count(*) FILTER (WHERE "
                    "fasilitas_bab IS NOT NULL) FROM households_household "
                    "WHERE region_id LIKE %s GROUP BY 1, 2",
                    [f"{parent}.%"],
                    repeat=3,
                )
                measure.note += (
                    f"; a live GROUP BY over the households instead: {_ms(raw)} "
                    f"(API {raw / measure.seconds:.1f}x faster)"
                )
                measure.extra["raw_group_by_seconds"] = raw
            add(measure)

    # --- tiles ----------------------------------------------------------------------------
    if "tiles" in sections:
        progress("vector tiles by density, z8-16")
        tiles = _bench_tiles(served, region)
        add(tiles)
        tile_paths = tiles.extra["paths"]
    else:
        tile_paths = [
            f"/api/v1/tiles/households/{z}/{x}/{y}.pbf" for _d, z, x, y, _n in sample_tiles(region)
        ]

    # --- household list -------------------------------------------------------------------
    if "list" in sections:
        add(
            _http_measure(
                served,
                "household list: one page of 100",
                f"/api/v1/households/?region={kabupaten}&page_size=100",
                headers=served.token(served.analyst),
                suffix="json",
            )
        )

    # --- programme page --------------------------------------------------------------------
    if "programme" in sections:
        progress("demo programmes and the programme page")
        add(_bench_programme_page(region, seed, served))

    # --- the dashboard ---------------------------------------------------------------------
    if "dashboard" in sections:
        progress("dashboard first view in Chromium")
        add(_bench_dashboard(served, region, dashboard_baseline))
    if "load" in sections:
        progress("load test: 50 concurrent clients")
        for measure in _bench_load(served, tile_paths):
            add(measure)

    # --- exports and import ------------------------------------------------------------------
    if "exports" in sections:
        progress(f"CSV export of every household in {region}")
        add(_bench_csv_export(served, region))
        if xlsx_households is None:
            xlsx_households = QUICK_XLSX_HOUSEHOLDS if served.quick else XLSX_HOUSEHOLDS
        progress(f"XLSX export of about {xlsx_households:,} households, as a job")
        add(_bench_xlsx_export(served, region, xlsx_households))
    if "import" in sections:
        if import_households is None:
            import_households = QUICK_IMPORT_HOUSEHOLDS if served.quick else IMPORT_HOUSEHOLDS
        progress(f"census import of {import_households:,} households against psql \\copy")
        add(_bench_import(served, region, import_households, progress))

    # --- survey rounds (issue 15): two rounds, then their requests over HTTP ---------------
    if "rounds" in sections:
        for measure in bench_rounds(
            region=region,
            kabupaten=kabupaten,
            seed=seed,
            served=served,
            http_measure=_http_measure,
            reuse=reuse,
            timed=timed,
            measure=Measure,
            progress=progress,
        ):
            add(measure)


def _bench_programme_page(region: str, seed: int, served: Served) -> Measure:
    """The programme page of the demo STBM programme (as the bench analyst, logged in):
    its figures come from the rollup rows, measured against the floor and against the
    live GROUP BY over interventions they replace."""
    programmes_generate(region_code=region, year=dt.date.today().year, seed=seed)
    programme = Programme.objects.filter(synthetic=True, indicator_id="tanpa_jamban").first()
    if programme is None:
        raise RuntimeError("no demo programme: the census has no household without a latrine")
    measure = _http_measure(
        served,
        "programme page",
        f"/program/{programme.pk}/",
        headers=served.session(served.analyst),
        suffix="html",
    )
    raw = _sql_seconds(
        "SELECT h.region_id, i.status, count(*), sum(i.planned_amount), sum(i.realised_amount) "
        "FROM programmes_intervention i JOIN households_household h ON h.id = i.household_id "
        "WHERE i.programme_id = %s GROUP BY 1, 2",
        [programme.pk],
        repeat=3,
    )
    interventions = programme.interventions.count()
    # The census measures below delete and re-import households: no demo work may hold them.
    programmes_remove_synthetic()
    measure.note += f"; {interventions:,} interventions; live GROUP BY over them {_ms(raw)}"
    measure.extra.update(interventions=interventions, raw_group_by_seconds=raw)
    return measure


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def sample_tiles(region: str) -> list[tuple[str, int, int, int, int]]:
    """(density, z, x, y, households) for every zoom of TILE_ZOOMS: the sparsest, the
    median and the densest tile holding households of the region, counted over all its
    households (one pass at the deepest zoom, summed up for the others)."""
    where, params = _region_sql(region)
    deepest = max(TILE_ZOOMS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT floor((ST_X(lokasi) + 180) / 360 * 2 ^ %s)::int AS x, "  # noqa: S608 - fixed SQL
            "floor((1 - asinh(tan(radians(ST_Y(lokasi)))) / pi()) / 2 * 2 ^ %s)::int AS y, "
            f"count(*) FROM households_household WHERE {where} AND lokasi IS NOT NULL "
            "GROUP BY 1, 2",
            [deepest, deepest, *params],
        )
        cells = cursor.fetchall()
    sampled = []
    for z in TILE_ZOOMS:
        shift = deepest - z
        counts: dict[tuple[int, int], int] = {}
        for x, y, count in cells:
            counts[(x >> shift, y >> shift)] = counts.get((x >> shift, y >> shift), 0) + count
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0]))
        picks = {"sparse": ordered[0], "median": ordered[len(ordered) // 2], "densest": ordered[-1]}
        seen = set()
        for density, ((x, y), count) in picks.items():
            if (x, y) in seen:
                continue
            seen.add((x, y))
            sampled.append((density, z, x, y, count))
    return sampled


def _bench_tiles(served: Served, region: str) -> Measure:
    """Household tiles z8-16 sampled by density over the whole region, as the map asks
    for them (a logged-in analyst's session): the first request of each tile ("cold"),
    then repeats ("warm"), each against the floor with the same bytes and the tile's SQL
    in PostgreSQL; a revalidation (If-None-Match) where the answer carries an ETag."""
    headers = served.session(served.analyst)
    client = served.client_for(headers)
    reset_peaks(served.portal.worker_pids())
    rows = []
    for density, z, x, y, households in sample_tiles(region):
        path = f"/api/v1/tiles/households/{z}/{x}/{y}.pbf"
        cold = fetch(served.port, path, headers=headers)
        if cold.status != 200:
            raise RuntimeError(f"{path}: HTTP {cold.status}\n{served.portal.log_tail()}")
        floor_path = served.floor.put(f"tile-{z}-{x}-{y}", cold.body, "pbf")
        served.warm_up(path, headers)
        served.warm_up(floor_path, headers)
        warm, floor, last = served.paired(path, floor_path, headers, same_bytes=False)
        sql = request_sql(path, floor_path, headers=headers, client=client)
        revalidated = None
        etag = last.headers.get("ETag")
        if etag:
            answers = [
                fetch(served.port, path, headers={**headers, "If-None-Match": etag})
                for _ in range(served.repeat)
            ]
            if all(answer.status == 304 for answer in answers):
                revalidated = statistics.median(answer.seconds for answer in answers)
        rows.append(
            {
                "density": density, "z": z, "x": x, "y": y, "households": households,
                "path": path, "bytes": last.size, "cold": cold.seconds, "warm": warm,
                "floor": floor, "sql": sql.seconds, "sql_queries": sql.queries,
                "sql_driver": sql.driver_seconds,
                "revalidated_304": revalidated,
                "ratio": warm / (floor + sql.seconds),
                "ratio_cold": cold.seconds / (floor + sql.seconds),
                "ratio_to_floor": warm / floor,
            }
        )  # fmt: skip

    def p(key: str, fraction: float) -> float:
        return percentile([row[key] for row in rows], fraction)

    ratio50, ratio95 = p("ratio", 0.5), p("ratio", 0.95)
    floor_ratio = p("ratio_to_floor", 0.5)
    over = [row for row in rows if row["bytes"] > 150 * 1024]
    revalidations = [row["revalidated_304"] for row in rows if row["revalidated_304"]]
    note = (
        f"{len(rows)} tiles (sparse/median/densest of each zoom 8-16 over {region}); "
        f"warm p50/p95/max {_ms(p('warm', 0.5))} / {_ms(p('warm', 0.95))} / "
        f"{_ms(p('warm', 1))}; cold p50/p95/max {_ms(p('cold', 0.5))} / "
        f"{_ms(p('cold', 0.95))} / {_ms(p('cold', 1))}; floor p50 {_ms(p('floor', 0.5))}; "
        f"SQL p50/max {_ms(p('sql', 0.5))} / {_ms(p('sql', 1))}; bytes p50/p95/max "
        f"{p('bytes', 0.5) / 1024:,.1f} / {p('bytes', 0.95) / 1024:,.1f} / "
        f"{p('bytes', 1) / 1024:,.1f} KB ({len(over)} over 150 KB); warm / (floor + SQL) "
        f"p50 {ratio50:.2f} (target <= {TILE_P50_TARGET}: {_verdict(ratio50 <= TILE_P50_TARGET)})"
        f", p95 {ratio95:.2f} (target <= {TILE_P95_TARGET}: "
        f"{_verdict(ratio95 <= TILE_P95_TARGET)}); warm / floor p50 {floor_ratio:.2f} "
        f"(cached tiles target <= {CACHED_TILE_TARGET}: "
        f"{_verdict(floor_ratio <= CACHED_TILE_TARGET)}); "
        + (
            f"304 revalidation p50 {_ms(statistics.median(revalidations))}"
            if revalidations
            else "no ETag on tiles (no revalidation)"
        )
    )
    return Measure(
        "MVT tiles z8-16 by density: p50 warm",
        p("warm", 0.5),
        baseline="floor + the tile's SQL, p50",
        baseline_seconds=p("floor", 0.5) + p("sql", 0.5),
        peak_mb=served.worker_peak_mb(),
        note=note,
        extra={
            "tiles": rows,
            "paths": [row["path"] for row in rows],
            "ratio_p50": ratio50,
            "ratio_p95": ratio95,
            "ratio_to_floor_p50": floor_ratio,
            "met": {
                "p50": ratio50 <= TILE_P50_TARGET,
                "p95": ratio95 <= TILE_P95_TARGET,
                "cached": floor_ratio <= CACHED_TILE_TARGET,
                "size": not over,
            },
        },
    )


DASHBOARD_TARGET = 1.5  # polygons drawn at the bench's census <= 1.5x at the baseline's


def _bench_dashboard(served: Served, region: str, baseline: str | None = None) -> Measure:
    """The anonymous first view of the home page in Chromium, empty cache: time until
    the area polygons are drawn. With `baseline` (another database of the same server,
    e.g. a census of 33,000 households) a second gunicorn serves that database and the
    two are visited alternately, so that the ratio comes from one run."""
    reset_peaks(served.portal.worker_pids())
    rounds = 1 if served.quick else 5
    dashboard_first_view(served.port)  # the server's own first rendering of the page
    views, other = [], []
    with contextlib.ExitStack() as stack:
        if baseline:
            environment = {**served.portal.environment, "DATABASE_URL": database_url(baseline)}
            second = stack.enter_context(
                Portal(environment=environment, workers=served.portal.workers)
            )
            dashboard_first_view(second.port)
        for _ in range(rounds):
            views.append(dashboard_first_view(served.port))
            if baseline:
                other.append(dashboard_first_view(second.port))
    drawn = statistics.median(view.polygons_ms for view in views) / 1000
    view = views[-1]
    if view.errors:
        raise RuntimeError(f"the dashboard raised: {view.errors[:3]}")
    households = _household_count(region)
    extra = {
        "households": households,
        "polygons_seconds": [v.polygons_ms / 1000 for v in views],
        "ready_seconds": [v.ready_ms / 1000 for v in views],
        "requests": view.requests,
        "bytes": view.bytes,
        "bytes_by_type": view.by_type,
        "largest": list(view.largest),
    }
    measure = Measure(
        "dashboard first view (Chromium): polygons drawn",
        drawn,
        peak_mb=served.worker_peak_mb(),
        note=f"{households:,} households in {region}; {view.polygons} polygons; map ready "
        f"{_ms(statistics.median(v.ready_ms for v in views) / 1000)}, load event "
        f"{_ms(view.load_ms / 1000)}; {view.requests} requests, {view.bytes / 1024:,.0f} KB "
        f"(encoded); largest {view.largest[0][:60]} {view.largest[1] / 1024:,.0f} KB",
        extra=extra,
    )
    if other:
        base = statistics.median(v.polygons_ms for v in other) / 1000
        ratio = drawn / base
        measure.baseline = f"the same at database {baseline}"
        measure.baseline_seconds = base
        measure.note += (
            f"; baseline {baseline}: {_ms(base)}, {other[-1].requests} requests, "
            f"{other[-1].bytes / 1024:,.0f} KB; ratio {ratio:.2f} (target <= "
            f"{DASHBOARD_TARGET}: {_verdict(ratio <= DASHBOARD_TARGET)})"
        )
        extra.update(
            baseline_database=baseline,
            baseline_polygons_seconds=[v.polygons_ms / 1000 for v in other],
            baseline_requests=other[-1].requests,
            baseline_bytes=other[-1].bytes,
            met=ratio <= DASHBOARD_TARGET,
        )
    return measure


def _bench_load(served: Served, tile_paths: list[str]) -> list[Measure]:
    """50 concurrent clients (asyncio, a new connection per request) on the dashboard
    page and on the sampled tiles; first on the floor (what this client and the server's
    framework reach at most on this machine)."""
    clients = QUICK_LOAD_CLIENTS if served.quick else LOAD_CLIENTS
    per_client = QUICK_LOAD_PER_CLIENT if served.quick else LOAD_PER_CLIENT
    page = fetch(served.port, "/")
    floor_page = served.floor.put("load-page", page.body, "html")
    session = served.session(served.analyst)
    runs = [
        ("load: framework floor (dashboard's bytes)", [floor_page], {}, None),
        ("load: dashboard page", ["/"], {}, 0.300),
        ("load: tiles (sampled z8-16)", tile_paths, session, 0.200),
    ]
    measures = []
    for name, paths, headers, p99_target in runs:
        reset_peaks(served.portal.worker_pids())
        load = load_test(
            served.port, paths, headers=headers, clients=clients, per_client=per_client
        )
        p50, p99 = percentile(load.latencies, 0.5), percentile(load.latencies, 0.99)
        verdict = ""
        if p99_target:
            met = load.errors == 0 and p99 <= p99_target
            verdict = f"; target 0 errors, p99 < {_ms(p99_target)}: {_verdict(met)}"
        measures.append(
            Measure(
                name,
                p50,
                peak_mb=served.worker_peak_mb(),
                note=f"{clients} clients x {per_client} requests: {load.rate:,.0f} requests/s, "
                f"p50 {_ms(p50)}, p99 {_ms(p99)}, max {_ms(max(load.latencies))}, "
                f"{load.errors} errors{verdict}",
                extra={
                    "clients": clients,
                    "requests": load.requests,
                    "errors": load.errors,
                    "requests_per_second": load.rate,
                    "p50": p50,
                    "p99": p99,
                    "max": max(load.latencies),
                    "workers": served.portal.workers,
                },
            )
        )
    return measures


# --- exports and import ----------------------------------------------------------------------


def _bench_admin():
    """An administrator: every household, and the right to unmask NIK/KK."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if not user.is_superuser:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def _region_sql(region: str, column: str = "region_id") -> tuple[str, list[str]]:
    """The SQL of `filters.region_q`: a village by its code, any larger area by prefix."""
    if len(region) == 13:
        return f"{column} = %s", [region]
    return f"{column} LIKE %s", [f"{region}.%"]


class _ByteCounter:
    """A file-like sink that counts what is written to it and keeps nothing."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def _copy_out(sql: str, params: list, sink) -> int:
    """`COPY (sql) TO STDOUT` into a file-like sink; returns the rows copied."""
    with connection.cursor() as cursor:
        statement = cursor.mogrify(sql, params)
        if isinstance(statement, bytes):
            statement = statement.decode()
        cursor.copy_expert(statement, sink)
        return cursor.rowcount


def _household_count(region: str, *, up_to_id: int | None = None) -> int:
    where, params = _region_sql(region)
    if up_to_id is not None:
        where, params = f"{where} AND id <= %s", [*params, up_to_id]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM households_household WHERE {where}", params)  # noqa: S608 - fixed SQL
        return cursor.fetchone()[0]


def _importable_households(region: str, count: int) -> list[int]:
    """The first `count` households of the region (by id) that no other table refers to
    by a foreign key (a programme's targets and interventions), the members aside: the
    import benchmark deletes and re-imports them."""
    where, params = _region_sql(region, "h.region_id")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, a.attname
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND c.confrelid = 'households_household'::regclass
              AND c.conrelid <> 'households_member'::regclass
            """
        )
        referring = cursor.fetchall()
        free = "".join(
            f" AND NOT EXISTS (SELECT 1 FROM {table} r WHERE r.{column} = h.id)"  # noqa: S608 - catalogue names
            for table, column in referring
        )
        cursor.execute(
            f"SELECT h.id FROM households_household h WHERE {where}{free} "  # noqa: S608 - catalogue names
            "ORDER BY h.id LIMIT %s",
            [*params, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _bench_csv_export(served: Served, region: str) -> Measure:
    """The streamed CSV of every household of the region over HTTP (an administrator's
    token, unmasked) against PostgreSQL's own CSV writer on the same rows and columns."""
    url = f"/api/v1/exports/households.csv?region={region}&unmask=true"
    rows = _household_count(region)
    reset_peaks(served.portal.worker_pids())
    answer = fetch(served.port, url, headers=served.token(served.admin), keep=False)
    if answer.status != 200:
        raise RuntimeError(f"{url}: HTTP {answer.status}\n{served.portal.log_tail()}")
    seconds, size = answer.seconds, answer.size
    peak = served.worker_peak_mb()

    # The columns the export reads (the coordinates as lintang and bujur), in its order.
    # The export adds the code labels (a dictionary look-up per coded column) and the BOM.
    columns = ", ".join(
        "ST_Y(lokasi) AS lintang, ST_X(lokasi) AS bujur" if name == "lokasi" else name
        for name in schema.export_values(schema.HOUSEHOLD)
    )
    where, params = _region_sql(region)
    sink = _ByteCounter()
    sql = (
        f"COPY (SELECT {columns} FROM households_household WHERE {where} ORDER BY id) "  # noqa: S608 - fixed SQL
        "TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    baseline, _, copied = timed(lambda: _copy_out(sql, params, sink), trace_heap=False)
    throughput = baseline / seconds
    return Measure(
        f"CSV export: {rows:,} households (HTTP, streamed)",
        seconds,
        baseline="COPY (SELECT ...) TO STDOUT",
        baseline_seconds=baseline,
        peak_mb=peak,
        note=f"{rows / seconds:,.0f} rows/s, {size / MB:,.0f} MB (COPY {copied:,} rows, "
        f"{sink.size / MB:,.0f} MB, without labels); throughput {throughput:.2f}x COPY "
        f"(target >= 0.5x, peak < 300 MB: {_verdict(throughput >= 0.5 and peak < 300)}); "
        "peak: the gunicorn worker",
        extra={
            "rows": rows,
            "bytes": size,
            "baseline_rows": copied,
            "baseline_bytes": sink.size,
            "throughput_ratio": throughput,
        },
    )


# The peer of issue 11 (OpenSID, measured side by side on the same 33,020 families) wrote
# its family list to Excel in 4.7 s: 0.142 ms a row. The target is 1.5x that per row.
PEER_MS_PER_ROW = 4.7 * 1000 / 33_020
TARGET_MS_PER_ROW = 1.5 * PEER_MS_PER_ROW


def _export_area(region: str, households: int) -> tuple[str, int]:
    """The kecamatan or village of the region whose household count is nearest to
    `households` (an export is asked for an area): (code, count)."""
    where, params = _region_sql(region)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT area, count(*) FROM (SELECT left(region_id, 8) AS area FROM "  # noqa: S608 - fixed SQL
            f"households_household WHERE {where} UNION ALL SELECT region_id FROM "
            f"households_household WHERE {where}) AS areas GROUP BY 1 "
            "ORDER BY abs(count(*) - %s), 1 LIMIT 1",
            [*params, *params, households],
        )
        return cursor.fetchone()


def _job_wait(
    served: Served, path: str, *, headers, done: set[str], phases=None, tag: str = ""
) -> dict:
    """Poll a job until its status is one of `done`; the first time each progress phase
    was seen goes into `phases` (as "<tag><phase>")."""
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        answer = fetch(served.port, path, headers=headers)
        if answer.status != 200:
            raise RuntimeError(f"{path}: HTTP {answer.status}")
        job = json.loads(answer.body)
        phase = job.get("progress_phase")
        if phases is not None and phase:
            phases.setdefault(f"{tag}{phase}", time.perf_counter())
        if job["status"] in done:
            return job
        time.sleep(JOB_POLL_SECONDS)
    raise RuntimeError(f"{path}: not done after {JOB_TIMEOUT_SECONDS} s")


def _job_processes(served: Served) -> list[int]:
    return [*served.portal.worker_pids(), served.worker.process.pid]


def _bench_xlsx_export(served: Served, region: str, count: int) -> Measure:
    """A households XLSX of an area with about `count` households over the path a user
    takes: the request answers 202 with an export job, the worker writes the file, the
    client polls the job and downloads the workbook."""
    area, households = _export_area(region, count)
    with connection.cursor() as cursor:
        where, params = _region_sql(area, "h.region_id")
        cursor.execute(
            f"SELECT count(*) FROM households_member m JOIN households_household h "  # noqa: S608 - fixed SQL
            f"ON h.id = m.household_id WHERE {where}",
            params,
        )
        members = cursor.fetchone()[0]
    headers = served.token(served.admin)
    url = f"/api/v1/exports/households.xlsx?region={area}&unmask=true"
    pids = _job_processes(served)
    reset_peaks(pids)
    started = time.perf_counter()
    answer = fetch(served.port, url, headers=headers)
    if answer.status != 202:
        raise RuntimeError(f"{url}: HTTP {answer.status}, not an export job")
    queued = time.perf_counter() - started
    job = json.loads(answer.body)
    job = _job_wait(served, job["url"], headers=headers, done={"selesai", "gagal"})
    if job["status"] != "selesai":
        raise RuntimeError(f"export job {job['id']} failed: {job['error']}")
    written = time.perf_counter() - started
    download = fetch(served.port, job["download_url"], headers=headers, keep=False)
    seconds = time.perf_counter() - started
    if download.status != 200:
        raise RuntimeError(f"{job['download_url']}: HTTP {download.status}")
    peaks = peaks_mb(pids)
    rows = households + members
    ms_per_row = seconds * 1000 / rows
    return Measure(
        f"XLSX export job: {households:,} households + members",
        seconds,
        baseline=f"peer (OpenSID) {PEER_MS_PER_ROW:.4f} ms/row",
        baseline_seconds=PEER_MS_PER_ROW * rows / 1000,
        peak_mb=max(peaks.values()),
        note=f"area {area}; request to file downloaded: request {_ms(queued)}, job done "
        f"{_ms(written)}, download {_ms(download.seconds)} ({download.size / MB:,.1f} MB); "
        f"{ms_per_row:.3f} ms per data row ({households:,} households + {members:,} "
        f"members), peer {PEER_MS_PER_ROW:.4f}, target <= {TARGET_MS_PER_ROW:.4f}: "
        f"{_verdict(ms_per_row <= TARGET_MS_PER_ROW)}; peak: db_worker "
        f"{peaks.get(served.worker.process.pid, 0):,.0f} MB, gunicorn workers max "
        f"{max(v for k, v in peaks.items() if k != served.worker.process.pid):,.0f} MB",
        extra={
            "area": area,
            "households": households,
            "members": members,
            "rows": rows,
            "ms_per_row": ms_per_row,
            "peer_ms_per_row": PEER_MS_PER_ROW,
            "target_ms_per_row": TARGET_MS_PER_ROW,
            "bytes": download.size,
            "request_seconds": queued,
            "job_done_seconds": written,
            "download_seconds": download.seconds,
            "worker_peak_mb": peaks.get(served.worker.process.pid),
        },
    )


def _multipart(fields: dict[str, str], files: dict[str, Path]) -> tuple[bytes, str]:
    boundary = f"bench{os.urandom(12).hex()}"
    parts = []
    for name, value in fields.items():
        disposition = f'Content-Disposition: form-data; name="{name}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    for name, path in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{path.name}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
        )
        parts.append(path.read_bytes())
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _write_text(path: Path, pieces: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        for piece in pieces:
            handle.write(piece)


# What the importer writes, as the tables' own columns: the baseline's pre-shaped CSV.
def _copy_household_columns() -> list[str]:
    return ["id", *household_staging(), "sumber_data", "dibuat", "diubah"]


def _copy_member_columns() -> list[str]:
    return ["household_id", *(c for c in member_staging() if c != "no_kk"), "dibuat", "diubah"]


def _bench_import(
    served: Served, region: str, count: int, progress: Callable[[str], None]
) -> Measure:
    """`manage.py import_census` of `count` households against psql `\\copy` of the same rows.

    The rows to import must not be in the database, and the dataset must be the same after
    the benchmark. So the first `count` households of the region are exported (the
    project's own CSV export, as an administrator with unmask: an export imports back
    unchanged), and written once more in the tables' own columns for the baseline; then
    they are deleted. The baseline copies them into the same tables in a transaction that
    it rolls back (after the deferred checks have run: the importer's transaction runs
    them too); the importer then imports them back for real. Afterwards they are marked
    synthetic again, so that the next run's generator replaces them: the dataset is the
    generated one (with new household ids). The change history that the import wrote
    stays (it is append-only): about one record per row imported, in the bench database.
    """
    admin = served.admin
    ids = _importable_households(region, count)
    where, params = "id = ANY(%s)", [ids]
    queryset = Household.objects.filter(pk__in=ids)
    disclosure = disclosure_for(admin, unmask_requested=True)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        directory = Path(folder)
        households_csv = directory / f"{HOUSEHOLD_SHEET}.csv"
        members_csv = directory / f"{MEMBER_SHEET}.csv"
        progress("  writing the census CSV pair with the CSV export")
        _write_text(
            households_csv,
            csv_stream(
                headers=household_headers(),
                rows=household_rows(queryset=queryset, disclosure=disclosure, language="id"),
            ),
        )
        _write_text(
            members_csv,
            csv_stream(
                headers=member_headers(),
                rows=member_rows(
                    queryset=members_for(admin).filter(household_id__in=queryset.values("id")),
                    disclosure=disclosure,
                    language="id",
                ),
            ),
        )
        copy_households = directory / "households_household.csv"
        copy_members = directory / "households_member.csv"
        household_columns = ", ".join(
            "%s, now(), now()" if c == "sumber_data" else c
            for c in _copy_household_columns()
            if c not in ("dibuat", "diubah")
        )
        with copy_households.open("wb") as sink:
            households = _copy_out(
                f"COPY (SELECT {household_columns} FROM households_household "  # noqa: S608 - fixed SQL
                f"WHERE {where} ORDER BY id) TO STDOUT WITH (FORMAT csv)",
                [DataSource.IMPORT, *params],
                sink,
            )
        member_columns = ", ".join(
            f"m.{c}" for c in _copy_member_columns() if c not in ("dibuat", "diubah")
        )
        with copy_members.open("wb") as sink:
            members = _copy_out(
                f"COPY (SELECT {member_columns}, now(), now() FROM households_member m "  # noqa: S608 - fixed SQL
                f"WHERE m.household_id IN (SELECT id FROM households_household WHERE {where}) "
                "ORDER BY m.household_id, m.id) TO STDOUT WITH (FORMAT csv)",
                params,
                sink,
            )
        rows = households + members

        progress(f"  deleting {households:,} households and {members:,} members")
        with transaction.atomic(), connection.cursor() as cursor:
            history_pause(reason="benchmark: delete the rows to import", cursor=cursor)
            cursor.execute(
                f"WITH gone AS (DELETE FROM households_household WHERE {where} RETURNING id), "  # noqa: S608 - fixed SQL
                "members AS (DELETE FROM households_member m USING gone "
                "WHERE m.household_id = gone.id) SELECT count(*) FROM gone",
                params,
            )
        _vacuum()

        progress("  baseline: \\copy of the same rows, rolled back")
        copies = [
            ("households_household", _copy_household_columns(), copy_households),
            ("households_member", _copy_member_columns(), copy_members),
        ]
        baseline_seconds, baseline_tool = _copy_in_rolled_back(copies)
        _vacuum()

        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM households_household")
            last_before = cursor.fetchone()[0]

        progress("  import over HTTP: upload, dry run, commit, job done")
        headers = served.token(admin)
        size = households_csv.stat().st_size + members_csv.stat().st_size
        body, content_type = _multipart(
            {"dry_run": "true", "missing_members": KEEP},
            {"file": households_csv, "members_file": members_csv},
        )
        pids = _job_processes(served)
        reset_peaks(pids)
        marks: dict[str, float] = {}
        started = time.perf_counter()
        answer = fetch(
            served.port,
            "/api/v1/imports/",
            method="POST",
            body=body,
            headers={**headers, "Content-Type": content_type},
        )
        marks["dry run queued"] = time.perf_counter()
        del body
        if answer.status not in (201, 202):
            raise RuntimeError(f"upload: HTTP {answer.status}: {answer.body[:500]!r}")
        job = json.loads(answer.body)
        job = _job_wait(
            served, job["url"], headers=headers, done=IMPORT_ENDED, phases=marks, tag="dry run "
        )
        marks["commit request"] = time.perf_counter()
        if job["status"] != ImportStatus.VALIDATED:
            raise RuntimeError(f"dry run: {job['status']}: {job['message']} {job['errors'][:3]}")
        answer = fetch(
            served.port,
            job["url"],
            method="POST",
            body=b'{"action": "commit"}',
            headers={**headers, "Content-Type": "application/json"},
        )
        marks["commit queued"] = time.perf_counter()
        if answer.status not in (200, 202):
            raise RuntimeError(f"commit: HTTP {answer.status}: {answer.body[:500]!r}")
        job = _job_wait(
            served, job["url"], headers=headers, done=IMPORT_ENDED, phases=marks, tag="commit "
        )
        seconds = time.perf_counter() - started
        peaks = peaks_mb(pids)
    if job["status"] != ImportStatus.DONE:
        raise RuntimeError(f"import: {job['status']}: {job['message']} {job['errors'][:3]}")
    imported = job["counts"]["households"]["new"], job["counts"]["members"]["new"]
    if imported != (households, members):
        raise RuntimeError(f"imported {imported}, expected {(households, members)}")

    with transaction.atomic(), connection.cursor() as cursor:
        history_pause(reason="benchmark: mark the imported rows synthetic", cursor=cursor)
        cursor.execute(
            "UPDATE households_household SET sumber_data = %s WHERE id > %s AND sumber_data = %s",
            [DataSource.SYNTHETIC, last_before, DataSource.IMPORT],
        )

    phases = _import_phases(started, marks, started + seconds)
    throughput = baseline_seconds / seconds
    worker_peak = peaks.get(served.worker.process.pid, 0.0)
    web_peak = max((v for k, v in peaks.items() if k != served.worker.process.pid), default=0.0)
    peak = max(worker_peak, web_peak)
    met = throughput >= 0.4 and peak < 400
    return Measure(
        f"import census CSV over HTTP: {households:,} households",
        seconds,
        baseline="psql \\copy of the same rows",
        baseline_seconds=baseline_seconds,
        peak_mb=peak,
        note=f"{rows:,} rows ({households:,} households + {members:,} members, "
        f"{size / MB:,.0f} MB uploaded), {rows / seconds:,.0f} rows/s vs \\copy "
        f"{rows / baseline_seconds:,.0f} rows/s: throughput {throughput:.2f}x \\copy; "
        f"peak RSS db_worker {worker_peak:,.0f} MB, gunicorn worker {web_peak:,.0f} MB "
        f"(target >= 0.4x, < 400 MB: {_verdict(met)}); "
        + ", ".join(f"{name} {_ms(value)}" for name, value in phases.items())
        + "; upload to job done (dry run, commit, indicator refresh); \\copy runs in psql "
        "and the server, the importer's upserts in the server (not in the peak)",
        extra={
            "households": households,
            "members": members,
            "rows": rows,
            "upload_bytes": size,
            "rows_per_second": rows / seconds,
            "baseline_rows_per_second": rows / baseline_seconds,
            "throughput_ratio": throughput,
            "phases": phases,
            "baseline_tool": baseline_tool,
            "worker_peak_mb": worker_peak,
            "web_peak_mb": web_peak,
        },
    )


IMPORT_ENDED = {
    ImportStatus.VALIDATED, ImportStatus.REJECTED, ImportStatus.DONE, ImportStatus.FAILED,
    ImportStatus.EXPIRED,
}  # fmt: skip


def _import_phases(started: float, marks: dict[str, float], ended: float) -> dict[str, float]:
    """Seconds of each step a user's import goes through, each named by the mark that
    starts it: the upload, the wait in the queue, each phase the job reported while it
    was polled (from when it was first seen), the commit request, and so on to job done."""
    ordered = sorted([("upload", started), *marks.items()], key=lambda item: item[1])
    ends = [at for _name, at in ordered[1:]] + [ended]
    return {name: end - at for (name, at), end in zip(ordered, ends, strict=True)}


def _vacuum() -> None:
    """Clean tables for the next step (not possible inside a test's transaction)."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) households_household, households_member")


def _copy_in_rolled_back(
    copies: list[tuple[str, list[str], Path]], *, use_psql: bool | None = None
) -> tuple[float, str]:
    """Seconds to COPY the files into their tables, deferred checks included, rolled back.

    With the real psql binary and the connection parameters of settings.DATABASES; inside
    a test's transaction (whose rows no other connection sees) the same COPY statements run
    on the test's connection instead. Returns (seconds, how)."""
    psql = shutil.which("psql")
    if use_psql is None:
        use_psql = psql is not None and not connection.in_atomic_block
    elif use_psql and psql is None:
        raise RuntimeError("psql is not installed (PostgreSQL client)")
    if not use_psql:
        with connection.cursor() as cursor:
            started = time.perf_counter()
            with transaction.atomic():
                cursor.execute("SELECT set_config('desapresisi.actor', 'bench-copy', true)")
                for table, columns, path in copies:
                    with path.open("rb") as data:
                        cursor.copy_expert(
                            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                            data,
                        )
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                transaction.set_rollback(True)
            seconds = time.perf_counter() - started
        where = "inside a transaction" if psql else "psql not found"
        return seconds, f"COPY FROM STDIN on the Django connection ({where}), rolled back"
    script = ["BEGIN;", "SET LOCAL desapresisi.actor = 'bench-copy';"]
    for table, columns, path in copies:
        script.append(f"\\copy {table} ({', '.join(columns)}) FROM '{path}' WITH (FORMAT csv)")
    script += ["SET CONSTRAINTS ALL IMMEDIATE;", "ROLLBACK;"]
    script_path = copies[0][2].parent / "copy.sql"
    script_path.write_text("\n".join(script) + "\n", encoding="utf-8")
    database = connection.settings_dict
    command = [psql, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1"]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            command += [option, str(database[key])]
    command += ["--dbname", database["NAME"], "--file", str(script_path)]
    environment = dict(os.environ)
    if database.get("PASSWORD"):
        environment["PGPASSWORD"] = database["PASSWORD"]
    started = time.perf_counter()
    finished = subprocess.run(  # noqa: S603 - our own script, psql from PATH
        command, env=environment, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise RuntimeError(f"psql failed: {finished.stderr.strip()}")
    return seconds, "psql \\copy (separate process), rolled back"


# --- Data quality (issue 16) ------------------------------------------------------------------


def _raw_rule_seconds(villages: list[str] | None, kecamatan: list[str] | None) -> float:
    """The baseline: each active rule's own SELECT (quality/checks.py), run raw and its
    rows counted, without writing flags or looking up acceptances."""

    def run():
        # In a transaction, as flags_refresh: the planner settings are the transaction's.
        with transaction.atomic(), connection.cursor() as cursor:
            for rule in Rule.objects.filter(active=True):
                sql, params = CHECKS[rule.code](rule.parameters or {})
                params = {**params, "villages": villages, "kecamatan": kecamatan}
                if rule.code == "lonjakan_putaran":
                    params.update(periods=[], previous=[])
                with planned(cursor, rule.code):  # the same plan as flags_refresh
                    cursor.execute(f"SELECT count(*) FROM ({sql}) f", params)  # noqa: S608
                    cursor.fetchall()

    return timed(run)[0]


def bench_quality_flags(*, kecamatan: str) -> list[Measure]:
    """Flags of every rule: a full refresh (all villages), then the incremental one of a
    kecamatan's villages (what an import round makes stale), each against the raw SQL of
    the same rules in the same run. Kept in its own function for the HTTP harness."""
    full_seconds, peak, full = timed(lambda: flags_refresh(villages=None))
    full_raw = _raw_rule_seconds(None, None)
    villages = list(
        Region.objects.filter(level=Level.DESA, code__startswith=f"{kecamatan}.").values_list(
            "code", flat=True
        )
    )
    seconds, incremental_peak, incremental = timed(lambda: flags_refresh(villages=villages))
    raw = _raw_rule_seconds(villages, [kecamatan])
    # What one operator's edit makes stale: its village.
    one = villages[:1]
    one_seconds, one_peak, one_result = timed(lambda: flags_refresh(villages=one))
    one_raw = _raw_rule_seconds(one, [kecamatan])
    return [
        Measure(
            "quality flags: full refresh",
            full_seconds,
            baseline="raw SQL of the rules",
            baseline_seconds=full_raw,
            peak_mb=peak,
            note=f"{full.flags:,} flags, {Rule.objects.filter(active=True).count()} rules",
        ),
        Measure(
            f"quality flags: incremental, {len(villages)} villages",
            seconds,
            baseline="raw SQL, same villages",
            baseline_seconds=raw,
            peak_mb=incremental_peak,
            note=f"{incremental.flags:,} flags; full refresh {_ms(full_seconds)}",
        ),
        Measure(
            "quality flags: incremental, 1 village",
            one_seconds,
            baseline="raw SQL, same village",
            baseline_seconds=one_raw,
            peak_mb=one_peak,
            note=f"{one_result.flags:,} flags (area rules: its whole kecamatan)",
        ),
    ]
