"""Small-cell suppression of indicator values for the public, as SQL.

The rule: a cell is small when its numerator or its denominator is between 1 and the
limit (primary suppression). Where a group of sibling areas (same parent, indicator and
period) has exactly one small cell, its parent's total would give it away by
subtraction, so the smallest other non-zero sibling is hidden too (secondary
suppression). Groups are whole sibling sets, whatever slice of them a request asks for;
areas without a parent (provinces) get the primary rule only.

The rollup stores the answer for the configured limit (`suppression_refresh`, run by
`indicators_refresh` for the groups it touched), so a public request is a plain read of
the rollup. Any other limit (a changed setting before the next refresh) is computed per
request by the selector from the same SQL pieces.
"""

from __future__ import annotations

from dataclasses import dataclass


def small(alias: str) -> str:
    """Whether a cell of `alias` (numerator, denominator) is small; uses %(limit)s."""
    return (
        f"(coalesce({alias}.numerator, 0) BETWEEN 1 AND %(limit)s"
        f" OR coalesce({alias}.denominator, 0) BETWEEN 1 AND %(limit)s)"
    )


def ranked_cte(source: str) -> str:
    """`ranked`: the rows of CTE `source` (indicator_id, period, parent_id, region_id,
    numerator, small, ...) with what the rule needs to know about their sibling group."""
    return f"""
ranked AS (
    SELECT s.*,
           count(*) FILTER (WHERE s.small) OVER family AS small_cells,
           count(*) OVER family AS cells,
           (NOT s.small AND coalesce(s.numerator, 0) <> 0) AS other,
           row_number() OVER (
               PARTITION BY s.indicator_id, s.period, s.parent_id,
                            (NOT s.small AND coalesce(s.numerator, 0) <> 0)
               ORDER BY s.numerator, s.region_id
           ) AS rank_in_kind
    FROM {source} s
    WINDOW family AS (PARTITION BY s.indicator_id, s.period, s.parent_id)
)"""  # noqa: S608 - `source` is a CTE name written in this package, never input


# Whether a row of `ranked` is hidden.
HIDDEN = (
    "(r.small OR (r.parent_id IS NOT NULL AND r.small_cells = 1 AND r.cells > 1"
    " AND r.other AND r.rank_in_kind = 1))"
)

_REFRESH_SQL = """
WITH scope AS MATERIALIZED (
    SELECT v.id, v.indicator_id, v.period, r.parent_id, v.region_id, v.numerator,
           {small} AS small
    FROM households_indicatorvalue v
    JOIN villages_region r ON r.code = v.region_id
    {where}
),
{ranked}
UPDATE households_indicatorvalue v
SET suppressed = {hidden}, suppression_limit = %(limit)s
FROM ranked r
WHERE v.id = r.id
  AND (v.suppressed IS DISTINCT FROM {hidden} OR v.suppression_limit IS DISTINCT FROM %(limit)s)
"""


def suppression_refresh(
    cursor, *, areas: list[str] | None, limit: int, frozen: list[str] = ()
) -> int:
    """Store the public answer for `limit` on the rollup rows of every sibling group that
    holds one of `areas` (all rows when None), inside the caller's transaction, except
    those of the `frozen` periods (closed rounds keep what they published). Returns the
    number of rows whose flag or limit changed."""
    where = "WHERE v.period <> ALL(%(frozen)s)"
    params: dict = {"limit": limit, "frozen": list(frozen)}
    if areas is not None:
        # Groups are keyed by parent: the parents of the areas, and provinces (no parent).
        params["parents"] = sorted({code.rpartition(".")[0] for code in areas if "." in code})
        where += " AND (r.parent_id = ANY(%(parents)s) OR r.parent_id IS NULL)"
    sql = _REFRESH_SQL.format(
        small=small("v"), where=where, ranked=ranked_cte("scope"), hidden=HIDDEN
    )
    cursor.execute(sql, params)
    return cursor.rowcount


# --- Below the village: dusun, RW, RT ----------------------------------------------------
#
# The same rule per sibling group of units (the units directly under the village, or
# under one unit), with two additions the area tree does not need:
# - the households of a group's parent that no child unit holds (no dusun given, say) are
#   a cell of the group nobody publishes but anyone can derive (the parent's total minus
#   its children's): when it is small, it counts as the group's small cell, so another
#   cell is hidden to protect it;
# - a hidden unit hides every unit below it (the published children of a hidden unit
#   would add up to it), and a hidden village hides all its units.


@dataclass(frozen=True)
class UnitCell:
    unit: int
    parent: int | None  # None: directly under the village
    numerator: float
    denominator: float | None


def _is_small(numerator: float | None, denominator: float | None, limit: int) -> bool:
    return 1 <= (numerator or 0) <= limit or 1 <= (denominator or 0) <= limit


def units_hidden(
    cells: list[UnitCell],
    *,
    village: tuple[float, float | None],
    village_hidden: bool,
    limit: int,
) -> set[int]:
    """The units of one (village, indicator, period) hidden from the public at `limit`."""
    children: dict[int | None, list[UnitCell]] = {}
    for cell in cells:
        children.setdefault(cell.parent, []).append(cell)
    totals = {cell.unit: (cell.numerator, cell.denominator) for cell in cells}
    totals[None] = village
    hidden: set[int] = set()
    pending: list[tuple[int | None, bool]] = [(None, village_hidden)]
    while pending:
        parent, parent_hidden = pending.pop()
        kids = sorted(children.get(parent, []), key=lambda c: (c.numerator, c.unit))
        if parent_hidden:
            chosen = {kid.unit for kid in kids}
        else:
            chosen = {kid.unit for kid in kids if _is_small(kid.numerator, kid.denominator, limit)}
            total_num, total_den = totals[parent]
            rest_num = (total_num or 0) - sum(kid.numerator for kid in kids)
            rest_den = (
                None if total_den is None else total_den - sum(kid.denominator or 0 for kid in kids)
            )
            small_cells = len(chosen) + _is_small(rest_num, rest_den, limit)
            if small_cells == 1:
                others = [k for k in kids if k.unit not in chosen and k.numerator != 0]
                if others:
                    chosen.add(others[0].unit)
        hidden |= chosen
        pending += [(kid.unit, kid.unit in chosen) for kid in kids]
    return hidden
