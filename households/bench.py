"""The benchmark: each operation of the portal measured against its raw baseline, in one
run, on the same data (`manage.py bench`; `--quick` for a smoke test in seconds).

Figures are wall-clock times on this machine. "cold" tile times are the first request of
each tile on a fresh database connection (PostgreSQL's and the OS's caches may still hold
pages: dropping them needs privileges a deployment does not give the application). Peak
memory is the Python heap peak during the operation (tracemalloc), which is what grows
when a view builds a response in memory.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.db import connection, connections
from django.test import Client

from villages.models import Level, Region
from villages.services import regions_load

from .demo import households_generate
from .indicators import indicators_refresh
from .models import Household

TILE_ZOOMS = [8, 9, 10, 11, 12, 13, 14, 15, 16]


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


def timed(
    function: Callable, *, repeat: int = 1, trace_memory: bool = True
) -> tuple[float, float | None, object]:
    """(median seconds, peak MB of the Python heap or None, last result).

    tracemalloc slows allocation-heavy Python several times over: operations whose time
    matters more than their heap (the generator) are timed without it."""
    times = []
    if trace_memory:
        tracemalloc.start()
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    peak = None
    if trace_memory:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return statistics.median(times), peak, result


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
) -> BenchResult:
    result = BenchResult(
        started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        machine=f"{platform.node()} {platform.machine()} {_cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
        region=region,
        households=households,
    )
    add = result.measures.append

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
        trace_memory=False,
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
    from desapresisi.models import AccessProfile, Role

    user = _bench_user(region, AccessProfile, Role)
    client.force_login(user)
    progress("vector tiles")
    add(_bench_tiles(kabupaten, quick, client))

    # --- household list page ----------------------------------------------------------------
    url = f"/api/v1/households/?region={kabupaten}&page_size=100"
    seconds, peak, response = timed(lambda: client.get(url), repeat=9)
    from .api import HOUSEHOLD_FIELDS

    def values_json():
        rows = list(
            Household.objects.filter(region__code__startswith=f"{kabupaten}.")
            .order_by("id")
            .values(*HOUSEHOLD_FIELDS)[:100]
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

    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(result.as_json() + "\n", encoding="utf-8")
    return result


def _cpu_count() -> int:
    import os

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
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-analis")
    profile_model.objects.update_or_create(
        user=user, defaults={"role": role_model.ANALYST, "areas": [region]}
    )
    return user


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
    from .tiles import (
        _CELLS_SQL,
        _POINTS_SQL,
        BUFFER,
        CLUSTER_CELLS,
        CLUSTER_MAX_ZOOM,
        EXTENT,
        LAYER,
        tile_bounds,
    )

    west, south, east, north = tile_bounds(z, x, y)
    params = {
        "layer": LAYER, "extent": EXTENT, "buffer": BUFFER, "z": z, "x": x, "y": y,
        "west": west, "south": south, "east": east, "north": north,
        "x0": x * CLUSTER_CELLS - 1, "x1": x * CLUSTER_CELLS + CLUSTER_CELLS,
        "y0": y * CLUSTER_CELLS - 1, "y1": y * CLUSTER_CELLS + CLUSTER_CELLS,
    }  # fmt: skip
    if z <= CLUSTER_MAX_ZOOM:
        inner = (
            "SELECT cx, cy, households, tanpa_jamban, babs, ada_ats, desil_1_4, jiwa, sum_x, "
            "sum_y FROM households_tilecell WHERE z = %(z)s AND cx BETWEEN %(x0)s AND %(x1)s "
            "AND cy BETWEEN %(y0)s AND %(y1)s"
        )
        template = _CELLS_SQL
    else:
        inner = (
            "SELECT id, lokasi, tangga_sanitasi, air_minum_layak, rumah_tidak_layak_huni, "
            "jumlah_anggota, jumlah_ats, desil_kesejahteraan, fasilitas_bab "
            "FROM households_household "
            "WHERE lokasi && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)"
        )
        template = _POINTS_SQL
    return _sql_seconds(template.format(rows=inner), params, repeat=5)
