"""Reads of programmes and interventions, through the kernel's area rule.

Programmes and their rollup per village are aggregates (everyone reads them; the public's
small cells are suppressed). Interventions name households: only roles with names see
them, and only in their areas (`interventions_for`), the same rule as `households_for`.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from desapresisi.access import (
    area_codes_for,
    can_manage_programmes,
    can_view_interventions,
    role_of,
    suppression_for,
)
from desapresisi.errors import InvalidInput
from desapresisi.models import Role
from households.filters import HouseholdFilter
from households.indicators.criteria import criterion_condition
from households.indicators.trends import trend_periods
from households.models import Household, IndicatorValue
from households.selectors import households_for, latest_period
from households.trends import household_shares_between
from villages.codes import subtree_q
from villages.models import Region

from .models import (
    ACTIVE_STATUSES,
    CoverageCell,
    Intervention,
    InterventionEvent,
    Programme,
    ProgrammeMonthStat,
    ProgrammeVillageStat,
    SkpdMember,
    Status,
    Target,
)


def skpd_of(user):
    """The SKPD the user belongs to, or None."""
    if user is None or not user.is_authenticated:
        return None
    membership = SkpdMember.objects.filter(user=user).select_related("skpd").first()
    return membership.skpd if membership else None


def can_manage(user, programme: Programme) -> bool:
    """Administrators, and the analysts of the programme's own SKPD. Other SKPDs read it."""
    role = role_of(user)
    if role == Role.ADMIN:
        return True
    if not can_manage_programmes(user):
        return False
    skpd = skpd_of(user)
    return skpd is not None and skpd.pk == programme.skpd_id


def programmes_for(user) -> QuerySet:
    """Every programme: what programmes exist, their SKPD and figures is public planning
    information (seeing each other's programmes is how double aid is avoided)."""
    return Programme.objects.select_related("skpd", "indicator", "area")


def interventions_for(user, queryset: QuerySet | None = None) -> QuerySet:
    """The interventions this user may see: roles with names, households in their areas."""
    queryset = Intervention.objects.all() if queryset is None else queryset
    if not can_view_interventions(user):
        return queryset.none()
    codes = area_codes_for(user)
    if codes is None:
        return queryset
    if not codes:
        return queryset.none()
    return queryset.filter(subtree_q(codes, "household__region__code"))


def intervention_events_for(user, intervention: Intervention) -> QuerySet:
    if not interventions_for(user).filter(pk=intervention.pk).exists():
        return InterventionEvent.objects.none()
    return intervention.events.select_related("actor")


def needs_condition(programme: Programme):
    """Whether a household (still) meets the programme's indicator numerator."""
    return criterion_condition(programme.indicator.numerator)


def _suppress(value: int, limit: int | None) -> int | None:
    return None if limit is not None and 0 < value <= limit else value


def programme_progress(user, programme: Programme) -> dict:
    """The programme's figures per village and in total, from its rollup rows. For the
    public, counts of 1..threshold are suppressed (None), totals too when small."""
    limit = suppression_for(user)
    rows = []
    totals = {"targets": 0, "confirmed_by_data": 0, "planned": 0, "realised": 0}
    totals_counts = dict.fromkeys(Status.values, 0)
    stats = ProgrammeVillageStat.objects.filter(programme=programme).select_related("region")
    for stat in stats.order_by("region__code"):
        counts = {status: stat.counts.get(status, 0) for status in Status.values}
        for status, value in counts.items():
            totals_counts[status] += value
        totals["targets"] += stat.targets
        totals["confirmed_by_data"] += stat.confirmed_by_data
        totals["planned"] += int(stat.planned)
        totals["realised"] += int(stat.realised)
        rows.append(
            {
                "region": stat.region.code,
                "name": stat.region.name,
                "targets": _suppress(stat.targets, limit),
                "counts": {key: _suppress(value, limit) for key, value in counts.items()},
                "confirmed_by_data": _suppress(stat.confirmed_by_data, limit),
                "planned": int(stat.planned) if limit is None else None,
                "realised": int(stat.realised) if limit is None else None,
            }
        )
    reached = totals_counts[Status.DONE] + totals_counts[Status.VERIFIED]
    totals["counts"] = {key: _suppress(value, limit) for key, value in totals_counts.items()}
    totals["targets"] = _suppress(totals["targets"], limit)
    if limit is not None:
        totals["planned"] = totals["realised"] = None
    target = programme.target_count
    return {
        "villages": rows,
        "totals": totals,
        "percent_done": round(100 * reached / target, 1) if target and limit is None else None,
    }


