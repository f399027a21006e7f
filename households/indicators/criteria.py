"""Map criteria: the indicators whose numerator colours the household points of the map.

An active indicator flagged `map_criterion` is one, in the indicators' own order. Its
numerator spec is compiled into a condition on households: for a household numerator,
whether the household is counted; for a member numerator, whether one of its members is.
Points carry that condition per criterion and cluster cells count the households meeting
it (`households.tiles`), so a new criterion needs a flag, not code, and the map counts
exactly the households the indicator's numerator selects.
"""

from __future__ import annotations

from django.db.models import (
    BooleanField,
    Exists,
    Expression,
    ExpressionWrapper,
    OuterRef,
    QuerySet,
    Value,
)

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
        return Exists(members_with_age().filter(household=OuterRef("pk")).filter(q))
    if not q:
        return Value(True)
    return ExpressionWrapper(q, output_field=BooleanField())


def criteria_pairs(criteria: list[Indicator]) -> list[tuple[str, str]]:
    """(column alias, indicator code) per criterion: aliases, not codes, name the SQL
    columns (a code is data); the tiles name their properties by the codes."""
    return [(f"criterion_{index}", indicator.code) for index, indicator in enumerate(criteria)]


def with_criteria(
    queryset: QuerySet, criteria: list[Indicator]
) -> tuple[QuerySet, list[tuple[str, str]]]:
    """The household queryset with one boolean per criterion, and its `criteria_pairs`."""
    pairs = criteria_pairs(criteria)
    conditions = {
        alias: criterion_condition(indicator.numerator)
        for (alias, _code), indicator in zip(pairs, criteria, strict=True)
    }
    return queryset.annotate(**conditions), pairs
