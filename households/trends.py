"""Reads over survey rounds: an indicator's line per area, the change of each area between
two rounds (suppressed like the values), and the households that improved, worsened or
stayed. Figures come from the rollup; households from the panel (closed rounds) or, for
the open round, the live record through the same shares (households/indicators/panel.py).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext as _

from desapresisi.access import can_view_names, disclose_household, disclosure_for
from desapresisi.errors import InvalidInput, NotAllowed

from .indicators.panel import household_shares_sql
from .indicators.trends import trend_periods
from .models import Household, HouseholdObservation, Indicator, RoundStatus, SurveyRound
from .selectors import households_for, indicator_values_for

IMPROVED, WORSENED, SAME, ENTERED, LEFT = "membaik", "memburuk", "tetap", "masuk", "keluar"
STATUSES = (IMPROVED, WORSENED, SAME, ENTERED, LEFT)
# A change list reads the backsliding first; the many that stayed come last.
LIST_ORDER = (WORSENED, IMPROVED, ENTERED, LEFT, SAME)
CHANGED = (WORSENED, IMPROVED, ENTERED, LEFT)


def _indicator(code: str) -> Indicator:
    indicator = Indicator.objects.filter(code=code, active=True).first()
    if indicator is None:
        raise InvalidInput({"indicator": _("Indikator tidak dikenal: %(codes)s") % {"codes": code}})
    return indicator


def _check_periods(**named: str) -> dict[str, int]:
    """{period code: position in time}; an unknown period is an error naming its field."""
    order = {p["code"]: index for index, p in enumerate(trend_periods())}
    for field, code in named.items():
        if code not in order:
            raise InvalidInput({field: _("Periode tidak dikenal: %(code)s") % {"code": code}})
    return order


def trend_for(
    *,
    indicator: str,
    areas: list[str] | None = None,
    level: str | None = None,
    parent: str | None = None,
    suppress_up_to: int | None = None,
) -> dict:
    """{periods: [...oldest first], rows: [value rows in period order]} of one indicator."""
    _indicator(indicator)
    periods = trend_periods()
    position = {p["code"]: i for i, p in enumerate(periods)}
    rows = indicator_values_for(
        indicators=[indicator],
        areas=areas,
        level=level,
        parent=parent,
        suppress_up_to=suppress_up_to,
    )
    rows.sort(key=lambda r: (r["area_code"], position.get(r["period"], -1)))
    return {"periods": periods, "rows": rows}


def _direction(change: float | None, higher_is_better: bool) -> str | None:
    if change is None:
        return None
    if abs(change) < 1e-9:
        return SAME
    return IMPROVED if (change > 0) == higher_is_better else WORSENED


def area_changes_for(
    *,
    indicator: str,
    from_period: str,
    to_period: str,
    areas: list[str] | None = None,
    level: str | None = None,
    parent: str | None = None,
    suppress_up_to: int | None = None,
) -> list[dict]:
    """Per area: both rounds' numerator, denominator and value, the change (to minus
    from) and whether it is better or worse (the indicator says which way is better).

    A change is hidden whenever either round's figure is hidden: a public change between
    two rounds is always the difference of two published figures, never a way to a small
    cell the values protect (the difference attack)."""
    definition = _indicator(indicator)
    _check_periods(**{"from": from_period, "to": to_period})
    rows = indicator_values_for(
        indicators=[indicator],
        areas=areas,
        level=level,
        parent=parent,
        periods=[from_period, to_period],
        suppress_up_to=suppress_up_to,
    )
    pairs: dict[str, dict] = {}
    for row in rows:
        pairs.setdefault(row["area_code"], {})[row["period"]] = row
    result = []
    for code in sorted(pairs):
        before, after = pairs[code].get(from_period), pairs[code].get(to_period)
        any_row = before or after
        suppressed = bool((before and before["suppressed"]) or (after and after["suppressed"]))
        change = None
        if (
            not suppressed
            and before
            and after
            and before["value"] is not None
            and after["value"] is not None
        ):
            change = after["value"] - before["value"]
        out = {
            "area_code": code,
            "area_name": any_row["area_name"],
            "level": any_row["level"],
            "from_period": from_period,
            "to_period": to_period,
            "change": change,
            "direction": _direction(change, definition.higher_is_better),
            "suppressed": suppressed,
        }
        for prefix, row in (("from", before), ("to", after)):
            for key in ("numerator", "denominator", "value"):
                out[f"{prefix}_{key}"] = None if suppressed or row is None else row[key]
        result.append(out)
    return result


def _live_shares(indicator: Indicator, households) -> dict[int, tuple]:
    sql, params = household_shares_sql([indicator], households=households)
    # Built from our own spec; values are parameters.
    query = f"""
        SELECT s.household_id, s.region_id, (s.indicators -> %s ->> 0)::float8,
               (s.indicators -> %s ->> 1)::float8
        FROM ({sql}) s
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [indicator.code, indicator.code, *params])
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _round_shares(indicator: Indicator, survey_round: SurveyRound, ids_q: Q) -> dict[int, tuple]:
    rows = (
        HouseholdObservation.objects.filter(survey_round=survey_round)
        .filter(ids_q)
        .values_list("household_id", "region_id", f"indicators__{indicator.code}")
    )
    return {hid: (region, *(shares or (0, None))) for hid, region, shares in rows}