COVERAGE_LEVELS = ("desa", "kecamatan", "kabupaten")


def coverage_for(
    user, *, indicator: str, year: int, parent_code: str, level: str = "desa"
) -> list[dict]:
    """Per area of `level` under (or equal to) `parent_code`: households counted by the
    indicator (the rollup's numerator of the latest period) and those reached by an active
    intervention of any programme of that year addressing it ("belum tersentuh program" =
    the difference). Both from stored rows: the rollup's values and the villages'
    CoverageCell rows, summed upwards.

    For the public, a count of 1..threshold is suppressed; so is every figure of an area
    whose rollup value is suppressed (complementary suppression protects a sibling there),
    and an area above the village is suppressed when any of its villages is, so that no
    difference of published sums gives a hidden village away."""
    limit = suppression_for(user)
    period = latest_period()
    values = (
        IndicatorValue.objects.filter(indicator_id=indicator, period=period, region__level=level)
        .filter(subtree_q(parent_code, "region__code"))
        .select_related("region")
    )
    reached = dict(
        CoverageCell.objects.filter(indicator_id=indicator, year=year)
        .filter(subtree_q(parent_code, "region__code"))
        .values_list("region_id", "reached")
    )
    villages = {}
    if level != "desa" or limit is not None:
        villages = {
            value.region_id: value
            for value in IndicatorValue.objects.filter(
                indicator_id=indicator, period=period, region__level="desa"
            ).filter(subtree_q(parent_code, "region__code"))
        }

    def village_figures(code: str, value) -> tuple[int, int, bool]:
        counted = int(value.numerator)
        touched = min(reached.get(code, 0), counted)
        hidden = limit is not None and (
            value.suppressed or 0 < touched <= limit or 0 < counted - touched <= limit
        )
        return counted, touched, hidden

    rows = []
    for value in sorted(values, key=lambda v: v.region_id):
        code = value.region_id
        if level == "desa":
            counted, touched, hidden = village_figures(code, value)
        else:
            counted = int(value.numerator)
            below = [
                village_figures(child, village)
                for child, village in villages.items()
                if child.startswith(code + ".")
            ]
            touched = min(sum(figures[1] for figures in below), counted)
            hidden = limit is not None and (
                value.suppressed or any(figures[2] for figures in below)
            )
        untouched = counted - touched
        if hidden:
            rows.append(
                {
                    "region": code,
                    "name": value.region.name,
                    "counted": None,
                    "reached": None,
                    "untouched": None,
                }
            )
            continue
        rows.append(
            {
                "region": code,
                "name": value.region.name,
                "counted": _suppress(counted, limit),
                "reached": _suppress(touched, limit),
                "untouched": _suppress(untouched, limit),
            }
        )
    return rows


def double_aid_for(user, *, household_ids, programme: Programme) -> dict[int, list[dict]]:
    """For each of these households, the other programmes of the same indicator and year
    with an active intervention: what the warning names (programme and its SKPD)."""
    others = (
        interventions_for(user)
        .filter(
            household_id__in=list(household_ids),
            programme__indicator_id=programme.indicator_id,
            programme__year=programme.year,
            status__in=ACTIVE_STATUSES,
        )
        .exclude(programme=programme)
        .values("household_id", "programme__code", "programme__name", "programme__skpd__name")
    )
    found: dict[int, list[dict]] = {}
    for row in others:
        found.setdefault(row["household_id"], []).append(
            {
                "programme": row["programme__code"],
                "name": row["programme__name"],
                "skpd": row["programme__skpd__name"],
            }
        )
    return found


def double_aid_overlaps(user, *, year: int | None = None) -> list[dict]:
    """The report: households (in the caller's areas) with active interventions of two or
    more programmes for the same indicator and year."""
    queryset = interventions_for(user).filter(status__in=ACTIVE_STATUSES)
    if year is not None:
        queryset = queryset.filter(programme__year=year)
    groups = (
        queryset.values("household_id", "programme__indicator_id", "programme__year")
        .annotate(programmes=Count("programme", distinct=True))
        .filter(programmes__gt=1)
        .order_by("household_id")
    )
    rows = []
    for group in groups:
        programmes = queryset.filter(
            household_id=group["household_id"],
            programme__indicator_id=group["programme__indicator_id"],
            programme__year=group["programme__year"],
        ).values_list("programme__code", "programme__skpd__name")
        rows.append(
            {
                "household": group["household_id"],
                "indicator": group["programme__indicator_id"],
                "year": group["programme__year"],
                "programmes": [{"programme": c, "skpd": s} for c, s in programmes],
            }
        )
    return rows


