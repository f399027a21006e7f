"""The households or members a spec selects, as querysets (the lists use the same
specs as the rollup, so an indicator counts exactly what the list returns).
"""

from __future__ import annotations

from django.db import models
from django.db.models import BooleanField, Case, F, Value, When

from ..models import CURRENT_MEMBER, Household, Member
from .spec import AgeAt, ChildOutOfSchool, spec_q, validate_spec


def members_with_age(
    queryset: models.QuerySet | None = None,
    *,
    current_only: bool = True,
    survey_date: models.Expression | None = None,
) -> models.QuerySet:
    """Current members (one who died or moved out counts in no indicator, as in the
    household's stored counts) annotated with `umur`, their age at the household's survey
    date, and `anak_tidak_sekolah`. The rollup, the map criteria and the member lists'
    `indicator` filter all start here. `current_only=False` keeps everyone (a household's
    record lists the members who died or moved out too). `survey_date` replaces the join
    to the household for a subquery already correlated with it (`OuterRef`): PostgreSQL
    then probes each household's members instead of hashing every member of the table."""
    queryset = Member.objects.all() if queryset is None else queryset
    if current_only:
        queryset = queryset.filter(CURRENT_MEMBER)
    if survey_date is None:
        survey_date = F("household__tanggal_survei")
    return queryset.annotate(
        umur=AgeAt(survey_date, F("tanggal_lahir")),
        anak_tidak_sekolah=ChildOutOfSchool(
            F("partisipasi_sekolah"), F("tanggal_lahir"), survey_date
        ),
    )


def spec_queryset(spec: dict, queryset: models.QuerySet | None = None) -> models.QuerySet:
    """The households or members a spec selects (narrowing `queryset` when given)."""
    validate_spec(spec)
    if spec["unit"] == "household":
        base = Household.objects.all() if queryset is None else queryset
    else:
        base = members_with_age(queryset)
    return base.filter(spec_q(spec))


def spec_flags(specs: dict[str, dict], queryset: models.QuerySet) -> models.QuerySet:
    """`queryset` annotated with one boolean per spec (keyed by alias): whether the spec
    selects the row. Member specs need `members_with_age` rows (their `umur`). One query
    answers, for one household, which indicators count it or which of its members."""
    flags = {}
    for alias, spec in specs.items():
        validate_spec(spec)
        q = spec_q(spec)
        flags[alias] = (
            Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField())
            if q
            else Value(True, output_field=BooleanField())
        )
    return queryset.annotate(**flags)
