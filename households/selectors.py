"""Reads of household data. Views ask these functions; they never aggregate themselves."""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.gis.db import models
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.timezone import localtime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from desapresisi.access import (
    Disclosure,
    area_codes_for,
    can_view_names,
    disclose_event,
    disclose_household,
    disclose_member,
    disclose_unit,
    role_of,
)
from desapresisi.errors import InvalidInput
from desapresisi.masking import mask_number
from desapresisi.models import ChangeRecord, Role
from villages.codes import area_q, below_q, is_area_code, subtree_q
from villages.models import Level, Region, VillageUnit

from . import codebook as cb
from . import schema
from .indicators import suppression
from .indicators.approved import approved_cells, approved_villages
from .indicators.criteria import map_criteria
from .indicators.queries import members_with_age, spec_flags
from .indicators.spec import spec_q
from .indicators.trends import current_periods, period_codes
from .models import (
    AreaTotal,
    DataSource,
    EventKind,
    Household,
    Indicator,
    IndicatorValue,
    LifeEvent,
    Member,
    MemberStatus,
    TileCell,
    UnitIndicatorValue,
)

# --- Who sees which records: the kernel's area rule over the area-code subtree -----------


def _in_areas(user, queryset: QuerySet, field: str, *, rule=subtree_q) -> QuerySet:
    """The rows of `queryset` whose village (`field`, a code) lies in the caller's areas:
    all for administrators, none for callers without a role or without areas."""
    codes = area_codes_for(user)
    if codes is None:
        return queryset
    return queryset.filter(rule(codes, field)) if codes else queryset.none()


def households_for(user, queryset: QuerySet | None = None) -> QuerySet:
    """The households this user may see (named or as points). Every queryset of households
    passes through here: the API, the dashboard, tiles, exports, imports and the admin.
    The area rule as equalities on the code's leading characters (`area_q`), which the
    household table's per-level indexes serve in id order."""
    queryset = Household.objects.all() if queryset is None else queryset
    return _in_areas(user, queryset, "region_id", rule=area_q)


def members_for(user, queryset: QuerySet | None = None) -> QuerySet:
    queryset = Member.objects.all() if queryset is None else queryset
    return _in_areas(user, queryset, "household__region__code")


def tile_cells_for(user) -> QuerySet:
    """The map's cluster cells of the households this user may see (same areas)."""
    return _in_areas(user, TileCell.objects.all(), "region__code")


def can_edit_household(user, household: Household) -> bool:
    return households_editable_by(user).filter(pk=household.pk).exists()


def households_editable_by(user) -> QuerySet:
    """Households the caller may edit (can_edit_household, as a queryset): an
    administrator's are all, an operator's those of their areas, nobody else's any."""
    role = role_of(user)
    if role == Role.ADMIN:
        return Household.objects.all()
    if role != Role.OPERATOR:
        return Household.objects.none()
    return households_for(user)


# --- The register of life events: each side of an event is seen or not -----------------------


def _side_visible(codes: list[str] | None, prefix: str) -> Q:
    """An event's side (`""`: the household it happened in, `"other_"`: the other one of
    a transfer or split) lies in the caller's areas: the kernel's area rule over the
    snapshot of that side's village."""
    if codes is None:
        return Q(**{f"{prefix}region__isnull": False})
    return subtree_q(codes, f"{prefix}region__code") if codes else Q(pk__in=[])


