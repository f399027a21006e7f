"""The benchmark's survey-round measures (issue 15), kept apart from demo/bench.py so the
harness can change around them: closing a round (the panel, one INSERT ... SELECT), the
trend and the change-map requests with two rounds, each against its raw SQL baseline in
the same run. Runs on the bench's synthetic census after the other measures (over HTTP, from the
benchmark's gunicorn): it gives that census two synthetic rounds (demo/rounds.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from households.models import HouseholdObservation, RoundStatus, SurveyRound

from .bench_http import explain_seconds
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
    served,
    http_measure: Callable,
    timed: Callable,
    reuse: bool = False,
    measure: Callable,
    progress: Callable[[str], None],
) -> list:
    """[Measure, ...]: the round close (in this process), then over HTTP from the
    benchmark's gunicorn (`served`): the trend and change-map APIs, each against its
    framework floor, its own SQL (EXPLAIN ANALYZE) and the raw recount from the panel and
    the live households (EXPLAIN ANALYZE of RAW_TREND_SQL); the trend page and a village's
    change list (as the bench analyst, a role that sees names) against their floors.
    `http_measure` (demo/bench.py `_http_measure`), `timed` and `measure` come from the
    harness."""
    if reuse and _rounds_present():
        # `--reuse` on a census given its rounds beforehand (`generate_rounds`, timed there):
        # the requests are measured on them, the generation is not redone.
        progress("survey rounds: reusing the two demo rounds already in the database")
        measures = []
    else:
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
    raw, _planning = explain_seconds([_literal(RAW_TREND_SQL, params)], repeat=3)
    rollup, _planning = explain_seconds([_literal(ROLLUP_PAIR_SQL, params)], repeat=3)
    token = served.token(served.analyst)
    progress("survey rounds over HTTP: trend and change-map APIs, trend page, change list")
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
        answer = http_measure(
            served,
            name,
            url,
            headers=token,
            suffix="json",
            note=f"raw recount from panel + households in PostgreSQL {raw * 1000:.1f} ms "
            f"(EXPLAIN ANALYZE; rollup SELECT of two periods {rollup * 1000:.1f} ms)",
        )
        answer.extra["raw_recount_seconds"] = raw
        answer.extra["rollup_pair_seconds"] = rollup
        measures.append(answer)
    session = served.session(served.analyst)
    measures.append(
        http_measure(
            served,
            "trend page (HTML)",
            "/tren/",
            headers=session,
            suffix="html",
        )
    )
    village = _largest_village(kabupaten)
    if village is not None:
        measures.append(
            http_measure(
                served,
                f"village change list (HTML, analyst): desa {village}",
                f"/desa/{village}/perubahan/?indikator=tanpa_jamban&dari={BASELINE}&ke={UPDATE}",
                headers=session,
                suffix="html",
            )
        )
        # The API's first page of the backsliding households (the whole village is still
        # compared, to count every status).
        measures.append(
            http_measure(
                served,
                f"household changes API, worsened, page 1 (analyst): desa {village}",
                f"/api/v1/households/changes/?village={village}&indicator=tanpa_jamban"
                f"&from={BASELINE}&to={UPDATE}&status=memburuk",
                headers=token,
                suffix="json",
            )
        )
    return measures


def _rounds_present() -> bool:
    """Both demo rounds, the baseline closed with its panel and the update open."""
    return (
        SurveyRound.objects.filter(code=BASELINE, status=RoundStatus.CLOSED).exists()
        and SurveyRound.objects.filter(code=UPDATE, status=RoundStatus.OPEN).exists()
        and HouseholdObservation.objects.filter(survey_round__code=BASELINE).exists()
    )


def _literal(sql: str, params: dict) -> str:
    """`sql` with its parameters bound, for EXPLAIN ANALYZE (explain_seconds takes text)."""
    return connection.ops.compose_sql(sql, params)


def _largest_village(kabupaten: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT region_id FROM households_household WHERE region_id LIKE %s "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            [f"{kabupaten}.%"],
        )
        row = cursor.fetchone()
    return row[0] if row else None
