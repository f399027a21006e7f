"""The benchmark's survey-round measures (issue 15), kept apart from demo/bench.py so the
harness can change around them: closing a round (the panel, one INSERT ... SELECT), the
trend and the change-map requests with two rounds, each against its raw SQL baseline in
the same run. Runs on the bench's synthetic census after the other measures: it gives
that census two synthetic rounds (demo/rounds.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from households.models import HouseholdObservation

from .rounds import BASELINE, UPDATE, rounds_generate, rounds_remove

# Raw baselines: what the requests would cost without the rollup, straight from the rows.
# Trend: the indicator per village for both rounds, recounted (the closed round from its
# panel, the open one from the live households).
RAW_TREND_SQL = """
SELECT o.region_id, 'a', sum((o.indicators -> 'tanpa_jamban' ->> 0)::float8),
       sum((o.indicators -> 'tanpa_jamban' ->> 1)::float8)
FROM households_householdobservation o
JOIN households_surveyround r ON r.id = o.survey_round_id AND r.code = %(from)s
WHERE o.region_id LIKE %(prefix)s GROUP BY 1
UNION ALL
SELECT h.region_id, 'b', count(*) FILTER (WHERE h.fasilitas_bab = 6),
       count(*) FILTER (WHERE h.fasilitas_bab IS NOT NULL)
FROM households_household h WHERE h.region_id LIKE %(prefix)s GROUP BY 1
"""
# The same figures read from the rollup: what the endpoints' selectors read.
ROLLUP_PAIR_SQL = """
SELECT a.region_id, a.numerator, a.denominator, a.value, b.numerator, b.denominator, b.value,
       b.value - a.value, a.suppressed OR b.suppressed
FROM households_indicatorvalue a
JOIN households_indicatorvalue b
  ON b.indicator_id = a.indicator_id AND b.region_id = a.region_id AND b.period = %(to)s
JOIN villages_region r ON r.code = a.region_id
WHERE a.indicator_id = 'tanpa_jamban' AND a.period = %(from)s AND r.level = 'desa'
  AND a.region_id LIKE %(prefix)s
"""


def bench_rounds(
    *,
    region: str,
    kabupaten: str,
    seed: int,
    client: Client,
    timed: Callable,
    sql_seconds: Callable,
    measure: Callable,
    progress: Callable[[str], None],
) -> list:
    """[Measure, ...]: round close, trend request, change-map request. `timed`,
    `sql_seconds` and `measure` (the Measure class) come from the harness."""
    progress("survey rounds: baseline closed (panel), update opened with changes")
    rounds_remove()
    seconds, peak, result = timed(lambda: rounds_generate(region_code=region, seed=seed))
    observed = HouseholdObservation.objects.count()
    measures = [
        measure(
            "rounds: close baseline + open update (demo)",
            seconds,
            peak_mb=peak,
            note=f"{observed:,} observations written; changes {result.changed}",
            extra={"observations": observed, "changes": result.changed},
        )
    ]
    params = {"from": BASELINE, "to": UPDATE, "prefix": f"{kabupaten}.%"}
    raw = sql_seconds(RAW_TREND_SQL, params, repeat=3)
    rollup = sql_seconds(ROLLUP_PAIR_SQL, params)
    for name, url in (
        (
            "trend API: villages of the kabupaten, two rounds",
            f"/api/v1/indicators/trend/?indicator=tanpa_jamban&level=desa&parent={kabupaten}",
        ),
        (
            "change map API: villages, two rounds",
            f"/api/v1/indicators/changes/?indicator=tanpa_jamban&level=desa&parent={kabupaten}"
            f"&from={BASELINE}&to={UPDATE}",
        ),
    ):
        seconds, peak, response = timed(lambda url=url: client.get(url), repeat=9)
        body = response.json()
        rows = len(body["rows"]) if isinstance(body, dict) else len(body)
        measures.append(
            measure(
                name,
                seconds,
                baseline="rollup SELECT (two periods)",
                baseline_seconds=rollup,
                peak_mb=peak,
                note=f"{rows} rows; raw recount from panel + households {raw * 1000:.1f} ms "
                f"(API {raw / seconds:.1f}x faster)",
                extra={"raw_recount_seconds": raw, "status": response.status_code},
            )
        )
    return measures
