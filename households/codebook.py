"""Coded answers (Regsosek 2022 / Dukcapil) read from `data/codebook.csv`.

The CSV is the single source of codes and their Indonesian and English labels: model
choices, database check constraints, the API, imports and exports all come from it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.functional import lazy
from django.utils.translation import get_language

CODEBOOK_PATH = Path(__file__).resolve().parent / "data" / "codebook.csv"


@dataclass(frozen=True)
class Code:
    variable: str
    code: int
    label_id: str
    label_en: str
    source: str

    def label(self, language: str | None = None) -> str:
        language = language or get_language() or "id"
        return self.label_en if language.startswith("en") else self.label_id


@cache
def codebook() -> dict[str, tuple[Code, ...]]:
    entries: dict[str, list[Code]] = {}
    with CODEBOOK_PATH.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            entries.setdefault(row["variable"], []).append(
                Code(
                    row["variable"],
                    int(row["code"]),
                    row["label_id"],
                    row["label_en"],
                    row["source"],
                )
            )
    return {variable: tuple(codes) for variable, codes in entries.items()}


def codes(variable: str, *, exclude: tuple[int, ...] = ()) -> list[int]:
    return [entry.code for entry in codebook()[variable] if entry.code not in exclude]


def _label_for(variable: str, code: int) -> str:
    return next(entry for entry in codebook()[variable] if entry.code == code).label()


_lazy_label = lazy(_label_for, str)


def choices(variable: str, *, exclude: tuple[int, ...] = ()) -> list[tuple[int, str]]:
    """Django choices whose labels follow the active language (Indonesian by default)."""
    return [
        (entry.code, _lazy_label(variable, entry.code))
        for entry in codebook()[variable]
        if entry.code not in exclude
    ]


def label(variable: str, code: int | None, language: str | None = None) -> str:
    if code is None:
        return ""
    for entry in codebook()[variable]:
        if entry.code == code:
            return entry.label(language)
    return str(code)
