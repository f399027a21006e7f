"""Map criteria: the indicators whose numerator colours the household points of the map.

An active indicator flagged `map_criterion` is one, in the indicators' own order. Its
numerator spec is compiled into a condition on households: for a household numerator,
whether the household is counted; for a member numerator, whether one of its members is.
Points carry that condition per criterion and cluster cells count the households meeting
it (`households.tiles`, given `map_criteria_conditions`), so a new criterion needs a flag,
not code, and the map counts exactly the households the indicator's numerator selects.
"""

from __future__ import annotations

from django.db.models import BooleanField, Exists, Expression, ExpressionWrapper, OuterRef, Value

from ..models import Indicator
from .queries import members_with_age
from .spec import spec_q


def map_criteria() -> list[Indicator]:
    """The map's criteria, in the order the page lists them (the first is the default)."""
    return list(Indicator.objects.filter(active=True, map_criterion=True))


def criterion_condition(numerator: dict) -> Expression:
    """Whether a household meets the criterion of this (validated) numerator spec."""
    q = spec_q(numerator)
    if numerator["unit"] == "member":
        members = members_with_age(survey_date=OuterRef("tanggal_survei"))
        return Exists(members.filter(household=OuterRef("pk")).filter(q))
    if not q:
        return Value(True)
    return ExpressionWrapper(q, output_field=BooleanField())


def map_criteria_conditions() -> list[tuple[str, Expression]]:
    """(indicator code, condition on households) of each map criterion, in order: what
    the tiles take (households.tiles sits below the indicators and compiles nothing)."""
    return [
        (indicator.code, criterion_condition(indicator.numerator)) for indicator in map_criteria()
    ]
