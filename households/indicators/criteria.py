"""Map criteria: the indicators whose numerator colours the household points of the map.

An active indicator flagged `map_criterion` is one, in the indicators' own order. Its
numerator spec is compiled into a condition on households: for a household numerator,
whether the household is counted; for a member numerator, whether one of its members is.
Points carry that condition per criterion and cluster cells count the households meeting
it (`households.tiles`, given `map_criteria_conditions`), so a new criterion needs a flag,
not code, and the map counts exactly the households the indicator's numerator selects.
"""

from __future__ import annotations

import threading

from django.db.models import BooleanField, Exists, Expression, ExpressionWrapper, OuterRef, Value

from desapresisi.http_cache import data_versions
from desapresisi.models import DataVersion

from ..models import Indicator
from .queries import members_with_age
from .spec import spec_q


class _KeptCriteria:
    """The map criteria this process read, under the indicators' version they were read
    at (every tile request names them: its cache key holds their definitions)."""

    def __init__(self) -> None:
        self._kept: tuple[str, list[Indicator]] | None = None
        self._lock = threading.Lock()

    def get(self, version: str) -> list[Indicator] | None:
        with self._lock:
            kept = self._kept
        return list(kept[1]) if kept is not None and kept[0] == version else None

    def put(self, version: str, criteria: list[Indicator]) -> None:
        with self._lock:
            self._kept = (version, list(criteria))

    def clear(self) -> None:
        with self._lock:
            self._kept = None


KEPT_CRITERIA = _KeptCriteria()


def map_criteria() -> list[Indicator]:
    """The map's criteria, in the order the page lists them (the first is the default).
    Read again whenever the indicators' version changes (a statement trigger bumps it on
    any change to the definitions), else kept in the process."""
    version = data_versions(DataVersion.INDICATORS).key
    kept = KEPT_CRITERIA.get(version)
    if kept is not None:
        return kept
    criteria = list(Indicator.objects.filter(active=True, map_criterion=True))
    KEPT_CRITERIA.put(version, criteria)
    return criteria


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
