"""Reads of the quality app, through the one area rule (`access.area_codes_for`)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, QuerySet

from desapresisi.access import area_codes_for, can_view_quality
from households.models import Household, Indicator
from villages.codes import subtree_q

from .models import Acceptance, Flag, Rule, RuleScope, SignOff, SignOffStatus
from .services import open_round


def flags_for(user) -> QuerySet[Flag]:
    """The flags of the records and areas this caller may see; none for the public."""
    if not can_view_quality(user):
        return Flag.objects.none()
    codes = area_codes_for(user)
    flags = Flag.objects.select_related("rule")
    return flags if codes is None else flags.filter(subtree_q(codes, "region__code"))


def village_visible(user, region_code: str) -> bool:
    codes = area_codes_for(user)
    if not can_view_quality(user):
        return False
    return codes is None or any(
        region_code == code or region_code.startswith(code + ".") for code in codes
    )


def rule_counts(*, region_code: str) -> list[dict]:
    """Every active rule with its number of flags in the village (zeros included) and of
    accepted ones, in the rules' order."""
    counts = dict(
        Flag.objects.filter(region_id=region_code)
        .values("rule_id")
        .annotate(n=Count("pk"))
        .values_list("rule_id", "n")
    )
    accepted = dict(
        Acceptance.objects.filter(region_id=region_code)
        .values("rule_id")
        .annotate(n=Count("pk"))
        .values_list("rule_id", "n")
    )
    return [
        {
            "rule": rule,
            "code": rule.code,
            "flags": counts.get(rule.code, 0),
            "accepted": accepted.get(rule.code, 0),
        }
        for rule in Rule.objects.filter(active=True)
    ]


def village_score(*, region_code: str) -> dict:
    """Households, households flagged (on themselves or a member), the share flagged (%)
    and the score (100 minus the share)."""
    households = Household.objects.filter(region_id=region_code).count()
    flagged = (
        Flag.objects.filter(region_id=region_code, household__isnull=False)
        .values("household_id")
        .distinct()
        .count()
    )
    share = round(100 * flagged / households, 1) if households else None
    return {
        "households": households,
        "flagged": flagged,
        "share": share,
        "score": None if share is None else round(100 - share, 1),
    }


def signoff_of(*, region_code: str) -> SignOff | None:
    """The village's sign-off for the open round, if it was ever submitted."""
    survey_round = open_round()
    if survey_round is None:
        return None
    return (
        SignOff.objects.filter(region_id=region_code, survey_round=survey_round)
        .select_related("approved_by", "submitted_by", "survey_round")
        .first()
    )


def signoff_row(signoff: SignOff | None) -> dict | None:
    if signoff is None:
        return None
    return {
        "round": signoff.survey_round.code,
        "status": signoff.status,
        "status_label": str(SignOffStatus(signoff.status).label),
        "submitted_at": signoff.submitted_at,
        "approved_at": signoff.approved_at,
        "approved_by": signoff.approved_by.get_username() if signoff.approved_by else None,
        "note": signoff.note,
    }


def villages_quality(user, *, parent: str) -> list[dict]:
    """Per village under `parent` that the caller may see: households, flagged
    households, the share flagged, the open round's sign-off status, the village's
    outlier flags (`area_flags`) and the boundary (GeoJSON, built in SQL) for the
    choropleth. Empty for the public."""
    if not can_view_quality(user):
        return []
    codes = area_codes_for(user)
    survey_round = open_round()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT r.code, r.name, coalesce(h.n, 0), coalesce(f.n, 0), s.status,
                   ST_AsGeoJSON(ST_SimplifyPreserveTopology(r.boundary, 0.0005), 5)
            FROM villages_region r
            LEFT JOIN (SELECT region_id, count(*) AS n FROM households_household
                       WHERE region_id LIKE %(prefix)s GROUP BY 1) h ON h.region_id = r.code
            LEFT JOIN (SELECT region_id, count(DISTINCT household_id) AS n FROM quality_flag
                       WHERE household_id IS NOT NULL AND region_id LIKE %(prefix)s
                       GROUP BY 1) f ON f.region_id = r.code
            LEFT JOIN quality_signoff s ON s.region_id = r.code AND s.survey_round_id = %(round)s
            WHERE r.level = 'desa' AND (r.code = %(parent)s OR r.code LIKE %(prefix)s)
              AND (%(codes)s::text[] IS NULL OR EXISTS (
                   SELECT 1 FROM unnest(%(codes)s::text[]) c
                   WHERE r.code = c OR r.code LIKE c || '.%%'))
            ORDER BY r.code
            """,
            {
                "parent": parent,
                "prefix": parent + ".%",
                "codes": codes,
                "round": survey_round.pk if survey_round else None,
            },
        )
        rows = cursor.fetchall()
    outliers = area_flags(region_codes=[row[0] for row in rows])
    return [
        {
            "code": code,
            "name": name,
            "households": households,
            "flagged": flagged,
            "share": round(100 * flagged / households, 1) if households else None,
            "signoff": status,
            "outliers": outliers[code],
            "geometry": geometry,
        }
        for code, name, households, flagged, status, geometry in rows
    ]


def approved_village_codes(*, period: str) -> set[str]:
    """The villages whose data for the round `period` (its code) were approved: what the
    approved-only figures sum (households/indicators/approved.py). Not a round: none."""
    return set(
        SignOff.objects.filter(
            survey_round__code=period, status=SignOffStatus.APPROVED
        ).values_list("region_id", flat=True)
    )


def area_flags(*, region_codes: list[str]) -> dict[str, list[dict]]:
    """{village: [its outlier flags: rule, rule_name, indicator, indicator_name, period,
    details]} (values far from the kecamatan's villages, jumps between rounds): what the
    dashboards show beside a village's value. Figures of aggregates only, but exact ones:
    for roles with an account (the caller checks)."""
    found: dict[str, list[dict]] = {code: [] for code in region_codes}
    if not region_codes:
        return found
    flags = (
        Flag.objects.filter(region_id__in=region_codes, rule__scope=RuleScope.AREA)
        .select_related("rule")
        .order_by("region_id", "rule__sort_order", "indicator_id", "period")
    )
    flags = list(flags)
    names = {
        indicator.code: indicator.name()
        for indicator in Indicator.objects.filter(code__in={f.indicator_id for f in flags})
    }
    for flag in flags:
        found[flag.region_id].append(
            {
                "rule": flag.rule_id,
                "rule_name": flag.rule.name(),
                "indicator": flag.indicator_id,
                "indicator_name": names.get(flag.indicator_id, flag.indicator_id),
                "period": flag.period,
                "details": flag.details,
            }
        )
    return found
