"""The benchmark: each operation of the portal measured against its raw baseline, in one
run, on the same data (`manage.py bench`; `--quick` for a smoke test in seconds).

Figures are wall-clock times on this machine. "cold" tile times are the first request of
each tile on a fresh database connection (PostgreSQL's and the OS's caches may still hold
pages: dropping them needs privileges a deployment does not give the application).

Peak memory (`peak_mb`) is the peak resident set size (RSS) of this process, the Django
process, during the operation, in MB of 2**20 bytes: the kernel's high-water mark VmHWM,
reset before the operation by writing "5" to /proc/self/clear_refs and read from
/proc/self/status after it. It is all the process holds (interpreter, libraries, and
memory that earlier operations have not handed back: `extra["rss_start_mb"]` is the RSS an
operation started from, where recorded); work done by the PostgreSQL server or by a psql
child process is not in it. Where /proc cannot be used (not Linux), the figure falls back
to the tracemalloc peak of the Python heap; the JSON's `peak_memory` names the method used.
"""

from __future__ import annotations

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

from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Polygon
from django.db import connection, connections, transaction
from django.test import Client

from desapresisi import audit
from desapresisi.access import disclosure_for
from desapresisi.db import history_pause
from desapresisi.models import AccessProfile, AuditAction, Role
from households import schema
from households.api.households import household_fields
from households.census_import.columns import (
    HOUSEHOLD_SHEET,
    KEEP,
    MEMBER_SHEET,
    household_staging,
    member_staging,
)
from households.census_import.read import census_read
from households.census_import.service import census_import
from households.exports.rows import (
    codebook_rows,
    csv_stream,
    household_headers,
    household_rows,
    member_headers,
    member_rows,
)
from households.exports.service import export_summary, named_workbook_write
from households.filters import region_q
from households.indicators.criteria import map_criteria_conditions
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, ExportKind, Household
from households.selectors import households_for, members_for
from households.tiles import (
    BUFFER,
    CELL_COLUMNS,
    CLUSTER_CELLS,
    CLUSTER_MAX_ZOOM,
    EXTENT,
    LAYER,
    POINT_COLUMNS,
    bound_sql,
    cells_template,
    criteria_pairs,
    points_template,
    tile_bounds,
    with_criteria,
)
from programmes.models import Programme
from villages.models import Level, Region
from villages.services import regions_load

from .bench_rounds import bench_rounds
from .generator import households_generate, programmes_generate, programmes_remove_synthetic

