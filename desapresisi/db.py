"""Small helpers for the bulk paths that talk to PostgreSQL directly.

Bulk writes (region loader, demo generator, census import) go through COPY into a
staging or target table, then set-based SQL. Row-by-row ORM saves are far too slow for a
census (hundreds of thousands of rows).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection

_NEEDS_QUOTING = re.compile(r'[,"\n\r]')


def csv_field(value: Any) -> str:
    """One field in PostgreSQL's CSV COPY format with NULL ''.

    None is an unquoted empty field (NULL); an empty string is quoted so it stays ''.
    """
    if value is None:
        return ""
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = str(value)
    if text == "" or _NEEDS_QUOTING.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def copy_rows(
    *, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], cursor=None
) -> int:
    """COPY rows (sequences of Python values, None for NULL) into `table`."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write(",".join(csv_field(value) for value in row))
        buffer.write("\n")
    return copy_csv_text(table=table, columns=columns, text=buffer, cursor=cursor)


def copy_csv_text(*, table: str, columns: Sequence[str], text: io.StringIO, cursor=None) -> int:
    """COPY a CSV text buffer (no header; NULL is an unquoted empty field) into `table`.

    Returns the number of rows copied.
    """
    text.seek(0)
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '')"
    if cursor is None:
        with connection.cursor() as own_cursor:
            own_cursor.copy_expert(sql, text)
            return own_cursor.rowcount
    cursor.copy_expert(sql, text)
    return cursor.rowcount


def history_pause(*, reason: str, cursor=None) -> None:
    """Record no change history for the rest of the current transaction.

    Only the maintenance role (the owner of the tables, which runs the migrations) may: the
    database refuses it to the web role (docs/database.md). For rows that are records of
    nobody, such as the synthetic demo census and the benchmark's copies."""
    sql = "SELECT desapresisi_maintenance.history_pause(%s)"
    if cursor is None:
        with connection.cursor() as own_cursor:
            own_cursor.execute(sql, [reason])
        return
    cursor.execute(sql, [reason])
