"""The rollup: every indicator's numerator and denominator per village, summed up the
area tree in set-based SQL, with the map's cluster cells and small-cell suppression.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import ExtractYear
from django.dispatch import Signal
from django_tasks import task

from desapresisi.access import small_cell_threshold
from desapresisi.db import copy_rows
from desapresisi.models import DataVersion
from villages.models import VillageUnit
from villages.selectors import unit_index_for

from ..models import DataSource, Household, Indicator, RoundStatus, SurveyRound
from ..tiles import tile_cache_invalidate, tile_cells_refresh
from .criteria import map_criteria_conditions
from .queries import members_with_age
from .spec import spec_q
from .suppression import UnitCell, suppression_refresh, units_hidden


def _aggregate(spec: dict) -> models.Aggregate:
    q = spec_q(spec)
    condition = {"filter": q} if q else {}
    if spec.get("aggregate", "count") == "sum":
        return Sum(spec["field"], **condition)
    return Count("pk", **condition)


# --- Rollup ----------------------------------------------------------------------------

# The one formula for an indicator's value, for every level.
_VALUE_SQL = """
    CASE WHEN i.denominator IS NULL THEN s.numerator * i.factor
         WHEN s.denominator > 0 THEN s.numerator / s.denominator * i.factor
    END
"""
_LEVEL_PREFIX_LENGTHS = (8, 5, 2)  # kecamatan, kabupaten, province


@dataclass
class RefreshResult:
    villages: int
    rows: int
    seconds: float
    full: bool


_NAMES = ("dusun", "rw", "rt")


def _village_aggregates(
    indicators: list[Indicator],
    villages: list[str] | None,
    *,
    period: str | None,
    by_names: bool = False,
) -> dict[tuple, dict[str, float]]:
    """{(village code, period): {spec key: value}}: one grouped query per unit. With
    `by_names`, keyed (village code, period, dusun, rw, rt) instead. `period`: the open
    round's code, for every household; None: the year of each household's survey date
    (an installation that never opened a round)."""
    specs: dict[str, dict[str, dict]] = {"household": {}, "member": {}}
    for indicator in indicators:
        for spec in (indicator.numerator, indicator.denominator):
            if spec is not None:
                specs[spec["unit"]][_spec_key(spec)] = spec

    results: dict[tuple, dict[str, float]] = {}
    for unit, unit_specs in specs.items():
        if not unit_specs:
            continue
        aliases = {f"a{index}": key for index, key in enumerate(unit_specs)}
        aggregates = {alias: _aggregate(unit_specs[key]) for alias, key in aliases.items()}
        if unit == "household":
            prefix = ""
            queryset = Household.objects.annotate(
                area=F("region_id"),
                period=ExtractYear("tanggal_survei") if period is None else Value(period),
            )
            area_filter = "region_id__in"
        else:
            prefix = "household__"
            queryset = members_with_age().annotate(
                area=F("household__region_id"),
                period=(
                    ExtractYear("household__tanggal_survei") if period is None else Value(period)
                ),
            )
            area_filter = "household__region_id__in"
        keys = ["area", "period"]
        if by_names:
            queryset = queryset.annotate(
                **{f"unit_{name}": F(f"{prefix}{name}") for name in _NAMES}
            )
            keys += [f"unit_{name}" for name in _NAMES]
        if villages is not None:
            queryset = queryset.filter(**{area_filter: villages})
        rows = queryset.values(*keys).annotate(**aggregates).order_by()
        for row in rows:
            group = (row["area"], str(row["period"]), *(row[k] for k in keys[2:]))
            bucket = results.setdefault(group, {})
            for alias, key in aliases.items():
                bucket[key] = float(row[alias] or 0)
    return results


def _units_refresh(
    cursor,
    indicators: list[Indicator],
    villages: list[str] | None,
    *,
    limit: int,
    period: str | None,
    frozen: list[str],
) -> int:
    """The per-unit rollup (dusun, RW, RT) of `villages` (all when None), rewritten from
    the households whose names resolve to each unit or a unit below it, with the public's
    suppression at `limit` (the villages' own rows, just refreshed, give the totals and
    whether the village itself is hidden). Returns the rows written."""
    with_units = VillageUnit.objects.all()
    if villages is not None:
        with_units = with_units.filter(region_id__in=villages)
    unit_villages = sorted(set(with_units.values_list("region_id", flat=True)))
    if villages is None:
        cursor.execute(
            "DELETE FROM households_unitindicatorvalue WHERE period <> ALL(%s)", [frozen]
        )
    else:
        cursor.execute(
            "DELETE FROM households_unitindicatorvalue"
            " WHERE region_id = ANY(%s) AND period <> ALL(%s)",
            [villages, frozen],
        )
    if not unit_villages or not indicators:
        return 0
    indexes = {code: unit_index_for(region_code=code) for code in unit_villages}
    # {(village, period): {unit id: {spec key: value}}}, every unit present (zeros).
    sums: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for (area, group_period, *names), values in _village_aggregates(
        indicators, unit_villages, period=period, by_names=True
    ).items():
        per_unit = sums.setdefault((area, group_period), {u.id: {} for u in indexes[area].units})
        chain, _problem = indexes[area].resolve(*(name or "" for name in names))
        for unit in chain:
            bucket = per_unit[unit.id]
            for key, value in values.items():
                bucket[key] = bucket.get(key, 0.0) + value
    cursor.execute(
        "SELECT indicator_id, region_id, period, numerator, denominator, suppressed"
        " FROM households_indicatorvalue WHERE region_id = ANY(%s) AND period <> ALL(%s)",
        [unit_villages, frozen],
    )
    village_rows = {(row[0], row[1], row[2]): row[3:] for row in cursor.fetchall()}
    parents = {code: {u.id: u.parent_id for u in index.units} for code, index in indexes.items()}
    rows = []
    for (area, row_period), per_unit in sums.items():
        for indicator in indicators:
            num_key = _spec_key(indicator.numerator)
            den_key = None if indicator.denominator is None else _spec_key(indicator.denominator)
            cells = [
                UnitCell(
                    unit=unit,
                    parent=parents[area][unit],
                    numerator=values.get(num_key, 0.0),
                    denominator=None if den_key is None else values.get(den_key, 0.0),
                )
                for unit, values in per_unit.items()
            ]
            total = village_rows.get((indicator.code, area, row_period), (0.0, None, False))
            hidden = units_hidden(
                cells, village=(total[0], total[1]), village_hidden=bool(total[2]), limit=limit
            )
            rows += [
                (indicator.code, c.unit, area, row_period, c.numerator, c.denominator,
                 c.unit in hidden)
                for c in cells
            ]  # fmt: skip
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS unit_indicator_staging ("
        " indicator_id varchar(40), unit_id bigint, region_id varchar(13), period varchar(40),"
        " numerator float8, denominator float8, suppressed boolean) ON COMMIT DELETE ROWS"
    )
    cursor.execute("TRUNCATE unit_indicator_staging")
    copy_rows(
        table="unit_indicator_staging",
        columns=[
            "indicator_id", "unit_id", "region_id", "period", "numerator", "denominator",
            "suppressed",
        ],
        rows=rows,
        cursor=cursor,
    )  # fmt: skip
    cursor.execute(
        f"""
        INSERT INTO households_unitindicatorvalue
            (indicator_id, unit_id, region_id, period, numerator, denominator, value,
             suppressed, suppression_limit)
        SELECT s.indicator_id, s.unit_id, s.region_id, s.period, s.numerator, s.denominator,
               {_VALUE_SQL}, s.suppressed, %s
        FROM unit_indicator_staging s JOIN households_indicator i ON i.code = s.indicator_id
        """,  # noqa: S608 - a constant expression, no input
        [limit],
    )
    return cursor.rowcount


# Households and synthetic households per village, then each level above as the sum of
# its villages (like the figures).
_VILLAGE_TOTALS_SQL = """
INSERT INTO households_areatotal (region_id, households, synthetic)
SELECT h.region_id, count(*), count(*) FILTER (WHERE h.sumber_data = %(synthetic)s)
FROM households_household h
{where}
GROUP BY h.region_id
"""
_LEVEL_TOTALS_SQL = """
INSERT INTO households_areatotal (region_id, households, synthetic)
SELECT r.code, s.households, s.synthetic
FROM (
    SELECT left(t.region_id, %(length)s) AS code, sum(t.households) AS households,
           sum(t.synthetic) AS synthetic
    FROM households_areatotal t
    WHERE length(t.region_id) = 13 AND left(t.region_id, %(length)s) = ANY(%(ancestors)s)
    GROUP BY 1
) s JOIN villages_region r ON r.code = s.code
"""


def _area_totals_refresh(cursor, villages: list[str] | None, affected: list[str]) -> None:
    """The stored totals (AreaTotal) of these villages (all when None) and their
    ancestors, in the refresh's transaction."""
    params = {"synthetic": DataSource.SYNTHETIC.value}
    if villages is None:
        cursor.execute("DELETE FROM households_areatotal")
        cursor.execute(_VILLAGE_TOTALS_SQL.format(where=""), params)
        affected = _village_codes(cursor)
    else:
        cursor.execute("DELETE FROM households_areatotal WHERE region_id = ANY(%s)", [villages])
        cursor.execute(
            _VILLAGE_TOTALS_SQL.format(where="WHERE h.region_id = ANY(%(villages)s)"),
            {**params, "villages": villages},
        )
    for length in _LEVEL_PREFIX_LENGTHS:
        ancestors = sorted({code[:length] for code in affected})
        cursor.execute("DELETE FROM households_areatotal WHERE region_id = ANY(%s)", [ancestors])
        cursor.execute(_LEVEL_TOTALS_SQL, {"length": length, "ancestors": ancestors})


