"""The tile cache and HTTP validators measured over real HTTP (manage.py bench_cache).

Starts one gunicorn worker on loopback over the current database, signs in a temporary
SKPD analyst of the region with an API token, and times, on one keep-alive connection:
per zoom the densest tile of the region cold (cache emptied), warm (from the cache) and
revalidated (If-None-Match: a 304), with its bytes; and the indicator values 200 against
304. A small figure: the full HTTP benchmark is `manage.py bench`.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from desapresisi.models import AccessProfile, Role
from households.models import TileCache

ZOOMS = (8, 10, 12, 13, 14, 15, 16)
REPEAT = 30

# The tile of each zoom holding the most households of the region.
_DENSEST_SQL = """
SELECT x, y, n FROM (
    SELECT floor((ST_X(lokasi) + 180) / 360 * 2 ^ %(z)s)::int AS x,
           floor((1 - asinh(tan(radians(ST_Y(lokasi)))) / pi()) / 2 * 2 ^ %(z)s)::int AS y,
           count(*) AS n
    FROM households_household
    WHERE region_id LIKE %(prefix)s AND lokasi IS NOT NULL
    GROUP BY 1, 2
) t ORDER BY n DESC LIMIT 1
"""


@dataclass
class Timing:
    name: str
    households: int
    bytes: int
    cold_ms: float
    warm_ms: float
    revalidated_ms: float


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _get(conn, path: str, headers: dict) -> tuple[float, int, bytes, str]:
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response.status, body, response.getheader("ETag") or ""


def _median(conn, path: str, headers: dict, expect: int) -> float:
    times = []
    for _ in range(REPEAT):
        elapsed, status, _body, _etag = _get(conn, path, headers)
        if status != expect:
            raise RuntimeError(f"{path}: {status}, expected {expect}")
        times.append(elapsed)
    return statistics.median(times)


def cache_bench(*, region: str, out=sys.stdout) -> list[Timing]:
    user = get_user_model().objects.create_user(f"bench-cache-{secrets.token_hex(4)}")
    AccessProfile.objects.create(user=user, role=Role.ANALYST, areas=[region])
    token = Token.objects.create(user=user).key
    port = _free_port()
    env = {**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, fixed arguments
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "desapresisi.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "--keep-alive",
            "30",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    timings = []
    try:
        _wait(port)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        auth = {"Authorization": f"Token {token}", "Accept-Language": "id"}
        _get(conn, "/health/live/", auth)  # the worker's first request loads the code
        floor = _median(conn, "/health/live/", auth, 200)
        timings.append(Timing("floor: /health/live/", 0, 0, 0.0, floor, 0.0))
        for z in ZOOMS:
            with connection.cursor() as cursor:
                cursor.execute(_DENSEST_SQL, {"z": z, "prefix": region + "%"})
                x, y, n = cursor.fetchone()
            path = f"/api/v1/tiles/households/{z}/{x}/{y}.pbf"
            TileCache.objects.filter(z=z, x=x, y=y).delete()
            cold, status, body, etag = _get(conn, path, auth)
            if status != 200:
                raise RuntimeError(f"{path}: {status}")
            warm = _median(conn, path, auth, 200)
            revalidated = _median(conn, path, {**auth, "If-None-Match": etag}, 304)
            timings.append(Timing(f"tile z{z} {x}/{y}", n, len(body), cold, warm, revalidated))
        values = f"/api/v1/indicators/values/?indicator=babs&level=desa&parent={region}"
        first, status, body, etag = _get(conn, values, auth)
        full = _median(conn, values, auth, 200)
        revalidated = _median(conn, values, {**auth, "If-None-Match": etag}, 304)
        timings.append(Timing("values (desa)", 0, len(body), first, full, revalidated))
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        user.delete()
    out.write(
        f"{'request':<26} {'households':>10} {'bytes':>8} {'cold ms':>8} {'200 ms':>8}"
        f" {'304 ms':>8}\n"
    )
    for t in timings:
        out.write(
            f"{t.name:<26} {t.households:>10} {t.bytes:>8} {t.cold_ms:>8.1f} {t.warm_ms:>8.1f}"
            f" {t.revalidated_ms:>8.1f}\n"
        )
    return timings