def interventions_needing_revisit(user, programme: Programme) -> QuerySet:
    """Done or verified, but the household's record still shows the need: a revisit (or a
    re-survey) is due."""
    still = Household.objects.filter(pk=OuterRef("household_id")).filter(needs_condition(programme))
    return (
        interventions_for(user)
        .filter(
            programme=programme,
            status__in=(Status.DONE, Status.VERIFIED),
            confirmed_by_data_at__isnull=True,
        )
        .filter(Exists(still))
    )


def resolved_without_intervention(user, programme: Programme) -> QuerySet:
    """Households of the programme's frozen lists whose need is gone although no
    intervention of the programme was done for them."""
    done = Intervention.objects.filter(
        programme=programme,
        household_id=OuterRef("pk"),
        status__in=(Status.DONE, Status.VERIFIED),
    )
    targeted = programme.target_lists.values("targets__household_id")
    return (
        households_for(user)
        .filter(pk__in=targeted)
        .exclude(needs_condition(programme))
        .exclude(Exists(done))
    )


def programme_summaries(user) -> list[dict]:
    """Every programme with its totals from the rollup rows (one query over them, not
    over interventions); the public's small totals are suppressed (None)."""
    limit = suppression_for(user)
    totals: dict[int, dict] = {}
    for stat in ProgrammeVillageStat.objects.values("programme_id", "targets", "counts"):
        entry = totals.setdefault(
            stat["programme_id"], {"targets": 0, **dict.fromkeys(Status.values, 0)}
        )
        entry["targets"] += stat["targets"]
        for status, value in stat["counts"].items():
            entry[status] = entry.get(status, 0) + value
    rows = []
    for programme in programmes_for(user):
        entry = totals.get(programme.pk, {"targets": 0, **dict.fromkeys(Status.values, 0)})
        rows.append(
            {
                "programme": programme,
                "targets": _suppress(entry["targets"], limit),
                "approved": _suppress(entry[Status.APPROVED] + entry[Status.IN_PROGRESS], limit),
                "done": _suppress(entry[Status.DONE], limit),
                "verified": _suppress(entry[Status.VERIFIED], limit),
            }
        )
    return rows


def programme_areas(user) -> list[tuple[str, str]]:
    """(code, label) of the kabupaten, kecamatan and villages a programme of this caller
    may cover: within the caller's areas (administrators: all)."""
    codes = area_codes_for(user)
    regions = Region.objects.filter(level__in=("kabupaten", "kecamatan", "desa"))
    if codes is not None:
        regions = regions.filter(subtree_q(codes, "code")) if codes else regions.none()
    return [
        (region.code, f"{region.code} {region.name}")
        for region in regions.order_by("code").only("code", "name")
    ]


def freeze_areas(user, programme: Programme) -> list[tuple[str, str]]:
    """(code, label) of the kecamatan and villages under the programme's area that the
    caller may pick households from: what the freeze form offers."""
    codes = area_codes_for(user)
    regions = Region.objects.filter(subtree_q(programme.area_id, "code")).filter(
        level__in=("kecamatan", "desa")
    )
    if codes is not None:
        regions = regions.filter(subtree_q(codes, "code")) if codes else regions.none()
    return [
        (region.code, f"{region.code} {region.name}")
        for region in regions.order_by("code").only("code", "name")
    ]


def households_selected(user, criteria: dict) -> QuerySet:
    """The households the household list's filters select (the same filter set as GET
    /households/, so a criterion means the same everywhere), within the caller's areas.
    A bad or unknown filter is InvalidInput naming it as `criteria.<name>`."""
    known = set(HouseholdFilter.base_filters) - {"ordering"}
    unknown = sorted(set(criteria) - known)
    if unknown:
        raise InvalidInput({f"criteria.{name}": [_("Filter tidak dikenal.")] for name in unknown})
    selection = HouseholdFilter(data=criteria, queryset=households_for(user), user=user)
    try:
        valid = selection.is_valid()
    except InvalidInput as exc:
        raise InvalidInput(
            {f"criteria.{name}": errors for name, errors in exc.fields.items()}
        ) from None
    if not valid:
        raise InvalidInput(
            {f"criteria.{name}": list(errors) for name, errors in selection.errors.items()}
        )
    try:
        return selection.qs
    except InvalidInput as exc:
        raise InvalidInput(
            {f"criteria.{name}": errors for name, errors in exc.fields.items()}
        ) from None


