"""How identity numbers look by default.

A masked NIK or No. KK keeps its first 6 digits (the kecamatan where it was issued) and
its last 4 (UU PDP practice) and puts, between them, a tag of 4 letters computed from the
whole number with a key derived from SECRET_KEY: two different numbers almost never share
a mask (`640901*KQMD*0001` and `640901*BTRG*0001`), so rows can be told apart and matched
across lists and exports, while the hidden digits (a birth date, an issue date) cannot be
read back without the key. csv_sql.py computes the same mask in SQL (`mask_sql`)."""

from __future__ import annotations

import hashlib
from functools import cache

from django.conf import settings

_HEX = "0123456789abcdef"
# Consonants only: a tag never spells a word, and never reads as digits.
_LETTERS = "BCDFGHJKLMNPQRST"
_TAG = str.maketrans(_HEX, _LETTERS)


@cache
def _key(secret: str) -> str:
    return hashlib.sha256(f"desapresisi-mask:{secret}".encode()).hexdigest()


def mask_key() -> str:
    """Hex digits only (safe to write into SQL as a literal)."""
    return _key(settings.SECRET_KEY)


def mask_number(value: str | None) -> str | None:
    if not value:
        return value
    if len(value) <= 10:
        return "*" * len(value)
    digest = hashlib.md5((mask_key() + value).encode(), usedforsecurity=False).hexdigest()
    return f"{value[:6]}*{digest[:4].translate(_TAG)}*{value[-4:]}"


def mask_sql(column: str) -> str:
    """mask_number as a PostgreSQL expression over `column` (same output, NULL and ''
    kept as they are)."""
    key = mask_key()
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN {column} "
        f"WHEN length({column}) <= 10 THEN repeat('*', length({column})) "
        f"ELSE left({column}, 6) || '*' || translate(left(md5('{key}' || {column}), 4), "
        f"'{_HEX}', '{_LETTERS}') || '*' || right({column}, 4) END"
    )
