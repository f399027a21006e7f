"""Indicators as data, and their rollup over the area tree.

A spec (an indicator's numerator or denominator) is JSON that selects households or
members and says what to add up:

    {"unit": "household" | "member",
     "aggregate": "count" (default) | "sum", "field": <numeric field, for sum>,
     "where":   {lookup: value, ...},     all must hold
     "exclude": {lookup: value, ...},     none may hold
     "any":     [condition, ...]}         at least one must hold (each a where/exclude/any)

Lookups are a field name, optionally with one of the suffixes in `LOOKUPS`. Members can
also be filtered on `umur` (age in whole years at their household's survey date), on
`anak_tidak_sekolah` (the one rule for a child 7-18 out of school, the SQL function that
also keeps `jumlah_ats`) and on `household__<field>`. Only the fields listed below are
accepted, so a definition can be edited in the admin without opening a door to arbitrary
queries.

The same spec drives the rollup (`indicators_refresh`) and the household and member lists
(`spec_queryset`), so the households an indicator counts are exactly those the list returns.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext

from .. import schema

LOOKUPS = {"exact", "in", "range", "gte", "lte", "gt", "lt", "isnull"}


def household_fields() -> set[str]:
    """Household fields a spec may use (the catalogue's, see households.schema)."""
    return schema.spec_fields(schema.HOUSEHOLD)


# Computed by the spec's own queries (queries.members_with_age), for specs only.
MEMBER_SPEC_VALUES = {"anak_tidak_sekolah"}


def member_fields() -> set[str]:
    """Member fields (`umur` among them), `anak_tidak_sekolah` and
    `household__<household field>`."""
    households = {f"household__{name}" for name in household_fields()}
    return schema.spec_fields(schema.MEMBER) | MEMBER_SPEC_VALUES | households


def summable(unit: str) -> set[str]:
    return schema.summable(unit)


UNITS = {"household": household_fields, "member": member_fields}
CONDITION_KEYS = {"where", "exclude", "any"}
SPEC_KEYS = CONDITION_KEYS | {"unit", "aggregate", "field"}


class AgeAt(models.Func):
    """Whole years between a birth date and a reference date, as PostgreSQL's age() counts."""

    template = "EXTRACT(YEAR FROM age(%(expressions)s))::integer"
    output_field = models.IntegerField()

    def __init__(self, reference, birth_date, **extra):
        super().__init__(reference, birth_date, **extra)


class ChildOutOfSchool(models.Func):
    """A child 7-18 out of school at the survey date: the SQL function the triggers keeping
    `jumlah_ats` call too (households/sql/households_child_out_of_school.sql), so an
    indicator counting it and the stored count cannot disagree."""

    function = "households_child_out_of_school"
    output_field = models.BooleanField()


# --- Specs -----------------------------------------------------------------------------


def validate_spec(spec: Any, *, field: str = "spec") -> None:
    """Raise ValidationError naming what is wrong with a numerator/denominator spec."""
    if not isinstance(spec, dict):
        raise ValidationError({field: gettext("Spesifikasi harus berupa objek JSON.")})
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ValidationError(
            {field: gettext("Kunci tidak dikenal: %(keys)s") % {"keys": sorted(unknown)}}
        )
    unit = spec.get("unit")
    if unit not in UNITS:
        raise ValidationError(
            {field: gettext("unit harus salah satu dari %(units)s") % {"units": sorted(UNITS)}}
        )
    aggregate = spec.get("aggregate", "count")
    if aggregate not in ("count", "sum"):
        raise ValidationError({field: gettext("aggregate harus 'count' atau 'sum'")})
    if aggregate == "sum" and spec.get("field") not in summable(unit):
        raise ValidationError(
            {
                field: gettext("field untuk sum harus salah satu dari %(fields)s")
                % {"fields": sorted(summable(unit))}
            }
        )
    _validate_condition(spec, UNITS[unit](), field)


def _validate_condition(condition: dict, allowed: set[str], field: str) -> None:
    for key in ("where", "exclude"):
        lookups = condition.get(key, {})
        if not isinstance(lookups, dict):
            raise ValidationError({field: gettext("'%(key)s' harus objek") % {"key": key}})
        for lookup, value in lookups.items():
            name, _, suffix = lookup.partition("__") if "__" in lookup else (lookup, "", "")
            if lookup.startswith("household__"):
                rest = lookup.removeprefix("household__")
                base, _, suffix = rest.partition("__")
                name = f"household__{base}"
            if name not in allowed or (suffix and suffix not in LOOKUPS):
                raise ValidationError(
                    {
                        field: gettext("Lookup tidak diizinkan: %(lookup)s")
                        % {"lookup": repr(lookup)}
                    }
                )
            if suffix == "in" and not isinstance(value, list):
                raise ValidationError(
                    {field: gettext("%(lookup)s butuh daftar") % {"lookup": repr(lookup)}}
                )
            if suffix == "range" and not (isinstance(value, list) and len(value) == 2):
                raise ValidationError(
                    {field: gettext("%(lookup)s butuh [min, max]") % {"lookup": repr(lookup)}}
                )
    alternatives = condition.get("any", [])
    if not isinstance(alternatives, list):
        raise ValidationError({field: gettext("'any' harus daftar")})
    for alternative in alternatives:
        if not isinstance(alternative, dict) or set(alternative) - CONDITION_KEYS:
            raise ValidationError(
                {field: gettext("Setiap isi 'any' berisi where/exclude/any saja.")}
            )
        _validate_condition(alternative, allowed, field)


def validate_map_criterion(numerator: dict, *, field: str = "numerator") -> None:
    """A criterion tells whether a household is counted: its numerator must count."""
    if numerator.get("aggregate", "count") != "count":
        raise ValidationError({field: "Kriteria peta harus 'count'. / A map criterion counts."})


def spec_q(condition: dict) -> Q:
    """The Q object of a (validated) condition."""
    q = Q()
    for lookup, value in condition.get("where", {}).items():
        q &= Q(**{lookup: value})
    for lookup, value in condition.get("exclude", {}).items():
        q &= ~Q(**{lookup: value})
    alternatives = condition.get("any", [])
    if alternatives:
        any_q = Q()
        for alternative in alternatives:
            any_q |= spec_q(alternative)
        q &= any_q
    return q