def _village_codes(cursor) -> list[str]:
    cursor.execute("SELECT region_id FROM households_areatotal")
    return [row[0] for row in cursor.fetchall()]


def _spec_key(spec: dict) -> str:
    return json.dumps(spec, sort_keys=True)


def _with_ancestors(villages: list[str]) -> list[str]:
    return sorted({code[:length] for code in villages for length in (13, *_LEVEL_PREFIX_LENGTHS)})


@dataclass(frozen=True)
class LivePeriods:
    """Which period the live households are counted in, and which periods never change."""

    live: bool  # whether a refresh writes figures at all
    period: str | None  # the open round's code; None: survey years (no round ever opened)
    frozen: list[str]  # the closed rounds' codes: a refresh never touches their rows


def live_periods() -> LivePeriods:
    """Rounds decide the period: while a round is open the current households are that
    round's figures; a closed round's figures are frozen; with rounds but none open the
    figures wait for the next round (opening one recounts everything). An installation
    that never opened a round keeps one period per survey year."""
    rounds = list(SurveyRound.objects.values_list("code", "status"))
    if not rounds:
        return LivePeriods(live=True, period=None, frozen=[])
    open_codes = [code for code, status in rounds if status == RoundStatus.OPEN]
    frozen = sorted(code for code, status in rounds if status == RoundStatus.CLOSED)
    return LivePeriods(live=bool(open_codes), period=next(iter(open_codes), None), frozen=frozen)


