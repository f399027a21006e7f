"""The monthly population report of a village (laporan bulanan perkembangan penduduk):
per dusun and sex, the population at the start of the month, births, deaths, arrivals,
departures, moves between the village's dusun, and the population at the end of it.

Everything is read from the register of life events (`LifeEvent`) and the current
record, in two queries:

- the population now: current members, by their household's dusun and their sex;
- the events dated after the start of the month, each as +1 or -1 for a (dusun, sex) of
  this village, from the event's own snapshot (the village, dusun and sex at the moment it
  happened): a birth or an arrival from outside adds to its dusun, a death or a departure
  takes away; a move between two households of the portal (pindah KK, pecah KK) takes
  away from the origin and adds to the destination, which is an arrival or a departure of
  the village when the other household lies in another village, and a move between dusun
  (or nothing) when both lie in this one.

The population at the end of the month is the population now less what the events after
it added; at the start, less what the events of the month added too. So the identity
start + births - deaths + arrivals - departures + moves between dusun = end holds for
every row by construction. The past populations are reconstructed: a member added or
removed without an event (a census import, an edit correcting a mistake) changes them as
if it had always been so; the report says so.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from .models import DataSource, EventKind, Household, MemberStatus

SEXES = (1, 2)  # laki-laki, perempuan (codebook jenis_kelamin)
# The report's columns of the month, each counted by sex.
FLOWS = ("lahir", "meninggal", "datang", "pindah", "antar_dusun")


@dataclass
class ReportRow:
    dusun: str
    start: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SEXES, 0))
    end: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SEXES, 0))
    flows: dict[str, dict[int, int]] = field(
        default_factory=lambda: {flow: dict.fromkeys(SEXES, 0) for flow in FLOWS}
    )

    def cells(self) -> list[int]:
        """The row as the report prints it: start (L, P, total), each flow (L, P), end (L,
        P, total)."""
        values = [self.start[1], self.start[2], self.start[1] + self.start[2]]
        for flow in FLOWS:
            values += [self.flows[flow][1], self.flows[flow][2]]
        return [*values, self.end[1], self.end[2], self.end[1] + self.end[2]]

    def add(self, other: ReportRow) -> None:
        for sex in SEXES:
            self.start[sex] += other.start[sex]
            self.end[sex] += other.end[sex]
            for flow in FLOWS:
                self.flows[flow][sex] += other.flows[flow][sex]


@dataclass
class PopulationReport:
    village_code: str
    year: int
    month: int
    first_day: dt.date
    last_day: dt.date
    rows: list[ReportRow]
    total: ReportRow
    unknown_sex: int  # members or events without a recorded sex, left out of the counts

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class MonthNotReportable(ValueError):
    """A month that has not begun yet, or is not a month."""


def report_month(value: str | None, *, today: dt.date | None = None) -> tuple[int, int]:
    """`YYYY-MM` (the page's ?bulan=) as (year, month); no value means the current month.
    A month that has not begun, or a malformed value, raises MonthNotReportable."""
    today = today or timezone.localdate()
    if not value:
        return today.year, today.month
    try:
        year, month = (int(part) for part in value.split("-"))
        dt.date(year, month, 1)
    except (TypeError, ValueError):
        raise MonthNotReportable(value) from None
    if (year, month) > (today.year, today.month) or year < 1900:
        raise MonthNotReportable(value)
    return year, month


def village_holds_synthetic(*, village_code: str) -> bool:
    return Household.objects.filter(
        region_id=village_code, sumber_data=DataSource.SYNTHETIC
    ).exists()


# Per (dusun, sex, flow, within the month or after it): the net change and the people.
# Each event of this village contributes (dusun, sex, flow, sign); a move between
# households of the portal contributes twice, at its origin and at its destination.
_FLOWS_BY_DUSUN = """
    SELECT c.dusun, c.jenis_kelamin, c.flow, c.tanggal <= %(last_day)s AS in_month,
           sum(c.sign)::int, count(*)::int
    FROM (
        SELECT e.dusun, e.jenis_kelamin, e.tanggal,
               CASE e.kind WHEN %(birth)s THEN 'lahir' WHEN %(death)s THEN 'meninggal'
                           WHEN %(moved_in)s THEN 'datang' ELSE 'pindah' END AS flow,
               CASE WHEN e.kind IN (%(birth)s, %(moved_in)s) THEN 1 ELSE -1 END AS sign
        FROM households_lifeevent e
        WHERE e.region_id = %(village)s AND e.tanggal > %(since)s
          AND e.kind IN (%(birth)s, %(death)s, %(moved_in)s, %(moved_out)s)
        UNION ALL
        -- The origin of a move between households: a departure, or a move between dusun.
        SELECT e.dusun, e.jenis_kelamin, e.tanggal,
               CASE WHEN e.other_region_id = e.region_id THEN 'antar_dusun' ELSE 'pindah' END,
               -1
        FROM households_lifeevent e
        WHERE e.region_id = %(village)s AND e.tanggal > %(since)s
          AND e.kind IN (%(transfer)s, %(split)s)
        UNION ALL
        -- Its destination: an arrival, or a move between dusun.
        SELECT e.other_dusun, e.jenis_kelamin, e.tanggal,
               CASE WHEN e.other_region_id = e.region_id THEN 'antar_dusun' ELSE 'datang' END,
               1
        FROM households_lifeevent e
        WHERE e.other_region_id = %(village)s AND e.tanggal > %(since)s
          AND e.kind IN (%(transfer)s, %(split)s)
    ) c
    GROUP BY 1, 2, 3, 4
"""


def population_report(
    *, village_code: str, year: int, month: int, today: dt.date | None = None
) -> PopulationReport:
    """The report of one village for one month (see the module's docstring). The caller
    has checked that the village is one the user may see named records of."""
    first_day = dt.date(year, month, 1)
    last_day = dt.date(year, month, calendar.monthrange(year, month)[1])
    params = {
        "village": village_code,
        "since": first_day - dt.timedelta(days=1),
        "birth": EventKind.BIRTH,
        "death": EventKind.DEATH,
        "moved_in": EventKind.MOVED_IN,
        "moved_out": EventKind.MOVED_OUT,
        "transfer": EventKind.TRANSFER,
        "split": EventKind.SPLIT,
        "current": MemberStatus.CURRENT,
        "last_day": last_day,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT h.dusun, m.jenis_kelamin, count(*)
            FROM households_member m JOIN households_household h ON h.id = m.household_id
            WHERE h.region_id = %(village)s AND m.status_anggota = %(current)s
            GROUP BY 1, 2
            """,
            params,
        )
        now = cursor.fetchall()
        cursor.execute(
            _FLOWS_BY_DUSUN,
            params,
        )
        events = cursor.fetchall()

    rows: dict[str, ReportRow] = {}
    unknown_sex = 0

    def row(dusun: str | None) -> ReportRow:
        name = (dusun or "").strip()
        return rows.setdefault(name, ReportRow(dusun=name))

    for dusun, sex, count in now:
        if sex not in SEXES:
            unknown_sex += count
            continue
        report_row = row(dusun)
        report_row.end[sex] += count
        report_row.start[sex] += count
    for dusun, sex, flow, in_month, net, count in events:
        if sex not in SEXES:
            unknown_sex += count
            continue
        report_row = row(dusun)
        # Whatever happened after the month is undone from both ends; what happened in
        # it, from the start only, and it is the month's flow.
        report_row.start[sex] -= net
        if not in_month:
            report_row.end[sex] -= net
            continue
        # Flows are shown as counts of people; moves between dusun as the net change.
        report_row.flows[flow][sex] += net if flow == "antar_dusun" else count
    ordered = sorted(rows.values(), key=lambda r: (r.dusun == "", r.dusun.casefold()))
    total = ReportRow(dusun="")
    for report_row in ordered:
        total.add(report_row)
    return PopulationReport(
        village_code=village_code,
        year=year,
        month=month,
        first_day=first_day,
        last_day=last_day,
        rows=ordered,
        total=total,
        unknown_sex=unknown_sex,
    )
