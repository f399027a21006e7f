"""The one rule for Kemendagri area codes: their shape and what "within an area" means.

A code is `PP` (province), `PP.KK` (kabupaten/kota), `PP.KK.CC` (kecamatan) or
`PP.KK.CC.DDDD` (desa/kelurahan). An area's subtree is the area itself and every code that
starts with its code and a dot, a prefix match the `varchar_pattern_ops` indexes serve
(`code LIKE '64.09.%'`). Every filter by area (access scope, list filters, the area tree,
exports, tiles) is built here.
"""

from __future__ import annotations

import re
from functools import reduce
from operator import or_

from django.db.models import Q
from django.db.models.functions import Left
from django.db.models.lookups import Exact

CODE_PATTERN = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"
CODE_RE = re.compile(CODE_PATTERN)
VILLAGE_CODE_LENGTH = 13  # PP.KK.CC.DDDD


def is_area_code(code: str) -> bool:
    return bool(CODE_RE.match(code))


def _any_area(codes: str | list[str], field: str, above_villages) -> Q:
    """Rows whose area (`field`) is one of `codes` or lies below one: a village by its own
    code, an area above the villages by `above_villages(code)`. No code selects nothing."""
    if isinstance(codes, str):
        codes = [codes]
    if not codes:
        return Q(pk__in=[])
    clauses = [
        Q(**{field: code}) if len(code) == VILLAGE_CODE_LENGTH else above_villages(code)
        for code in codes
    ]
    return reduce(or_, clauses)


def subtree_q(codes: str | list[str], field: str = "code") -> Q:
    """Rows whose area (`field`, a code) is one of `codes` or lies below one of them.
    An empty list selects nothing."""
    return _any_area(
        codes, field, lambda code: Q(**{field: code}) | Q(**{f"{field}__startswith": f"{code}."})
    )


def area_q(codes: str | list[str], field: str) -> Q:
    """`subtree_q` as equalities: a village's own code, or the leading characters of the
    code for an area above the villages (`left(field, 5) = '64.09'`: the kabupaten and
    everything below it, as the codes are fixed-width). For tables indexed on those
    expressions (the households), where they also give an area's rows in id order."""
    return _any_area(codes, field, lambda code: Q(Exact(Left(field, len(code)), code)))


def below_q(code: str, field: str = "code") -> Q:
    """Rows strictly below the area `code` (its descendants, not itself)."""
    return Q(**{f"{field}__startswith": f"{code}."})