def life_events_for(
    user,
    *,
    region: str | None = None,
    kinds: list[str] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    month: str | None = None,
    household: int | None = None,
) -> QuerySet:
    """The register's events this user may see: those with a side (the household it
    happened in, or the other household of a transfer or split) in the caller's areas.
    Each row is annotated with `household_visible`, `other_visible` (which sides) and
    `member_visible` (the member row is in the caller's areas now): `life_event_rows`
    shows only those.

    Filters, each on the visible sides only (a filter never tells anything about a side
    the caller may not see): `region` (an area code and its subtree), `household` (either
    side), `kinds`, `month` ("YYYY-MM") and, for roles that see names (the date of a birth
    is a birth date), `date_from`/`date_to`. Bad values are a InvalidInput naming the
    parameter."""
    codes = area_codes_for(user)
    own, other = _side_visible(codes, ""), _side_visible(codes, "other_")
    queryset = (
        LifeEvent.objects.filter(own | other)
        .annotate(
            household_visible=ExpressionWrapper(own, output_field=BooleanField()),
            other_visible=ExpressionWrapper(other, output_field=BooleanField()),
            member_visible=Exists(members_for(user).filter(pk=OuterRef("member_id"))),
        )
        .order_by("-id")
    )
    if region is not None:
        if not is_area_code(region):
            raise InvalidInput(
                {"region": _("Kode wilayah tidak valid: %(code)s") % {"code": repr(region)}}
            )
        queryset = queryset.filter(
            (own & subtree_q(region, "region__code"))
            | (other & subtree_q(region, "other_region__code"))
        )
    if household is not None:
        queryset = queryset.filter(
            (own & Q(household_id=household)) | (other & Q(other_household_id=household))
        )
    if kinds:
        unknown = sorted(set(kinds) - set(EventKind.values))
        if unknown:
            raise InvalidInput(
                {
                    "kind": _("Jenis peristiwa tidak dikenal: %(kind)s.")
                    % {"kind": ", ".join(unknown)}
                }
            )
        queryset = queryset.filter(kind__in=kinds)
    if month is not None:
        try:
            first = dt.date.fromisoformat(f"{month}-01")
        except ValueError:
            raise InvalidInput({"bulan": _("Format: YYYY-MM.")}) from None
        queryset = queryset.filter(tanggal__year=first.year, tanggal__month=first.month)
    dates = {"tanggal_dari": date_from, "tanggal_sampai": date_to}
    asked = [name for name, value in dates.items() if value is not None]
    if asked and not can_view_names(user):
        raise InvalidInput(
            {
                name: [_("Anda tidak berhak menyaring atau mengurutkan menurut %(field)s.")
                       % {"field": "tanggal"}]
                for name in asked
            }
        )  # fmt: skip
    if date_from is not None:
        queryset = queryset.filter(tanggal__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(tanggal__lte=date_to)
    return queryset


LIFE_EVENT_VALUES = (
    "id", "kind", "tanggal", "member_id", "member__nama", "member__nik", "nama", "nik",
    "jenis_kelamin", "household_id", "region_id", "dusun", "rw", "rt", "other_household_id",
    "other_region_id", "other_dusun", "other_rw", "other_rt", "asal_tujuan", "actor", "dicatat",
    "household_visible", "other_visible", "member_visible",
)  # fmt: skip
_SIDES = {
    "household_visible": ("household", "region", "dusun", "rw", "rt"),
    "other_visible": ("other_household", "other_region", "other_dusun", "other_rw", "other_rt"),
}


def life_event_rows(events, disclosure: Disclosure) -> list[dict]:
    """Rows of `life_events_for(...).values(*LIFE_EVENT_VALUES)` (a page of them), as the
    caller may see them: a side outside the caller's
    areas is empty (no id, village or dusun); the member's id, name and NIK are the
    member's now when the member is in the caller's areas, else the name and NIK the
    event recorded (what the caller's village knew); then the disclosure policy (names
    and numbers per role, NIK masked, the date only as its month without names)."""
    rows = []
    for values in events:
        row = {
            "id": values["id"],
            "kind": values["kind"],
            "tanggal": values["tanggal"],
            "bulan": values["tanggal"].strftime("%Y-%m"),
            "member": values["member_id"] if values["member_visible"] else None,
            "nik": values["member__nik"] if values["member_visible"] else values["nik"],
            "nama": values["member__nama"] if values["member_visible"] else values["nama"],
            "jenis_kelamin": values["jenis_kelamin"],
        }
        for flag, fields in _SIDES.items():
            for field in fields:
                column = f"{field}_id" if field.endswith(("household", "region")) else field
                row[field] = values[column] if values[flag] else None
        row["asal_tujuan"] = values["asal_tujuan"]
        row["actor"] = _actor(values["actor"])
        row["dicatat"] = values["dicatat"]
        rows.append(disclose_event(row, disclosure))
    return rows


# The rollup's plain counts of households and people (households/data/indicators.json).
HOUSEHOLDS_INDICATOR = "jumlah_rumah_tangga"
PEOPLE_INDICATOR = "jumlah_jiwa"


def area_summaries(*, parent_code: str) -> list[dict]:
    """Household and people totals of each area directly below `parent_code`, in the
    periods that describe the current households (`current_periods`), read from the rollup
    (never counted live from the households)."""
    rows = (
        IndicatorValue.objects.filter(
            region__parent_id=parent_code,
            indicator_id__in=[HOUSEHOLDS_INDICATOR, PEOPLE_INDICATOR],
            period__in=current_periods(),
        )
        .values("region_id", "indicator_id")
        .annotate(total=Sum("numerator"))
        .order_by()
    )
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        totals.setdefault(row["region_id"], {})[row["indicator_id"]] = round(row["total"] or 0)
    return [
        {
            "code": region["code"],
            "name": region["name"],
            "households": totals.get(region["code"], {}).get(HOUSEHOLDS_INDICATOR, 0),
            "members": totals.get(region["code"], {}).get(PEOPLE_INDICATOR, 0),
        }
        for region in Region.objects.filter(parent_id=parent_code)
        .order_by("code")
        .values("code", "name")
    ]


# The public sees areas down to the village; `suppressed` is added to every row.
VALUE_COLUMNS = (
    "indicator", "area_code", "area_name", "level", "period", "numerator", "denominator", "value",
)  # fmt: skip
# The rollup's fields behind VALUE_COLUMNS, in the same order.
_VALUE_FIELDS = (
    "indicator_id", "region_id", "region__name", "region__level", "period", "numerator",
    "denominator", "value",
)  # fmt: skip
_CHILD_LEVEL = {2: Level.KABUPATEN, 5: Level.KECAMATAN, 8: Level.DESA}

# Per request, for a limit the rollup has not stored: the wanted rows, their whole sibling
# groups, and the rule of households/indicators/suppression.py over them.
_LIVE_SQL = """
WITH wanted (indicator_id, region_id, name, level, period, numerator, denominator, value,
             parent_id) AS ({wanted}),
groups AS MATERIALIZED (
    SELECT DISTINCT w.indicator_id, w.period, w.parent_id FROM wanted w
),
siblings AS MATERIALIZED (
    -- Every child of the groups' parents, for the groups' indicators and periods (a pair
    -- from two groups may add a whole group nobody asked for: harmless, it is whole).
    SELECT s.indicator_id, s.period, sr.parent_id, s.region_id, s.numerator,
           {small_s} AS small
    FROM villages_region sr
    JOIN households_indicatorvalue s ON s.region_id = sr.code
    WHERE (sr.parent_id IN (SELECT g.parent_id FROM groups g)
           OR (sr.parent_id IS NULL AND sr.code IN (SELECT w.region_id FROM wanted w)))
      AND (s.indicator_id, s.period) IN (SELECT g.indicator_id, g.period FROM groups g)
),
{ranked},
hidden AS MATERIALIZED (
    SELECT r.indicator_id, r.period, r.region_id FROM ranked r WHERE {hidden}
)
SELECT w.indicator_id, w.region_id, w.name, w.level, w.period, w.numerator, w.denominator,
       w.value, h.region_id IS NOT NULL
FROM wanted w
LEFT JOIN hidden h
  ON h.indicator_id = w.indicator_id AND h.period = w.period AND h.region_id = w.region_id
ORDER BY w.indicator_id, w.period, w.region_id
"""


def indicator_values_for(
    *,
    indicators: list[str],
    areas: list[str] | None = None,
    level: str | None = None,
    parent: str | None = None,
    periods: list[str] | None = None,
    suppress_up_to: int | None = None,
    approved_only: bool = False,
) -> list[dict]:
    """Rows of the rollup: indicator, area_code, area_name, level, period, numerator,
    denominator, value, suppressed. `parent` selects the areas below it (at `level`, or
    one level down when no level is given). With `suppress_up_to`, small cells are hidden
    (households/indicators/suppression.py). Unknown indicator codes are a InvalidInput.

    `approved_only`: the figures of approved villages only (households/indicators/
    approved.py), each row with `villages` and `approved_villages` below (or at) it."""
    queryset = IndicatorValue.objects.filter(indicator_id__in=indicators)
    if areas:
        queryset = queryset.filter(region_id__in=areas)
    if parent:
        if not is_area_code(parent):
            raise InvalidInput(
                {"parent": _("Kode wilayah tidak valid: %(code)s") % {"code": repr(parent)}}
            )
        queryset = queryset.filter(below_q(parent, "region__code"))
        level = level or _CHILD_LEVEL.get(len(parent))
    if level:
        queryset = queryset.filter(region__level=level)
    if periods:
        queryset = queryset.filter(period__in=periods)
    limit = suppress_up_to or 0
    rows = _value_rows(queryset, limit)
    _check_indicator_codes(indicators, {row[0] for row in rows})
    if approved_only:
        return _approved_rows(rows, limit)
    result = []
    for *values, suppressed in rows:
        row = dict(zip(VALUE_COLUMNS, values, strict=True))
        result.append(_disclosed_value(row, suppressed, limit))
    return result


def _value_rows(queryset, limit: int) -> list[tuple]:
    """(*VALUE_COLUMNS, hidden) of the rollup rows of `queryset`, figures as stored."""
    rows = list(
        queryset.order_by("indicator_id", "period", "region_id").values_list(
            *_VALUE_FIELDS, "suppressed", "suppression_limit"
        )
    )
    if limit and any(row[-1] != limit for row in rows):
        # The rollup stored another limit (or none yet): decide here, same rule.
        return [tuple(row) for row in _live_suppression(queryset, limit)]
    return [(*row[:-2], bool(limit and row[-2])) for row in rows]


def _disclosed_value(row: dict, suppressed: bool, limit: int) -> dict:
    row["suppressed"] = bool(limit and suppressed)
    # Why a figure is missing, so that an integration can say so: the cell is itself
    # small (primary), or it would give a small sibling away by subtraction from the
    # parent's total (secondary).
    row["suppression_reason"] = None
    row["suppression_threshold"] = None
    if row["suppressed"]:
        own_small = any(1 <= (row[key] or 0) <= limit for key in ("numerator", "denominator"))
        row["suppression_reason"] = "primary" if own_small else "secondary"
        row["suppression_threshold"] = limit
        row["numerator"] = row["denominator"] = row["value"] = None
    return row


def _approved_rows(rows: list[tuple], limit: int) -> list[dict]:
    """The asked rows as approved-only figures: village rows from the rollup's villages,
    sums above them, suppressed by the rule of households/indicators/approved.py."""
    if not rows:
        return []
    wanted = [dict(zip(VALUE_COLUMNS, values, strict=True)) for *values, _hidden in rows]
    indicators = {
        i.code: i for i in Indicator.objects.filter(code__in={row["indicator"] for row in wanted})
    }
    periods = sorted({row["period"] for row in wanted})
    approved = {period: approved_villages(period) for period in periods}
    # Every village under the asked areas (kabupaten prefixes are enough to hold them).
    prefixes = sorted({row["area_code"][:5] for row in wanted})
    below = Q()
    for prefix in prefixes:
        below |= Q(region__code__startswith=prefix)
    village_rows = _value_rows(
        IndicatorValue.objects.filter(
            indicator_id__in=list(indicators), period__in=periods, region__level=Level.DESA
        ).filter(below),
        limit,
    )
    grouped: dict[tuple[str, str], list] = {}
    for (
        indicator,
        code,
        _name,
        _level,
        period,
        numerator,
        denominator,
        _value,
        hidden,
    ) in village_rows:
        grouped.setdefault((indicator, period), []).append((code, numerator, denominator, hidden))
    cells = {
        key: approved_cells(
            villages,
            approved=approved[key[1]],
            limit=limit or None,
            has_denominator=indicators[key[0]].denominator is not None,
        )
        for key, villages in grouped.items()
    }
    result = []
    for row in wanted:
        indicator = indicators[row["indicator"]]
        cell = cells.get((row["indicator"], row["period"]), {}).get(row["area_code"])
        row["villages"] = cell.villages if cell else 0
        row["approved_villages"] = cell.approved if cell else 0
        if cell is None or not cell.approved:
            row["numerator"] = row["denominator"] = row["value"] = None
            result.append(_disclosed_value(row, False, limit))
            continue
        row["numerator"], row["denominator"] = cell.numerator, cell.denominator
        if indicator.denominator is None:
            row["value"] = cell.numerator * indicator.factor
        elif cell.denominator:
            row["value"] = cell.numerator / cell.denominator * indicator.factor
        else:
            row["value"] = None
        result.append(_disclosed_value(row, cell.hidden, limit))
    return result


def _live_suppression(queryset, limit: int) -> list[tuple]:
    wanted = queryset.order_by().values_list(*_VALUE_FIELDS, "region__parent_id")
    try:
        wanted_sql, wanted_params = wanted.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        # The inner query's values are bound by psycopg2 and escaped for the outer query's
        # named parameters (the same technique as the tiles).
        inner = cursor.mogrify(wanted_sql, wanted_params).decode().replace("%", "%%")
        sql = _LIVE_SQL.format(
            wanted=inner,
            small_s=suppression.small("s"),
            ranked=suppression.ranked_cte("siblings"),
            hidden=suppression.HIDDEN,
        )
        cursor.execute(sql, {"limit": limit})
        return cursor.fetchall()


def _check_indicator_codes(indicators: list[str], found: set[str]) -> None:
    """Codes with no values are either unknown (an error) or not computed yet (no rows).
    Only those are looked up, so a normal request costs no extra query."""
    missing = set(indicators) - found
    if not missing:
        return
    known = set(Indicator.objects.filter(code__in=missing).values_list("code", flat=True))
    if unknown := missing - known:
        raise InvalidInput(
            {"indicator": _("Indikator tidak dikenal: %(code)s") % {"code": sorted(unknown)}}
        )


INDICATOR_FIELDS = (
    "code", "name_id", "name_en", "description_id", "description_en", "topic", "unit",
    "factor", "higher_is_better", "sort_order", "denominator",
)  # fmt: skip


def kabupaten_overview(*, code: str) -> dict | None:
    """The kabupaten with every kecamatan and their household and people totals (from the
    rollup), or None when the kabupaten is not loaded."""
    kabupaten = Region.objects.filter(code=code, level=Level.KABUPATEN).values("code", "name")
    kabupaten = kabupaten.first()
    if kabupaten is None:
        return None
    kecamatan = area_summaries(parent_code=code)
    return {
        **kabupaten,
        "kecamatan": kecamatan,
        "households": sum(row["households"] for row in kecamatan),
        "members": sum(row["members"] for row in kecamatan),
        # Whether the page must carry the synthetic-data label: provenance, not records.
        "synthetic": holds_synthetic(code=code),
    }


def holds_synthetic(*, code: str) -> bool:
    """Whether the area holds households of the synthetic demo census, from the stored
    totals (AreaTotal, kept by the rollup), not from the households."""
    return AreaTotal.objects.filter(region_id=code, synthetic__gt=0).exists()


def home_area_for(*, user, default: str) -> tuple[str, str]:
    """What the home page shows this caller: ("village", code) for a caller who serves one
    village (an operator), else ("kabupaten", code): the kabupaten of the caller's areas
    (the default one among them first), `default` for the public and administrators."""
    codes = area_codes_for(user)
    if not codes:
        return ("kabupaten", default)
    if len(codes) == 1 and Region.objects.filter(code=codes[0], level=Level.DESA).exists():
        return ("village", codes[0])
    kabupaten = sorted({code[:5] for code in codes if len(code) >= 5})
    if default in kabupaten or any(default.startswith(code + ".") for code in codes):
        return ("kabupaten", default)
    if kabupaten:
        return ("kabupaten", kabupaten[0])
    # Provinces only: their first loaded kabupaten.
    first = (
        Region.objects.filter(level=Level.KABUPATEN, parent_id__in=codes)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    return ("kabupaten", first or default)


def village_overview(*, code: str) -> dict | None:
    """A village (desa/kelurahan) with its kecamatan and kabupaten, or None when the code
    is not a loaded village."""
    village = (
        Region.objects.filter(code=code, level=Level.DESA)
        .values(
            "code",
            "name",
            "kind",
            "area_km2",
            "parent__code",
            "parent__name",
            "parent__parent__code",
            "parent__parent__name",
        )
        .first()
    )
    if village is None:
        return None
    return {
        "code": village["code"],
        "name": village["name"],
        "kind": village["kind"],
        "area_km2": village["area_km2"],
        "kecamatan": {"code": village["parent__code"], "name": village["parent__name"]},
        "kabupaten": {
            "code": village["parent__parent__code"],
            "name": village["parent__parent__name"],
        },
        # Whether the page must carry the synthetic-data label: provenance, not records.
        "synthetic": holds_synthetic(code=code),
    }


def indicator_catalogue(*, language: str) -> list[dict]:
    """Active indicator definitions in display order, with `name` and `description` in
    the given language and whether each is a ratio (has a denominator)."""
    english = language.startswith("en")
    rows = Indicator.objects.filter(active=True).order_by("sort_order", "code")
    catalogue = []
    for row in rows.values(*INDICATOR_FIELDS):
        denominator = row.pop("denominator")
        catalogue.append(
            {
                **row,
                "name": row["name_en"] if english else row["name_id"],
                "description": row["description_en"] if english else row["description_id"],
                "ratio": denominator is not None,
            }
        )
    return catalogue


def counting_indicator_codes() -> list[str]:
    """Active indicators whose numerator counts households or members (not a sum): the
    ones a programme's coverage ("belum tersentuh program") can be read against."""
    return [
        code
        for code, numerator in Indicator.objects.filter(active=True)
        .order_by("sort_order", "code")
        .values_list("code", "numerator")
        if numerator.get("aggregate", "count") == "count"
    ]


def map_criteria_catalogue(*, language: str) -> list[dict]:
    """The map's criteria (indicator code and name in the language), default first."""
    return [{"code": c.code, "name": c.name(language)} for c in map_criteria()]


def latest_period() -> str | None:
    """The most recent period that has indicator values (the latest round by reference
    date; without rounds, the latest survey year)."""
    periods = period_codes()
    return periods[-1] if periods else None


# --- One household as a page: answers, derived values, members, indicators, history ------

# What the page lists as answers: every field the survey asked (and who it is about).
_ANSWER_CATEGORIES = (schema.IDENTITY, schema.NAMED, schema.CODED, schema.ANSWER)
# Keys of a change record that tell the reader nothing (the row and its household).
_HISTORY_SKIPPED = {schema.HOUSEHOLD: {"id"}, schema.MEMBER: {"id", "household_id"}}
# hubungan_keluarga of the head of the household (Member.is_head).
HEAD_OF_HOUSEHOLD = 1
_ACTOR = re.compile(r"^\d+:(?P<username>.*)@[^@]*$")


def named_village_for(*, user, code: str) -> Region | None:
    """The village (desa/kelurahan) `code` if the caller may see its named records (a role
    with names, the village within the caller's areas: the same area rule as
    households_for), else None. Pages about one village's people ask it (the monthly
    population report: per dusun, a month's births and deaths are small counts)."""
    if not can_view_names(user):
        return None
    return _in_areas(user, Region.objects.filter(code=code, level=Level.DESA), "code").first()


def editable_household_by_kk(*, user, no_kk: str) -> int | None:
    """The id of the household with No. KK `no_kk` if the caller may edit it, else None
    (not found and not the caller's read alike)."""
    no_kk = (no_kk or "").strip()
    if not no_kk:
        return None
    return households_editable_by(user).filter(no_kk=no_kk).values_list("pk", flat=True).first()


def editable_village_for(*, user, code: str) -> Region | None:
    """The village (desa/kelurahan) `code` if the caller may add households to it: an
    administrator any village, an operator the villages of their areas (the same rule as
    households_editable_by), nobody else any."""
    villages = Region.objects.filter(code=code, level=Level.DESA)
    role = role_of(user)
    if role == Role.ADMIN:
        return villages.first()
    if role != Role.OPERATOR:
        return None
    return _in_areas(user, villages, "code").first()


def named_household_visible(*, user, pk: int) -> bool:
    """Whether the caller may open this household's named record: a role with names
    (desapresisi.access) and the household within the caller's areas."""
    return can_view_names(user) and households_for(user).filter(pk=pk).exists()


def _label(entry: schema.CatalogueField) -> str:
    if entry.field is None:
        return capfirst(_("umur")) if entry.name == "umur" else entry.name
    field = entry.field.output_field if entry.generated else entry.field
    return capfirst(str(field.verbose_name))


def _coordinates(value, decimals: int) -> str:
    """`lat, lon` of a Point, a [lon, lat] pair or a GeoJSON point (the history's form)."""
    if isinstance(value, dict):
        value = value.get("coordinates") or []
    elif hasattr(value, "coords"):
        value = value.coords
    if len(value) != 2:
        return str(value)
    lon, lat = (round(float(part), decimals) for part in value)
    return f"{lat}, {lon}"


def _text(entry: schema.CatalogueField, value, disclosure: Disclosure) -> str:
    """A stored (or recorded) value as a reader sees it: codes and choices by their
    label, yes/no, dates in the page's language, points as `lat, lon`."""
    if value is None or value == "":
        return ""
    field = entry.field.output_field if entry.generated else entry.field
    if entry.variable:
        return cb.label(entry.variable, value)
    if entry.choices:
        return str(dict(entry.choices).get(value, value))
    if isinstance(field, models.PointField):
        return _coordinates(value, disclosure.coordinate_decimals)
    if isinstance(value, bool):
        return _("Ya") if value else _("Tidak")
    if isinstance(field, models.DateTimeField):
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
        return date_format(localtime(moment), "DATETIME_FORMAT")
    if isinstance(field, models.DateField):
        day = dt.date.fromisoformat(value) if isinstance(value, str) else value
        return date_format(day)
    return str(value)


def _item(entry: schema.CatalogueField, value, disclosure: Disclosure) -> dict:
    return {
        "name": entry.name,
        "label": _label(entry),
        "text": _text(entry, value, disclosure),
        "code": value if entry.variable else None,
    }


def household_editors_since(*, pk: int, since: dt.datetime | None) -> list[dict]:
    """Who changed this household (or its members) since `since`, each with the time of
    their last change, oldest first: what a conflict tells the operator who was faster.
    Usernames only, as on the household page."""
    if since is None:
        return []
    latest: dict[str, dt.datetime] = {}
    records = ChangeRecord.objects.filter(household_id=pk, at__gte=since).order_by("at")
    for actor, at in records.values_list("actor", "at"):
        latest[_actor(actor)] = at
    return [{"actor": actor, "at": at} for actor, at in latest.items()]


def _actor(label: str) -> str:
    """The username of a change record's actor (`<id>:<username>@<address>`); the
    address stays in the record, for the audit, not on the page."""
    match = _ACTOR.match(label or "")
    if match:
        return match.group("username")
    return label or _("sistem (impor atau pemeliharaan)")


def _counting_indicators(pk: int, members: QuerySet, names: dict[int, str]) -> list[dict]:
    """The active indicators whose numerator counts this household, or some of its
    members (which ones), evaluated with the rollup's own specs. A numerator without a
    condition (every household, every person) says nothing about this one: left out."""
    english = (get_language() or "id").startswith("en")
    indicators = [
        row
        for row in Indicator.objects.filter(active=True)
        .order_by("sort_order", "code")
        .values("code", "name_id", "name_en", "numerator")
        if spec_q(row["numerator"])
    ]
    specs = {schema.HOUSEHOLD: {}, schema.MEMBER: {}}
    for index, row in enumerate(indicators):
        specs[row["numerator"]["unit"]][f"i{index}"] = row["numerator"]
    household_flags: dict = {}
    if specs[schema.HOUSEHOLD]:
        queryset = spec_flags(specs[schema.HOUSEHOLD], Household.objects.filter(pk=pk))
        household_flags = queryset.values(*specs[schema.HOUSEHOLD]).first() or {}
    member_flags: list[dict] = []
    if specs[schema.MEMBER]:
        queryset = spec_flags(specs[schema.MEMBER], members_with_age(members))
        member_flags = list(queryset.values("id", *specs[schema.MEMBER]))
    counting = []
    for index, row in enumerate(indicators):
        alias = f"i{index}"
        counted = [names.get(flags["id"], "") for flags in member_flags if flags.get(alias)]
        if household_flags.get(alias) or counted:
            counting.append(
                {
                    "code": row["code"],
                    "name": row["name_en"] if english else row["name_id"],
                    "unit": row["numerator"]["unit"],
                    "members": counted,
                }
            )
    return counting


def _history(pk: int, disclosure: Disclosure, names: dict[int, str]) -> list[dict]:
    """Every change record of the household and its members, newest first, each column
    as `old -> new` in the reader's words; identity numbers masked unless unmasked."""
    entries = {
        unit: {entry.column: entry for entry in schema.catalogue(unit) if entry.stored}
        for unit in (schema.HOUSEHOLD, schema.MEMBER)
    }
    # Whole sentences, so that a translation can order its words as it needs.
    what = {
        (schema.HOUSEHOLD, "insert"): _("Rumah tangga ditambahkan"),
        (schema.HOUSEHOLD, "update"): _("Rumah tangga diubah"),
        (schema.HOUSEHOLD, "delete"): _("Rumah tangga dihapus"),
        (schema.MEMBER, "insert"): _("Anggota ditambahkan: %(name)s"),
        (schema.MEMBER, "update"): _("Anggota diubah: %(name)s"),
        (schema.MEMBER, "delete"): _("Anggota dihapus: %(name)s"),
    }
    records = ChangeRecord.objects.filter(household_id=pk).order_by("-at", "-id")
    timeline = []
    for record in records.values("id", "at", "actor", "table", "row_id", "action", "changes"):
        unit = record["table"] if record["table"] in entries else schema.HOUSEHOLD
        changes = record["changes"] or {}
        columns = [column for column in entries[unit] if column in changes]
        columns += sorted(set(changes) - set(entries[unit]))
        items = []
        for column in columns:
            if column in _HISTORY_SKIPPED[unit]:
                continue
            entry = entries[unit].get(column)
            old, new = changes[column]
            if entry is None:
                items.append({"label": column, "old": _raw(old), "new": _raw(new)})
                continue
            if entry.category == schema.IDENTITY and not disclosure.unmasked:
                old, new = mask_number(old), mask_number(new)
            items.append(
                {
                    "label": _label(entry),
                    "old": _text(entry, old, disclosure),
                    "new": _text(entry, new, disclosure),
                }
            )
        # A member's name now, or as the record has it (a removed member), or its id.
        name = names.get(record["row_id"]) or next(
            (value for value in changes.get("nama", []) if value), f"#{record['row_id']}"
        )
        sentence = what.get((unit, record["action"]))
        summary = sentence % {"name": name} if sentence else f"{unit} {record['action']}"
        timeline.append(
            {
                "id": record["id"],
                "at": record["at"],
                "actor": _actor(record["actor"]),
                "action": record["action"],
                "summary": summary,
                "changes": items,
            }
        )
    return timeline


def _household_events(user, pk: int, disclosure: Disclosure) -> list[dict]:
    """The household's life events, newest first, as sentences of the page: the kind in
    the reader's words, the member, the place outside the portal, and the other household
    of a transfer or split (its id and masked No. KK when the caller may open it, else
    only that it lies outside the caller's areas)."""
    events = life_events_for(user, household=pk).order_by("-tanggal", "-id")
    rows = life_event_rows(events.values(*LIFE_EVENT_VALUES), disclosure)
    others = {
        row["other_household"] if row["household"] == pk else row["household"] for row in rows
    } - {None}
    numbers = dict(households_for(user).filter(pk__in=others).values_list("pk", "no_kk"))
    events = []
    for row in rows:
        here = "origin" if row["household"] == pk else "other"
        other = row["other_household"] if here == "origin" else row["household"]
        sentence = _EVENT_SENTENCES.get((row["kind"], here)) or _EVENT_SENTENCES[(row["kind"], "")]
        kk = numbers.get(other)
        events.append(
            {
                "id": row["id"],
                "date": row["tanggal"],
                "kind": row["kind"],
                "label": EventKind(row["kind"]).label,
                "summary": sentence() % {"name": row["nama"] or _("(tanpa nama)")},
                "place": row["asal_tujuan"],
                "member": row["member"],
                "other": other if kk else None,
                "other_kk": mask_number(kk) if kk else "",  # a link: its page unmasks
                "other_hidden": row["kind"] in ("pindah_kk", "pecah_kk") and not kk,
                "actor": row["actor"],
            }
        )
    return events


# Whole sentences per kind (and side of a transfer or split), for translations to order.
_EVENT_SENTENCES = {
    ("lahir", ""): lambda: _("%(name)s lahir"),
    ("meninggal", ""): lambda: _("%(name)s meninggal"),
    ("pindah_keluar", ""): lambda: _("%(name)s pindah keluar"),
    ("pindah_masuk", ""): lambda: _("%(name)s pindah masuk"),
    ("pindah_kk", "origin"): lambda: _("%(name)s pindah ke rumah tangga lain"),
    ("pindah_kk", "other"): lambda: _("%(name)s pindah masuk dari rumah tangga lain"),
    ("pecah_kk", "origin"): lambda: _("%(name)s keluar membentuk KK baru"),
    ("pecah_kk", "other"): lambda: _("%(name)s masuk KK baru ini, pecah dari KK asal"),
    ("ganti_kepala", ""): lambda: _("%(name)s menjadi kepala keluarga"),
}


def _raw(value) -> str:
    return "" if value is None else str(value)


def household_page_data(*, user, pk: int, disclosure: Disclosure) -> dict | None:
    """What the household page shows, or None when the caller may not open it (a role
    without names, or a household outside their areas: the page does not exist for them).

    Every list of fields is the catalogue's (households.schema): the answers with their
    codebook labels, the derived values, the members; then the active indicators that
    count the household (or which of its members), and its change history."""
    if not disclosure.names or not can_view_names(user):
        return None
    household_entries = [entry for entry in schema.catalogue(schema.HOUSEHOLD) if entry.stored]
    row = (
        households_for(user)
        .filter(pk=pk)
        .values(*(entry.column for entry in household_entries))
        .first()
    )
    if row is None:
        return None
    point = row["lokasi"]
    row = disclose_household({**row, "lokasi": list(point.coords) if point else None}, disclosure)

    # The name first (a member's card is headed by it), then the catalogue's order.
    member_entries = sorted(
        (
            entry
            for entry in schema.catalogue(schema.MEMBER)
            if entry.category in (*_ANSWER_CATEGORIES, schema.DERIVED)
        ),
        key=lambda entry: entry.name != "nama",
    )
    members = members_for(user).filter(household_id=pk)
    member_rows = [
        disclose_member(member, disclosure)
        # Everyone, with status and date: the record keeps who died or moved out.
        for member in members_with_age(members, current_only=False)
        .order_by("hubungan_keluarga", "tanggal_lahir", "id")
        .values("id", *(entry.column for entry in member_entries))
    ]
    names = {member["id"]: member["nama"] for member in member_rows}

    def items(category_test) -> list[dict]:
        return [
            _item(entry, row[entry.column], disclosure)
            for entry in household_entries
            if category_test(entry.category)
        ]

    return {
        "id": pk,
        "no_kk": row["no_kk"],
        "village": village_overview(code=row["region_id"]),
        "point": row["lokasi"],
        "point_text": _coordinates(row["lokasi"], disclosure.coordinate_decimals)
        if row["lokasi"]
        else "",
        "synthetic": row["sumber_data"] == DataSource.SYNTHETIC,
        "source": _text(
            schema.field(schema.HOUSEHOLD, "sumber_data"), row["sumber_data"], disclosure
        ),
        "survey_date": row["tanggal_survei"],
        "changed": row["diubah"],
        "version": row[schema.LOCK],
        "answers": items(lambda category: category in _ANSWER_CATEGORIES),
        "derived": items(lambda category: category == schema.DERIVED),
        "member_columns": [
            {"name": entry.name, "label": _label(entry)} for entry in member_entries
        ],
        "members": [
            {
                "id": member["id"],
                "nama": member["nama"],
                "head": member["hubungan_keluarga"] == HEAD_OF_HOUSEHOLD,
                "current": member["status_anggota"] == MemberStatus.CURRENT,
                "cells": [
                    _item(entry, member[entry.column], disclosure) for entry in member_entries
                ],
            }
            for member in member_rows
        ],
        "indicators": _counting_indicators(pk, members, names),
        "history": _history(pk, disclosure, names),
        "events": _household_events(user, pk, disclosure),
    }


# --- Below the village: the per-unit rollup (dusun, RW, RT) --------------------------------

UNIT_LEVELS = {"dusun": 1, "rw": 2, "rt": 3}


def village_units_for(*, user, code: str) -> list[dict] | None:
    """The units of village `code` in tree order (each dusun, then its RWs and their RTs),
    each with `path` (names from the dusun down) and `depth`; None when `code` is not a
    village. The head's name is personal (the disclosure policy): only for a caller who
    may see this village's named records, else None."""
    village = Region.objects.filter(code=code, level=Level.DESA).first()
    if village is None:
        return None
    named = named_village_for(user=user, code=code) is not None
    units = list(
        VillageUnit.objects.filter(region_id=code).values(
            "id", "kind", "name", "parent_id", "kepala"
        )
    )
    children: dict[int | None, list[dict]] = {}
    for unit in units:
        children.setdefault(unit["parent_id"], []).append(unit)
    ordered: list[dict] = []

    def walk(parent: int | None, path: list[str], depth: int) -> None:
        kids = sorted(
            children.get(parent, []), key=lambda u: (UNIT_LEVELS[u["kind"]], u["name"].casefold())
        )
        for unit in kids:
            unit["path"] = " / ".join([*path, unit["name"]])
            unit["depth"] = depth
            unit["parent"] = unit.pop("parent_id")
            ordered.append(disclose_unit(unit, names=named))
            walk(unit["id"], [*path, unit["name"]], depth + 1)

    walk(None, [], 0)
    return ordered


UNIT_VALUE_FIELDS = ("indicator_id", "unit_id", "period", "numerator", "denominator", "value")


def unit_indicator_values_for(
    *,
    code: str,
    units: list[dict],
    indicators: list[str] | None = None,
    periods: list[str] | None = None,
    suppress_up_to: int | None = None,
) -> list[dict]:
    """Rows of the per-unit rollup of village `code` (read, never counted here): indicator,
    unit, period, numerator, denominator, value, suppressed and why. `units` is
    `village_units_for`'s list (the order of the rows). With `suppress_up_to`, small cells
    are hidden by the rule of households/indicators/suppression.py (units_hidden)."""
    queryset = UnitIndicatorValue.objects.filter(region_id=code)
    if indicators:
        queryset = queryset.filter(indicator_id__in=indicators)
    if periods:
        queryset = queryset.filter(period__in=periods)
    rows = list(queryset.values(*UNIT_VALUE_FIELDS, "suppressed", "suppression_limit"))
    if indicators:
        _check_indicator_codes(indicators, {row["indicator_id"] for row in rows})
    limit = suppress_up_to or 0
    if limit and any(row["suppression_limit"] != limit for row in rows):
        _unit_suppression_live(code, rows, units, limit)
    position = {unit["id"]: index for index, unit in enumerate(units)}
    rows.sort(key=lambda r: (r["indicator_id"], r["period"], position.get(r["unit_id"], 0)))
    result = []
    for row in rows:
        hidden = bool(limit and row["suppressed"])
        own_small = any(1 <= (row[key] or 0) <= limit for key in ("numerator", "denominator"))
        result.append(
            {
                "indicator": row["indicator_id"],
                "unit": row["unit_id"],
                "period": row["period"],
                "numerator": None if hidden else row["numerator"],
                "denominator": None if hidden else row["denominator"],
                "value": None if hidden else row["value"],
                "suppressed": hidden,
                "suppression_reason": (
                    ("primary" if own_small else "secondary") if hidden else None
                ),
                "suppression_threshold": limit if hidden else None,
            }
        )
    return result


def _unit_suppression_live(code: str, rows: list[dict], units: list[dict], limit: int) -> None:
    """The rule at a limit the rollup has not stored, over the stored counts (in place)."""
    parents = {unit["id"]: unit["parent"] for unit in units}
    village = {
        (row["indicator"], row["period"]): row
        for row in indicator_values_for(
            indicators=sorted({row["indicator_id"] for row in rows}),
            areas=[code],
            suppress_up_to=limit,
        )
    }
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["indicator_id"], row["period"]), []).append(row)
    for key, members in groups.items():
        total = village.get(key)
        cells = [
            suppression.UnitCell(
                unit=row["unit_id"],
                parent=parents.get(row["unit_id"]),
                numerator=row["numerator"],
                denominator=row["denominator"],
            )
            for row in members
        ]
        if total is None or total["suppressed"]:
            hidden = {cell.unit for cell in cells}
        else:
            hidden = suppression.units_hidden(
                cells,
                village=(total["numerator"], total["denominator"]),
                village_hidden=False,
                limit=limit,
            )
        for row in members:
            row["suppressed"] = row["unit_id"] in hidden


