"""Each household's share of every indicator, as one SQL statement: the rows of the panel
(households.HouseholdObservation) written when a round closes, and the live side of a
household-level change list.

A village's rollup value is the sum of its households' shares (a count spec counts a
household 0 or 1 times, a member spec its members, a sum spec its stored value), so the
frozen figures of a round can always be recounted from its observations.
"""

from __future__ import annotations

import json

from django.contrib.gis.db import models
from django.db.models import Case, Count, F, Sum, Value, When

from .. import schema
from ..models import Household, Indicator
from .queries import members_with_age
from .spec import spec_q

# jsonb_build_object takes at most 100 arguments: objects are built in chunks and joined.
_CHUNK = 40


def answer_columns() -> list[str]:
    """The household columns an observation keeps: the catalogue's stored answers (coded
    and plain, the decile with its source and vintage; not the point) and derived values
    (the ladders, the member counts: the members' summary)."""
    return [
        e.column
        for e in schema.catalogue(schema.HOUSEHOLD)
        if e.category in (schema.CODED, schema.ANSWER, schema.DERIVED)
        and e.stored
        and not isinstance(e.field, models.GeometryField)
    ]


def _jsonb_object(pairs: list[tuple[str, str]]) -> str:
    """SQL for a jsonb object of (key, SQL expression) pairs (keys are our own names)."""
    if not pairs:
        return "'{}'::jsonb"
    chunks = []
    for start in range(0, len(pairs), _CHUNK):
        args = ", ".join(f"'{key}', {expr}" for key, expr in pairs[start : start + _CHUNK])
        chunks.append(f"jsonb_build_object({args})")
    return " || ".join(chunks)


def _household_share(spec: dict) -> models.Expression:
    q = spec_q(spec)
    one = F(spec["field"]) if spec.get("aggregate", "count") == "sum" else Value(1)
    if not q:
        return one
    return Case(When(q, then=one), default=Value(0), output_field=models.FloatField())


def _member_share(spec: dict) -> models.Aggregate:
    q = spec_q(spec)
    condition = {"filter": q} if q else {}
    if spec.get("aggregate", "count") == "sum":
        return Sum(spec["field"], **condition)
    return Count("pk", **condition)


def household_shares_sql(
    indicators: list[Indicator], *, households: models.QuerySet | None = None
) -> tuple[str, list]:
    """SELECT household_id, region_id, answers (jsonb), indicators (jsonb of
    {code: [numerator, denominator]}) for every household of `households` (all when
    None). The same specs, and the same current-member rule, as the rollup."""
    households = Household.objects.all() if households is None else households
    keys: dict[str, dict] = {}
    for indicator in indicators:
        for spec in (indicator.numerator, indicator.denominator):
            if spec is not None:
                keys.setdefault(json.dumps(spec, sort_keys=True), spec)
    aliases = {key: f"s{index}" for index, key in enumerate(keys)}
    house_specs = {aliases[k]: s for k, s in keys.items() if s["unit"] == "household"}
    member_specs = {aliases[k]: s for k, s in keys.items() if s["unit"] == "member"}

    house_qs = households.order_by().values("id", "region_id")
    if house_specs:
        house_qs = house_qs.annotate(
            **{alias: _household_share(spec) for alias, spec in house_specs.items()}
        )
    house_sql, house_params = house_qs.query.sql_with_params()
    joins, params = "", list(house_params)
    if member_specs:
        member_qs = (
            members_with_age()
            .filter(household__in=households.order_by().values("id"))
            .values("household_id")
            .annotate(**{alias: _member_share(spec) for alias, spec in member_specs.items()})
            .order_by()
        )
        member_sql, member_params = member_qs.query.sql_with_params()
        joins = f"LEFT JOIN ({member_sql}) m ON m.household_id = h.id"
        params += list(member_params)

    def share(spec: dict) -> str:
        key = json.dumps(spec, sort_keys=True)
        table = "h" if spec["unit"] == "household" else "m"
        return f"coalesce({table}.{aliases[key]}, 0)::float8"

    pairs = [
        (
            indicator.code,
            f"jsonb_build_array({share(indicator.numerator)}, "
            + ("NULL" if indicator.denominator is None else share(indicator.denominator))
            + ")",
        )
        for indicator in indicators
    ]
    answers = _jsonb_object([(column, f"hh.{column}") for column in answer_columns()])
    sql = f"""
        SELECT h.id AS household_id, h.region_id, {answers} AS answers,
               {_jsonb_object(pairs)} AS indicators
        FROM ({house_sql}) h
        JOIN households_household hh ON hh.id = h.id
        {joins}
    """  # noqa: S608 - aliases and column names are ours; values are parameters
    return sql, params