def household_changes_for(
    *,
    user,
    village: str,
    indicator: str,
    from_period: str,
    to_period: str,
    statuses: tuple[str, ...] | list[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> dict:
    """The households of `village` (at either round) that improved, worsened, stayed, came
    in or left between two rounds for one indicator: only for roles that see named records,
    only households the caller may see (the one area rule, `households_for`). A household
    counts where the indicator's denominator holds it (all households when it has none).

    {counts: {status: n} of every household, total: n of those with one of `statuses`
    (all when None), households: that selection from `offset`, at most `limit` of them},
    worse first (memburuk, membaik, masuk, keluar, tetap), then by dusun, RW, RT and KK;
    each household disclosed per the caller. The whole village is compared to count it;
    only the page's households are read and disclosed."""
    if not can_view_names(user):
        raise NotAllowed(_("Daftar rumah tangga hanya untuk peran yang boleh melihat nama."))
    definition = _indicator(indicator)
    order = _check_periods(**{"dari": from_period, "ke": to_period})
    if order[from_period] >= order[to_period]:
        raise InvalidInput({"ke": _("Putaran tujuan harus sesudah putaran asal.")})
    unknown = sorted(set(statuses or ()) - set(STATUSES))
    if unknown:
        raise InvalidInput(
            {"status": _("Status tidak dikenal: %(codes)s") % {"codes": ", ".join(unknown)}}
        )
    rounds = {r.code: r for r in SurveyRound.objects.filter(code__in=[from_period, to_period])}
    for field, code in (("dari", from_period), ("ke", to_period)):
        if code not in rounds:
            raise InvalidInput(
                {field: _("Perubahan hanya antarputaran pendataan: %(code)s") % {"code": code}}
            )
    visible = households_for(user)
    # The candidates: households in the village now, or observed there at a closed round.
    # Each read is one index range; an OR of them would scan every household.
    candidates = set(visible.filter(region_id=village).values_list("pk", flat=True))
    closed = [rounds[c] for c in (from_period, to_period) if rounds[c].status == RoundStatus.CLOSED]
    if closed:
        candidates.update(
            HouseholdObservation.objects.filter(
                survey_round__in=closed, region_id=village
            ).values_list("household_id", flat=True)
        )
    # Sort keys of the candidates the caller may see: the only read of every household.
    keys = {
        pk: (dusun, rw, rt, no_kk)
        for pk, dusun, rw, rt, no_kk in visible.filter(pk__in=list(candidates))
        .order_by()
        .values_list("pk", "dusun", "rw", "rt", "no_kk")
    }
    ids = list(keys)
    sides = {}
    for code in (from_period, to_period):
        survey_round = rounds[code]
        if not ids:
            sides[code] = {}
        elif survey_round.status == RoundStatus.CLOSED:
            sides[code] = _round_shares(definition, survey_round, Q(household_id__in=ids))
        else:
            sides[code] = _live_shares(definition, Household.objects.filter(pk__in=ids))
    before, after = sides[from_period], sides[to_period]

    def counted(side: tuple | None) -> bool:
        if side is None:
            return False
        return definition.denominator is None or (side[2] or 0) > 0

    entries = {}
    for household_id in ids:
        a, b = before.get(household_id), after.get(household_id)
        if not (a and a[0] == village) and not (b and b[0] == village):
            continue
        if not counted(a) and not counted(b):
            continue
        if not counted(a):
            status = ENTERED
        elif not counted(b):
            status = LEFT
        else:
            status = _direction(b[1] - a[1], definition.higher_is_better)
        entries[household_id] = {
            "household_id": household_id,
            "status": status,
            "from_numerator": a[1] if counted(a) else None,
            "from_denominator": a[2] if counted(a) else None,
            "to_numerator": b[1] if counted(b) else None,
            "to_denominator": b[2] if counted(b) else None,
        }
    counts = dict.fromkeys(STATUSES, 0)
    for entry in entries.values():
        counts[entry["status"]] += 1
    wanted = set(statuses or STATUSES)
    rank = {status: index for index, status in enumerate(LIST_ORDER)}
    chosen = sorted(
        (pk for pk, entry in entries.items() if entry["status"] in wanted),
        key=lambda pk: (rank[entries[pk]["status"]], *keys[pk], pk),
    )
    page = chosen[offset:] if limit is None else chosen[offset : offset + limit]
    disclosure = disclosure_for(user, unmask_requested=False)
    rows = {
        row["id"]: row
        for row in Household.objects.filter(pk__in=page).values(
            "id", "no_kk", "region_id", "dusun", "rw", "rt", "alamat"
        )
    }
    households = []
    for pk in page:
        entry = entries[pk]
        disclosed = disclose_household(dict(rows[pk]), disclosure)
        entry.update({k: disclosed[k] for k in ("no_kk", "region_id", "dusun", "rw", "rt")})
        households.append(entry)
    return {
        "village": village,
        "indicator": indicator,
        "higher_is_better": definition.higher_is_better,
        "from_period": from_period,
        "to_period": to_period,
        "counts": counts,
        "total": len(chosen),
        "offset": offset,
        "households": households,
    }


def village_trend_table(*, code: str, language: str, suppress_up_to: int | None) -> dict:
    """The village page's trend of every indicator: one value per period (oldest first),
    and the change from the first to the last period with a value, read from the rollup
    and suppressed like the values (a change hidden when either end is)."""
    periods = trend_periods()
    indicators = list(Indicator.objects.filter(active=True))
    if not periods or not indicators:
        return {"periods": periods, "rows": []}
    values = indicator_values_for(
        indicators=[i.code for i in indicators], areas=[code], suppress_up_to=suppress_up_to
    )
    by_key = {(row["indicator"], row["period"]): row for row in values}
    rows = []
    for indicator in indicators:
        cells = [by_key.get((indicator.code, p["code"])) for p in periods]
        present = [cell for cell in cells if cell is not None]
        if not present:
            continue
        first, last = present[0], present[-1]
        change = None
        hidden = first["suppressed"] or last["suppressed"]
        if len(present) > 1 and not hidden and None not in (first["value"], last["value"]):
            change = last["value"] - first["value"]
        # Only shares (%) judge better or worse; a count (households, people) just moves.
        judged = indicator.unit == "%"
        rows.append(
            {
                "code": indicator.code,
                "name": indicator.name(language),
                "unit": indicator.unit,
                "higher_is_better": indicator.higher_is_better,
                "judged": judged,
                "cells": cells,
                "change": change,
                "direction": _direction(change, indicator.higher_is_better) if judged else None,
            }
        )
    return {"periods": periods, "rows": rows}


def household_shares_between(
    *, indicator: str, from_period: str, to_period: str, household_ids
) -> tuple[Indicator, dict[int, tuple[tuple | None, tuple | None]]]:
    """Each household's (village, numerator, denominator) for one indicator at two rounds
    (None where the household was not observed), from the panel for a closed round and
    the live record for the open one: what programme outcomes compare. `household_ids`
    is a list or a values("...") queryset of ids; no scope applies here, the callers
    answer aggregates only."""
    definition = _indicator(indicator)
    order = _check_periods(**{"from": from_period, "to": to_period})
    if order[from_period] >= order[to_period]:
        raise InvalidInput({"to": _("Putaran tujuan harus sesudah putaran asal.")})
    rounds = {r.code: r for r in SurveyRound.objects.filter(code__in=[from_period, to_period])}
    sides = []
    for field, code in (("from", from_period), ("to", to_period)):
        if code not in rounds:
            raise InvalidInput(
                {field: _("Perubahan hanya antarputaran pendataan: %(code)s") % {"code": code}}
            )
        if rounds[code].status == RoundStatus.CLOSED:
            sides.append(_round_shares(definition, rounds[code], Q(household_id__in=household_ids)))
        else:
            sides.append(_live_shares(definition, Household.objects.filter(pk__in=household_ids)))
    before, after = sides
    return definition, {hid: (before.get(hid), after.get(hid)) for hid in set(before) | set(after)}
