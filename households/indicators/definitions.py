"""Indicator definitions shipped with the portal (`data/indicators.json`)."""

from __future__ import annotations

import json
from pathlib import Path

from ..models import Indicator
from .spec import validate_map_criterion, validate_spec

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "indicators.json"


# --- Definitions ---------------------------------------------------------------------


def indicator_definitions_load(*, update: bool = False) -> tuple[int, int]:
    """Create the indicators of data/indicators.json that are missing; with `update`,
    also overwrite existing ones. Returns (created, updated)."""
    with DATA_FILE.open(encoding="utf-8") as handle:
        definitions = json.load(handle)["indicators"]
    created = updated = 0
    for definition in definitions:
        values = {key: value for key, value in definition.items() if key != "code"}
        validate_spec(values["numerator"], field=f"{definition['code']}.numerator")
        if values.get("denominator") is not None:
            validate_spec(values["denominator"], field=f"{definition['code']}.denominator")
        if values.get("map_criterion"):
            validate_map_criterion(values["numerator"], field=f"{definition['code']}.numerator")
        indicator = Indicator.objects.filter(code=definition["code"]).first()
        if indicator is None:
            Indicator.objects.create(code=definition["code"], **values)
            created += 1
        elif update:
            for key, value in values.items():
                setattr(indicator, key, value)
            indicator.save()
            updated += 1
    return created, updated
