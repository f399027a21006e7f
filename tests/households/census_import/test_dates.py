"""The import's dates: YYYY-MM-DD read without strptime, the other forms as before."""

import datetime as dt

import pytest

from households.census_import.validate import _parse_date


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2025-10-15", dt.date(2025, 10, 15)),
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("2025-1-5", dt.date(2025, 1, 5)),
        ("15/10/2025", dt.date(2025, 10, 15)),
        ("15-10-2025", dt.date(2025, 10, 15)),
        ("2025-02-29", None),
        ("2025-13-01", None),
        ("2025-10-1x", None),
        ("20251015", None),
        ("2025/10/15", None),
        ("+025-10-15", None),
    ],
)
def test_dates_of_a_census_file(text, date):
    assert _parse_date(text) == date