def indicators_refresh(*, full: bool = False, followers_later: bool = False) -> RefreshResult:
    """Bring the rollup up to date.

    Incremental by default: recomputes the villages that database triggers marked stale
    (any write to households or members marks its village), then their kecamatan,
    kabupaten and province as sums of village numerators and denominators. `full`
    recomputes everything. Only the live period is written (`live_periods`): a closed
    round's values never change. Concurrent refreshes queue behind an advisory lock.

    After the commit `figures_refreshed` tells the apps that follow the figures (quality
    flags, verification by data); `followers_later` asks them to queue their work for the
    background worker instead of doing it now (a large import: its job is done when its
    figures are, and the flags of a kecamatan take longer than its rollup).
    """
    started = time.perf_counter()
    indicators = list(Indicator.objects.filter(active=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('indicators_refresh'))")
        cursor.execute("DELETE FROM households_dirtyregion RETURNING region_id")
        dirty = sorted(row[0] for row in cursor.fetchall())
        if full:
            villages = None
        elif not dirty:
            return RefreshResult(0, 0, time.perf_counter() - started, full)
        else:
            villages = dirty
        periods = live_periods()
        if not periods.live:
            # Between rounds: no figures to write, but the map shows the current households.
            tile_cells_refresh(cursor, villages, map_criteria_conditions())
            return RefreshResult(
                villages=len(dirty), rows=0, seconds=time.perf_counter() - started, full=full
            )
        frozen = periods.frozen

        aggregates = _village_aggregates(indicators, villages, period=periods.period)
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS indicator_staging ("
            " indicator_id varchar(40), region_id varchar(13), period varchar(40),"
            " numerator float8, denominator float8) ON COMMIT DELETE ROWS"
        )
        # Two refreshes in one transaction must not see each other's rows.
        cursor.execute("TRUNCATE indicator_staging")
        copy_rows(
            table="indicator_staging",
            columns=["indicator_id", "region_id", "period", "numerator", "denominator"],
            rows=(
                (
                    indicator.code,
                    area,
                    period,
                    values.get(_spec_key(indicator.numerator), 0.0),
                    None
                    if indicator.denominator is None
                    else values.get(_spec_key(indicator.denominator), 0.0),
                )
                for (area, period), values in aggregates.items()
                for indicator in indicators
            ),
            cursor=cursor,
        )
        if villages is None:
            cursor.execute(
                "DELETE FROM households_indicatorvalue WHERE period <> ALL(%s)", [frozen]
            )
            cursor.execute("SELECT DISTINCT region_id FROM indicator_staging")
            affected = [row[0] for row in cursor.fetchall()]
        else:
            affected = villages
            cursor.execute(
                "DELETE FROM households_indicatorvalue"
                " WHERE region_id = ANY(%s) AND period <> ALL(%s)",
                [villages, frozen],
            )
        cursor.execute(
            f"""
            INSERT INTO households_indicatorvalue
                (indicator_id, region_id, period, numerator, denominator, value)
            SELECT s.indicator_id, s.region_id, s.period, s.numerator, s.denominator,
                   {_VALUE_SQL}
            FROM indicator_staging s JOIN households_indicator i ON i.code = s.indicator_id
            """  # noqa: S608 - a constant expression, no input
        )
        rows = cursor.rowcount
        for length in _LEVEL_PREFIX_LENGTHS:
            ancestors = sorted({code[:length] for code in affected})
            cursor.execute(
                "DELETE FROM households_indicatorvalue"
                " WHERE region_id = ANY(%s) AND period <> ALL(%s)",
                [ancestors, frozen],
            )
            cursor.execute(
                f"""
                INSERT INTO households_indicatorvalue
                    (indicator_id, region_id, period, numerator, denominator, value)
                SELECT s.indicator_id, s.region_id, s.period, s.numerator, s.denominator,
                       {_VALUE_SQL}
                FROM (
                    SELECT v.indicator_id, left(v.region_id, %(length)s) AS region_id, v.period,
                           sum(v.numerator) AS numerator, sum(v.denominator) AS denominator
                    FROM households_indicatorvalue v
                    WHERE length(v.region_id) = 13
                      AND left(v.region_id, %(length)s) = ANY(%(ancestors)s)
                      AND v.period <> ALL(%(frozen)s)
                    GROUP BY 1, 2, 3
                ) s JOIN households_indicator i ON i.code = s.indicator_id
                """,  # noqa: S608 - a constant expression, no input
                {"length": length, "ancestors": ancestors, "frozen": frozen},
            )
            rows += cursor.rowcount
        # What the public may see of the groups these rows belong to.
        suppression_refresh(
            cursor,
            areas=None if villages is None else _with_ancestors(affected),
            limit=small_cell_threshold(),
            frozen=frozen,
        )
        # Below the village: every dusun, RW and RT of the villages recomputed.
        rows += _units_refresh(
            cursor,
            indicators,
            villages,
            limit=small_cell_threshold(),
            period=periods.period,
            frozen=frozen,
        )
        # The map's cluster cells are counts of the same households: same villages, same
        # transaction, so the map and the figures never disagree after a refresh.
        tile_cells_refresh(cursor, villages, map_criteria_conditions())
        _area_totals_refresh(cursor, villages, affected)
        # Last, so that the version row is locked only briefly: a new version of the
        # figures (HTTP validators), then the cached tiles of these villages dropped (a
        # tile rendered meanwhile is stored only under the old version, and checks it
        # FOR SHARE: see households/tiles.py).
        DataVersion.bump(DataVersion.FIGURES)
        tile_cache_invalidate(cursor, villages)
        if villages is None:
            # Rebuilt tables: fresh statistics, or the planner works from the old ones.
            cursor.execute(
                "ANALYZE households_indicatorvalue, households_unitindicatorvalue,"
                " households_tilecell"
            )
    transaction.on_commit(
        lambda: figures_refreshed.send_robust(
            sender=RefreshResult, villages=villages, later=followers_later
        )
    )
    return RefreshResult(
        villages=len(affected), rows=rows, seconds=time.perf_counter() - started, full=full
    )


# Sent once a refresh has committed, with `villages`: the codes refreshed (None: all), and
# `later`: queue the follow-up work rather than do it in this process now. Apps that follow
# the register (quality flags, programmes: verification by data) listen, so the households
# app need not know them.
figures_refreshed = Signal()


@task()
def indicators_refresh_task() -> None:
    """The incremental rollup (figures and map cells of the villages marked stale), run by
    the background worker after an edit is committed."""
    indicators_refresh()