def village_breakdown(
    *, user, code: str, indicator: str | None, language: str, suppress_up_to: int | None
) -> dict:
    """The village page's table of indicators per dusun, RW and RT (the latest period of
    the rollup): `indicator` one code, or None for every indicator. Unknown codes fall
    back to every indicator (a page, not an API). Each row: the unit (tree order, depth)
    and one cell per indicator column, suppressed as `suppress_up_to` says."""
    units = village_units_for(user=user, code=code) or []
    catalogue = indicator_catalogue(language=language)
    columns = [c for c in catalogue if c["code"] == indicator] or catalogue
    present = set(
        UnitIndicatorValue.objects.filter(region_id=code)
        .order_by()
        .values_list("period", flat=True)
        .distinct()
    )
    period = next((p for p in reversed(period_codes()) if p in present), None)
    values = (
        unit_indicator_values_for(
            code=code,
            units=units,
            indicators=[c["code"] for c in columns],
            periods=[period],
            suppress_up_to=suppress_up_to,
        )
        if units and period
        else []
    )
    ratio = {c["code"]: c["ratio"] for c in columns}
    cells = {
        (row["unit"], row["indicator"]): {**row, "ratio": ratio[row["indicator"]]} for row in values
    }
    rows = [
        {"unit": unit, "cells": [cells.get((unit["id"], c["code"])) for c in columns]}
        for unit in units
    ]
    return {
        "units": units,
        "columns": columns,
        "single": len(columns) == 1,
        "rows": rows,
        "period": period,
        "indicator": columns[0]["code"] if len(columns) == 1 else "",
        "catalogue": catalogue,
    }