TILE_ZOOMS = [8, 9, 10, 11, 12, 13, 14, 15, 16]
IMPORT_HOUSEHOLDS = 100_000
XLSX_HOUSEHOLDS = 100_000
QUICK_IMPORT_HOUSEHOLDS = 100
QUICK_XLSX_HOUSEHOLDS = 300
PEAK_NOTE = "peak MB: Django process only"


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
) -> BenchResult:
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
    # An import round covers a kecamatan or a few villages, not a whole kabupaten.
    kecamatan = (
        Region.objects.filter(level=Level.KECAMATAN, code__startswith=f"{kabupaten}.")
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    extra = 200 if quick else 10_000
    progress(f"adding {extra:,} households in kecamatan {kecamatan} for the incremental refresh")
    households_generate(
        region_code=kecamatan, households=extra, seed=seed + 1, replace=False, refresh=False
    )
    seconds, peak, incremental = timed(indicators_refresh)
    add(
        Measure(
            f"rollup: incremental after {extra:,} households",
            seconds,
            baseline="full refresh",
            baseline_seconds=full_seconds,
            peak_mb=peak,
            note=f"{incremental.villages} villages recomputed (target <= 10% of full)",
        )
    )

    # --- indicator values -------------------------------------------------------------------
    client = Client(HTTP_HOST="127.0.0.1")
    province = region[:2]
    for label, parent in (
        (f"kabupaten {kabupaten}", kabupaten),
        (f"province {province}", province),
    ):
        url = f"/api/v1/indicators/values/?indicator=tanpa_jamban&level=desa&parent={parent}"
        seconds, peak, response = timed(lambda url=url: client.get(url), repeat=9)
        rows = len(response.json())
        rollup = _sql_seconds(
            "SELECT v.indicator_id, v.region_id, r.name, r.level, v.period, v.numerator, "
            "v.denominator, v.value FROM households_indicatorvalue v "
            "JOIN villages_region r ON r.code = v.region_id "
            "WHERE v.indicator_id = 'tanpa_jamban' AND r.level = 'desa' AND v.region_id LIKE %s",
            [f"{parent}.%"],
        )
        raw = _sql_seconds(
            "SELECT region_id, extract(year FROM tanggal_survei), "
            "count(*) FILTER (WHERE fasilitas_bab = 6), count(*) FILTER (WHERE fasilitas_bab "
            "IS NOT NULL) FROM households_household WHERE region_id LIKE %s GROUP BY 1, 2",
            [f"{parent}.%"],
            repeat=3,
        )
        add(
            Measure(
                f"indicator values API: {label}",
                seconds,
                baseline="rollup SELECT",
                baseline_seconds=rollup,
                peak_mb=peak,
                note=f"{rows} rows; raw GROUP BY over households {_ms(raw)} "
                f"(API {raw / seconds:.1f}x faster; target >= 20x at scale)",
                extra={"raw_group_by_seconds": raw},
            )
        )

    # --- tiles ------------------------------------------------------------------------------
    user = _bench_user(region, AccessProfile, Role)
    client.force_login(user)
    progress("vector tiles")
    with PeakMemory() as memory:
        tiles = _bench_tiles(kabupaten, quick, client)
    tiles.peak_mb = memory.peak_mb
    add(tiles)

    # --- household list page ----------------------------------------------------------------
    url = f"/api/v1/households/?region={kabupaten}&page_size=100"
    seconds, peak, response = timed(lambda: client.get(url), repeat=9)

    def values_json():
        rows = list(
            Household.objects.filter(region__code__startswith=f"{kabupaten}.")
            .order_by("id")
            .values(*household_fields())[:100]
        )
        return json.dumps(rows, default=str)

    baseline, _, _ = timed(values_json, repeat=9)
    add(
        Measure(
            "household list: one page of 100",
            seconds,
            baseline=".values() + json",
            baseline_seconds=baseline,
            peak_mb=peak,
            note=f"{len(response.content) / 1024:.0f} KB",
        )
    )

    # --- programme page --------------------------------------------------------------------
    progress("demo programmes and the programme page")
    add(_bench_programme_page(region, seed, client))

    # --- dashboard first view ---------------------------------------------------------------
    client.logout()
    calls = [
        "/",
        f"/api/v1/regions/?level=desa&within={kabupaten}&format=geojson&tolerance=0.0005",
        f"/api/v1/indicators/values/?indicator=tanpa_jamban,jumlah_rumah_tangga,jumlah_jiwa"
        f"&level=desa&parent={kabupaten}",
        f"/api/v1/indicators/values/?indicator=tanpa_jamban,jumlah_rumah_tangga,jumlah_jiwa"
        f"&area={kabupaten}",
    ]

    def first_view():
        return [len(client.get(path).content) for path in calls]

    seconds, peak, sizes = timed(first_view, repeat=3)
    add(
        Measure(
            "dashboard first view (page + 3 API calls)",
            seconds,
            peak_mb=peak,
            note=f"largest response {max(sizes) / 1024:.0f} KB, total {sum(sizes) / 1024:.0f} KB",
        )
    )

    # --- exports and import ---------------------------------------------------------------
    admin = _bench_admin()
    progress(f"CSV export of every household in {region}")
    add(_bench_csv_export(region, admin))
    if xlsx_households is None:
        xlsx_households = QUICK_XLSX_HOUSEHOLDS if quick else XLSX_HOUSEHOLDS
    progress(f"XLSX export of {xlsx_households:,} households")
    add(_bench_xlsx_export(region, admin, xlsx_households))
    if import_households is None:
        import_households = QUICK_IMPORT_HOUSEHOLDS if quick else IMPORT_HOUSEHOLDS
    progress(f"census import of {import_households:,} households against psql \\copy")
    add(_bench_import(region, admin, import_households, progress))

    # --- survey rounds (issue 15) ---------------------------------------------------------
    for measure in bench_rounds(
        region=region,
        kabupaten=kabupaten,
        seed=seed,
        client=client,
        timed=timed,
        sql_seconds=_sql_seconds,
        measure=Measure,
        progress=progress,
    ):
        add(measure)

    return result


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


def _bench_programme_page(region: str, seed: int, client: Client) -> Measure:
    """The programme page of the demo STBM programme (as the bench analyst): its figures
    come from the rollup rows, measured against the live GROUP BY over interventions they
    replace."""
    programmes_generate(region_code=region, year=dt.date.today().year, seed=seed)
    programme = Programme.objects.filter(synthetic=True, indicator_id="tanpa_jamban").first()
    if programme is None:
        raise RuntimeError("no demo programme: the census has no household without a latrine")
    url = f"/program/{programme.pk}/"
    seconds, peak, response = timed(lambda: client.get(url), repeat=5)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    rollup = _sql_seconds(
        "SELECT region_id, targets, counts, planned, realised "
        "FROM programmes_programmevillagestat WHERE programme_id = %s",
        [programme.pk],
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
    return Measure(
        "programme page",
        seconds,
        baseline="rollup SELECT",
        baseline_seconds=rollup,
        peak_mb=peak,
        note=f"{interventions:,} interventions, {len(response.content) / 1024:.0f} KB; "
        f"live GROUP BY over interventions {_ms(raw)}",
        extra={"interventions": interventions, "raw_group_by_seconds": raw},
    )


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def _bench_tiles(kabupaten: str, quick: bool, client: Client) -> Measure:
    """20 fixed tiles from zoom 8 to 16 around the densest settlements of a kabupaten,
    requested through the API (routing, access scope, filter parsing included) by a
    logged-in client."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_X(lokasi), ST_Y(lokasi) FROM households_household "
            "WHERE region_id LIKE %s AND lokasi IS NOT NULL ORDER BY id LIMIT 4000",
            [f"{kabupaten}.%"],
        )
        points = cursor.fetchall()
    tiles: list[tuple[int, int, int]] = []
    for index in range(20):
        lon, lat = points[(index * 197) % len(points)]
        tiles.append(_tile_of(lon, lat, TILE_ZOOMS[index % len(TILE_ZOOMS)]))
    cold, warm, raw, sizes = [], [], [], []
    for z, x, y in tiles:
        url = f"/api/v1/tiles/households/{z}/{x}/{y}.pbf"
        if not connection.in_atomic_block:  # (a test runs inside one and keeps it)
            connections.close_all()  # a fresh connection: the first request of this tile
        started = time.perf_counter()
        response = client.get(url)
        cold.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        sizes.append(len(response.content))
        runs = []
        for _ in range(2 if quick else 5):
            started = time.perf_counter()
            client.get(url)
            runs.append(time.perf_counter() - started)
        warm.append(statistics.median(runs))
        raw.append(_raw_tile_seconds(z, x, y))
    return Measure(
        "MVT tiles z8-16: p50 warm",
        percentile(warm, 0.5),
        baseline="same ST_AsMVT SQL, p50",
        baseline_seconds=percentile(raw, 0.5),
        note=(
            f"p95 warm {_ms(percentile(warm, 0.95))}, p50 cold {_ms(percentile(cold, 0.5))}, "
            f"p95 cold {_ms(percentile(cold, 0.95))}, largest {max(sizes) / 1024:.0f} KB, "
            f"p50 size {percentile(sizes, 0.5) / 1024:.0f} KB"
        ),
        extra={"cold": cold, "warm": warm, "raw": raw, "sizes": sizes, "tiles": tiles},
    )


def _raw_tile_seconds(z: int, x: int, y: int) -> float:
    """The tile's SQL run directly on a cursor, without the view or the ORM around it:
    the cluster cells up to CLUSTER_MAX_ZOOM, the household points beyond."""
    west, south, east, north = tile_bounds(z, x, y)
    params = {
        "layer": LAYER, "extent": EXTENT, "buffer": BUFFER, "z": z, "x": x, "y": y,
        "west": west, "south": south, "east": east, "north": north,
        "x0": x * CLUSTER_CELLS - 1, "x1": x * CLUSTER_CELLS + CLUSTER_CELLS,
        "y0": y * CLUSTER_CELLS - 1, "y1": y * CLUSTER_CELLS + CLUSTER_CELLS,
    }  # fmt: skip
    criteria = map_criteria_conditions()
    pairs = criteria_pairs([code for code, _condition in criteria])
    params.update(dict(pairs))
    if z <= CLUSTER_MAX_ZOOM:
        inner = (
            f"SELECT {', '.join(CELL_COLUMNS)} FROM households_tilecell WHERE z = %(z)s "  # noqa: S608 - constant columns
            "AND cx BETWEEN %(x0)s AND %(x1)s AND cy BETWEEN %(y0)s AND %(y1)s"
        )
        # The symbol's position as `cluster_tile` writes it for a caller with full precision.
        template = cells_template(pairs)
    else:
        # The households of the tile with their criteria, compiled once (not timed).
        envelope = Polygon.from_bbox((west, south, east, north))
        envelope.srid = 4326
        households, _pairs = with_criteria(
            Household.objects.filter(lokasi__bboverlaps=envelope).order_by(), criteria
        )
        with connection.cursor() as cursor:
            inner = bound_sql(
                cursor, households.values(*POINT_COLUMNS, *(alias for alias, _code in pairs))
            )
        template = points_template(pairs)
    return _sql_seconds(template.format(rows=inner), params, repeat=5)


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


def _first_households(region: str, count: int) -> int:
    """The id up to which the region holds `count` households (all of them if fewer)."""
    where, params = _region_sql(region)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT max(id) FROM (SELECT id FROM households_household WHERE {where} "  # noqa: S608 - fixed SQL
            "ORDER BY id LIMIT %s) AS first",
            [*params, count],
        )
        return cursor.fetchone()[0]


def _bench_csv_export(region: str, admin) -> Measure:
    """The streamed CSV of every household of the region (the API, as an administrator
    with unmask) against PostgreSQL's own CSV writer on the same rows and columns."""
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    url = f"/api/v1/exports/households.csv?region={region}&unmask=true"
    rows = _household_count(region)

    def export() -> int:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
        size = 0
        # The test client closes the response when its content is exhausted.
        for chunk in response.streaming_content:
            size += len(chunk)
        return size

    with PeakMemory() as memory:
        started = time.perf_counter()
        size = export()
        seconds = time.perf_counter() - started

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
        f"CSV export: {rows:,} households (streamed API)",
        seconds,
        baseline="COPY (SELECT ...) TO STDOUT",
        baseline_seconds=baseline,
        peak_mb=memory.peak_mb,
        note=f"{rows / seconds:,.0f} rows/s, {size / MB:,.0f} MB (COPY {copied:,} rows, "
        f"{sink.size / MB:,.0f} MB, without labels); throughput {throughput:.2f}x COPY "
        "(target >= 0.5x, peak < 300 MB); COPY's work is the server's",
        extra={
            "rows": rows,
            "bytes": size,
            "baseline_rows": copied,
            "baseline_bytes": sink.size,
            "throughput_ratio": throughput,
            "rss_start_mb": memory.start_mb,
        },
    )


# The peer of issue 11 (OpenSID, measured side by side on the same 33,020 families) wrote
# its family list to Excel in 4.7 s: 0.142 ms a row. The target is 1.5x that per row.
PEER_MS_PER_ROW = 4.7 * 1000 / 33_020
TARGET_MS_PER_ROW = 1.5 * PEER_MS_PER_ROW


def xlsx_export_write(*, user, queryset, language: str = "id", unmask: bool = True):
    """A households XLSX built by the export service itself (`named_workbook_write`, as
    the endpoint in the request and `export_job_run` in the worker build it). Returns
    (temporary file, rows written in every sheet: summary, headers, households, members
    and codebook, rows per data sheet)."""
    disclosure = disclosure_for(user, unmask_requested=unmask)
    handle, counts = named_workbook_write(
        kind=ExportKind.HOUSEHOLDS,
        user=user,
        queryset=queryset,
        disclosure=disclosure,
        language=language,
        query_string="benchmark",
    )
    summary_rows = len(
        export_summary(
            kind=ExportKind.HOUSEHOLDS,
            username=user.get_username(),
            query_string="benchmark",
            disclosure=disclosure,
            counts=counts,
        )
    )
    codebook = sum(1 for _ in codebook_rows())
    written = summary_rows + sum(counts.values()) + len(counts) + 1 + codebook
    return handle, written, counts


def _bench_xlsx_export(region: str, admin, count: int) -> Measure:
    last_id = _first_households(region, count)
    queryset = households_for(admin).filter(region_q(region), id__lte=last_id)
    result: dict = {}

    def write() -> int:
        handle, result["written"], result["counts"] = xlsx_export_write(
            user=admin, queryset=queryset
        )
        try:
            return handle.seek(0, os.SEEK_END)
        finally:
            handle.close()

    with PeakMemory() as memory:
        started = time.perf_counter()
        size = write()
        seconds = time.perf_counter() - started
    households = result["counts"][HOUSEHOLD_SHEET]
    members = result["counts"][MEMBER_SHEET]
    written = result["written"]
    ms_per_row = seconds * 1000 / written
    return Measure(
        f"XLSX export: {households:,} households + members",
        seconds,
        baseline=f"peer (OpenSID) {PEER_MS_PER_ROW:.4f} ms/row",
        baseline_seconds=PEER_MS_PER_ROW * written / 1000,
        peak_mb=memory.peak_mb,
        note=f"{ms_per_row:.3f} ms per row written ({written:,} rows in every sheet: "
        f"{households:,} households, {members:,} members), peer {PEER_MS_PER_ROW:.4f}, "
        f"target <= {TARGET_MS_PER_ROW:.4f}; {written / seconds:,.0f} rows/s, "
        f"{size / MB:,.1f} MB; the export service itself (workbook_write)",
        extra={
            "households": households,
            "members": members,
            "rows_written": written,
            "ms_per_row": ms_per_row,
            "peer_ms_per_row": PEER_MS_PER_ROW,
            "target_ms_per_row": TARGET_MS_PER_ROW,
            "bytes": size,
            "rss_start_mb": memory.start_mb,
        },
    )


def _write_text(path: Path, pieces: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        for piece in pieces:
            handle.write(piece)


# What the importer writes, as the tables' own columns: the baseline's pre-shaped CSV.
def _copy_household_columns() -> list[str]:
    return ["id", *household_staging(), "sumber_data", "dibuat", "diubah"]


def _copy_member_columns() -> list[str]:
    return ["household_id", *(c for c in member_staging() if c != "no_kk"), "dibuat", "diubah"]


def _bench_import(region: str, admin, count: int, progress: Callable[[str], None]) -> Measure:
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
    last_id = _first_households(region, count)
    where, params = _region_sql(region)
    where = f"{where} AND id <= %s"
    params = [*params, last_id]
    queryset = Household.objects.filter(region_q(region), id__lte=last_id)
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

        progress("  import_census")
        marks: list[tuple[str, float]] = []

        def mark(done: int, total: int, phase: str) -> None:
            marks.append((phase, time.perf_counter()))

        def run_import():
            # What `manage.py import_census FILE --members FILE` does, the refresh apart.
            sheets = census_read(
                name=households_csv.name,
                data=households_csv.read_bytes(),
                members_data=members_csv.read_bytes(),
            )
            marks.append(("read", time.perf_counter()))
            result = census_import(
                sheets=sheets, dry_run=False, missing_members=KEEP, progress=mark, refresh=False
            )
            audit.record(
                action=AuditAction.IMPORT,
                rows=result.rows,
                filters={"file": households_csv.name, "dry_run": False, "benchmark": True},
                detail=f"manage.py bench: import_census {households_csv.name}",
            )
            return result

        with PeakMemory() as memory:
            started = time.perf_counter()
            result = run_import()
            seconds = time.perf_counter() - started
    if not result.committed:
        problems = "; ".join(
            f"{e.sheet} row {e.row} {e.column}: {e.message}" for e in result.errors[:5]
        )
        raise RuntimeError(f"the benchmark's import was refused: {problems}")
    imported = result.counts["households"]["new"], result.counts["members"]["new"]
    if imported != (households, members):
        raise RuntimeError(f"imported {imported}, expected {(households, members)}")

    with transaction.atomic(), connection.cursor() as cursor:
        history_pause(reason="benchmark: mark the imported rows synthetic", cursor=cursor)
        cursor.execute(
            "UPDATE households_household SET sumber_data = %s WHERE id > %s AND sumber_data = %s",
            [DataSource.SYNTHETIC, last_before, DataSource.IMPORT],
        )
    progress("  indicator refresh of the imported villages")
    refresh_seconds, _, _ = timed(indicators_refresh, trace_heap=False)

    phases = _import_phases(started, marks, started + seconds)
    throughput = baseline_seconds / seconds
    return Measure(
        f"import census CSV: {households:,} households",
        seconds,
        baseline="psql \\copy of the same rows",
        baseline_seconds=baseline_seconds,
        peak_mb=memory.peak_mb,
        note=f"{rows:,} rows ({households:,} households + {members:,} members), "
        f"{rows / seconds:,.0f} rows/s vs \\copy {rows / baseline_seconds:,.0f} rows/s: "
        f"throughput {throughput:.2f}x \\copy (target >= 0.4x); "
        + ", ".join(f"{name} {_ms(value)}" for name, value in phases.items())
        + f"; indicator refresh after it {_ms(refresh_seconds)} (not in the time); "
        "\\copy runs in psql and the server, the importer's upserts in the server",
        extra={
            "households": households,
            "members": members,
            "rows": rows,
            "rows_per_second": rows / seconds,
            "baseline_rows_per_second": rows / baseline_seconds,
            "throughput_ratio": throughput,
            "phases": phases,
            "indicator_refresh_seconds": refresh_seconds,
            "baseline_tool": baseline_tool,
            "rss_start_mb": memory.start_mb,
        },
    )


def _import_phases(
    started: float, marks: list[tuple[str, float]], ended: float
) -> dict[str, float]:
    """Seconds of each phase, from the importer's progress reports: "read" is the headers
    (rows are streamed), "validate" reads, validates and COPYs the rows chunk by chunk,
    "stage" the checks over all rows in SQL; "upsert" comes before the household upsert,
    after it, and after the member upsert and the deferred checks; the commit follows."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    upserts = [at for phase, at in marks if phase == "upsert"]
    for phase, at in marks:
        first.setdefault(phase, at)
        last[phase] = at
    if not {"read", "validate"} <= first.keys() or len(upserts) != 3:
        return {}
    return {
        "read": first["read"] - started,
        "validate": last["validate"] - first["read"],
        "stage": upserts[0] - last["validate"],
        "upsert households": upserts[1] - upserts[0],
        "upsert members": upserts[2] - upserts[1],
        "commit and audit": ended - upserts[2],
    }


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