def programme_timeline(user, programme: Programme) -> list[dict]:
    """Per month: interventions reaching each status, and the running total done or
    verified; from the month rows the services keep. Small counts suppressed for the
    public."""
    limit = suppression_for(user)
    months: dict[str, dict[str, int]] = {}
    for row in ProgrammeMonthStat.objects.filter(programme=programme).values(
        "month", "status", "count"
    ):
        months.setdefault(row["month"], {})[row["status"]] = row["count"]
    rows, reached = [], 0
    for month in sorted(months):
        counts = months[month]
        reached += counts.get(Status.DONE, 0)
        rows.append(
            {
                "month": month,
                "counts": [_suppress(counts.get(status, 0), limit) for status in Status.values],
                "reached": _suppress(reached, limit),
            }
        )
    return rows


def programme_outcomes(
    user,
    programme: Programme,
    *,
    from_period: str | None = None,
    to_period: str | None = None,
    closed_only: bool = False,
) -> dict:
    """For the households of the programme's target lists: the programme's indicator in
    the round before and the round after (default: the last two rounds), treated
    (an intervention done or verified) against targeted but not yet treated, per village
    and in total. A household counts where it was observed in both rounds and the
    indicator's denominator holds it at the first. Aggregates only; for the public a cell
    of 1..threshold households is suppressed whole. `closed_only` (the programme page):
    only closed rounds, read from the panel, never a count over the live households on a
    page view (issue 17); the API may ask for the open round too."""
    wanted = ("ditutup",) if closed_only else ("ditutup", "terbuka")
    rounds = [p["code"] for p in trend_periods() if p["status"] in wanted]
    if from_period is None or to_period is None:
        if len(rounds) < 2:
            return {"from_period": None, "to_period": None, "villages": [], "totals": None}
        from_period, to_period = rounds[-2], rounds[-1]
    targets = Target.objects.filter(target_list__programme=programme)
    definition, shares = household_shares_between(
        indicator=programme.indicator_id,
        from_period=from_period,
        to_period=to_period,
        household_ids=targets.values("household_id"),
    )
    treated = set(
        Intervention.objects.filter(
            programme=programme, status__in=[Status.DONE, Status.VERIFIED]
        ).values_list("household_id", flat=True)
    )
    limit = suppression_for(user)
    cells: dict[tuple[str, str], dict] = {}
    for household_id, (before, after) in shares.items():
        if before is None or after is None:
            continue
        if definition.denominator is not None and not (before[2] or 0) > 0:
            continue
        group = "treated" if household_id in treated else "not_yet"
        for area in (before[0], "total"):
            cell = cells.setdefault(
                (area, group), {"households": 0, "before": 0.0, "after": 0.0, "den": 0.0}
            )
            cell["households"] += 1
            cell["before"] += before[1]
            cell["after"] += after[1]
            cell["den"] += (before[2] or 0) if definition.denominator is not None else 1

    def shown(cell: dict | None) -> dict | None:
        if cell is None:
            return None
        if _suppress(cell["households"], limit) is None:
            return {"households": None, "before": None, "after": None, "change": None,
                    "suppressed": True}  # fmt: skip
        factor = definition.factor if definition.denominator is not None else 1
        before = cell["before"] / cell["den"] * factor if cell["den"] else None
        after = cell["after"] / cell["den"] * factor if cell["den"] else None
        return {
            "households": cell["households"],
            "before": before,
            "after": after,
            "change": None if before is None or after is None else after - before,
            "suppressed": False,
        }

    names = dict(
        Region.objects.filter(code__in={a for a, _g in cells if a != "total"}).values_list(
            "code", "name"
        )
    )
    villages = [
        {
            "region": code,
            "name": names.get(code, code),
            "treated": shown(cells.get((code, "treated"))),
            "not_yet": shown(cells.get((code, "not_yet"))),
        }
        for code in sorted({a for a, _g in cells if a != "total"})
    ]
    return {
        "indicator": definition.code,
        "higher_is_better": definition.higher_is_better,
        "from_period": from_period,
        "to_period": to_period,
        "villages": villages,
        "totals": {
            "treated": shown(cells.get(("total", "treated"))),
            "not_yet": shown(cells.get(("total", "not_yet"))),
        },
    }
