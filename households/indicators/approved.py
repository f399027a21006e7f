"""Indicator values of approved villages only: what an official reads when the dashboard
is asked for data a verifier has signed off (issue 16).

Households know nothing of the sign-off (the quality app keeps it): `approved_villages`
asks the receivers of `approved_villages_wanted` which villages' data for a round were
approved. A village shows its own figure when approved and none otherwise; an area above
it shows the sums of its approved villages (never an average of values), with how many
of its villages were approved.

Suppression. Each approved village keeps the public answer of the rollup (its sibling
group is the whole kecamatan). A sum of approved villages adds what the published
figures did not say whenever it holds a hidden village: next to the full figure of the
same area, it tells the total of the hidden approved villages and, by difference, of the
hidden villages not approved. Either total gives a small cell away when it is one
village. So a kecamatan's approved-only figure is hidden when it is itself small or when
its hidden villages split into exactly one approved, or into approved ones and exactly
one not approved; above the kecamatan, when the figure is small or exactly one of its
areas' approved-only figures is hidden (the others' sum and the total would give it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.dispatch import Signal

# Receivers answer (period=...) with the codes of the villages approved for that period
# (a round's code); a period that is not a round has none.
approved_villages_wanted = Signal()


def approved_villages(period: str) -> set[str]:
    found: set[str] = set()
    for _receiver, answer in approved_villages_wanted.send(sender=None, period=period):
        found |= set(answer or ())
    return found


@dataclass
class Cell:
    """One area's approved-only figure for one indicator and period."""

    numerator: float = 0.0
    denominator: float | None = None
    villages: int = 0
    approved: int = 0
    hidden: bool = False
    # Below a kecamatan: its hidden villages, approved or not (the rollup's flags).
    hidden_approved: int = 0
    hidden_other: int = 0


def _small(cell: Cell, limit: int) -> bool:
    return 1 <= (cell.numerator or 0) <= limit or 1 <= (cell.denominator or 0) <= limit


def approved_cells(
    villages: list[tuple[str, float, float | None, bool]],
    *,
    approved: set[str],
    limit: int | None,
    has_denominator: bool,
) -> dict[str, Cell]:
    """{area code: Cell} for every village of `villages` ((code, numerator, denominator,
    hidden by the public rule)) and every area above them, for one indicator and period."""
    cells: dict[str, Cell] = {}
    by_parent: dict[str, list[str]] = defaultdict(list)
    for code, numerator, denominator, hidden in villages:
        ok = code in approved
        hidden = bool(limit and hidden)
        cells[code] = Cell(
            numerator=(numerator or 0.0) if ok else 0.0,
            denominator=(denominator or 0.0) if ok and has_denominator else None,
            villages=1,
            approved=int(ok),
            hidden=bool(ok and hidden),
        )
        kecamatan = code.rpartition(".")[0]
        parent = cells.setdefault(kecamatan, Cell(denominator=0.0 if has_denominator else None))
        parent.villages += 1
        if ok:
            parent.approved += 1
            parent.numerator += numerator or 0.0
            if has_denominator:
                parent.denominator += denominator or 0.0
        if hidden:
            if ok:
                parent.hidden_approved += 1
            else:
                parent.hidden_other += 1
        by_parent[kecamatan].append(code)
    # Kecamatan, then each level above, bottom up.
    level = sorted(by_parent)
    for code in level:
        cell = cells[code]
        k_a, k_u = cell.hidden_approved, cell.hidden_other
        cell.hidden = bool(limit and (_small(cell, limit) or (k_a >= 1 and (k_a == 1 or k_u == 1))))
    while level:
        parents: dict[str, list[str]] = defaultdict(list)
        for code in level:
            if "." in code:
                parents[code.rpartition(".")[0]].append(code)
        for code, children in parents.items():
            cell = Cell(denominator=0.0 if has_denominator else None)
            for child_code in children:
                child = cells[child_code]
                cell.villages += child.villages
                cell.approved += child.approved
                cell.numerator += child.numerator
                if has_denominator:
                    cell.denominator += child.denominator or 0.0
            hidden_children = sum(1 for c in children if cells[c].hidden and cells[c].approved)
            cell.hidden = bool(limit and (_small(cell, limit) or hidden_children == 1))
            cells[code] = cell
        level = sorted(parents)
    return cells
