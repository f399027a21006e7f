"""The order of periods: survey rounds by their reference date (the one place that knows
it; a round's code says nothing about time), after the survey years of an installation
that counted by year before it opened its first round."""

from __future__ import annotations

from ..models import IndicatorValue, SurveyRound


def trend_periods(*, with_values: bool = True) -> list[dict]:
    """Periods, oldest first: {code, name, reference_date, status} (a survey year has no
    round: its name is the year, status None). `with_values`: only those the rollup holds."""
    present = (
        set(IndicatorValue.objects.order_by().values_list("period", flat=True).distinct())
        if with_values
        else None
    )
    rounds = [
        {
            "code": r.code,
            "name": r.name,
            "reference_date": r.reference_date,
            "status": r.status,
            "source": r.source,
        }
        for r in SurveyRound.objects.order_by("reference_date", "code")
    ]
    codes = {r["code"] for r in rounds}
    years = sorted(p for p in (present or ()) if p not in codes)
    periods = [
        {"code": y, "name": y, "reference_date": None, "status": None, "source": None}
        for y in years
    ]
    periods += [r for r in rounds if present is None or r["code"] in present]
    return periods


def period_codes() -> list[str]:
    return [p["code"] for p in trend_periods()]


def current_periods() -> list[str]:
    """The periods that together describe the current households: the latest round's, or
    (no round) every survey year, each household being in exactly one."""
    periods = trend_periods()
    if any(p["status"] is not None for p in periods):
        return [periods[-1]["code"]]
    return [p["code"] for p in periods]
