"""CSV exports whose lines PostgreSQL writes.

The row-by-row export in exports.py (labels, masking and cell conversion in Python) spends
about 30 microseconds per row; a million households took 31 s where `COPY ... TO STDOUT`
takes 2. Here the same columns are computed in SQL, each value quoted as Python's
`csv.writer` quotes it (only when it holds a comma, a quote or a line break), and the
finished line is read from a server-side cursor, so Python only joins lines. The row path
stays for XLSX and GeoJSON, and the tests hold both to the same output.

The rules that decide what a caller sees are the same ones, written for the database:
`Disclosure` (names hidden or numbers masked, see desapresisi.access and
desapresisi.masking.mask_number) and the labels of the codebook in the chosen language.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import translation

from desapresisi.access import Disclosure

from . import codebook as cb
from .exports import (
    _HOUSEHOLD_EXTRA,
    _HOUSEHOLD_VALUES,
    _MEMBER_EXTRA,
    _MEMBER_VALUES,
    HOUSEHOLD_HEADERS,
    MEMBER_HEADERS,
    _coordinates,
)
from .filters import annotate_age
from .imports import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS
from .models import SanitationLevel

FETCH_ROWS = 5000
LINE_END = "\r\n"  # csv.writer's default, so both exports end lines alike

# mask_number in SQL: the first 6 and last 4 digits of a NIK/KK, stars between; short
# values all stars; empty stays empty.
_MASK = (
    "CASE WHEN {c} IS NULL OR {c} = '' THEN {c} "
    "WHEN length({c}) <= 10 THEN repeat('*', length({c})) "
    "ELSE left({c}, 6) || repeat('*', length({c}) - 10) || right({c}, 4) END"
)
_BOOL = "CASE WHEN {c} THEN '1' WHEN NOT {c} THEN '0' END"


def _field(expression: str) -> str:
    """One CSV field from a text expression: empty for NULL and '', quoted when needed."""
    return (
        f"CASE WHEN ({expression}) IS NULL THEN '' "
        f"WHEN strpos({expression}, ',') + strpos({expression}, '\"') "
        f"+ strpos({expression}, E'\\n') + strpos({expression}, E'\\r') > 0 "
        f"THEN '\"' || replace(({expression}), '\"', '\"\"') || '\"' "
        f"ELSE ({expression}) END"
    )


def _quoted(text: str) -> str:
    """A constant as csv.writer writes it (quoted only when it must be)."""
    if any(char in text for char in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class _Line:
    """The fields of one export line, as SQL text expressions with the values they bind.
    Only free text is checked for characters that need quoting; numbers, codes, dates and
    masked numbers cannot hold them, and labels are quoted here, once."""

    def __init__(self) -> None:
        self.expressions: list[str] = []
        self.free_text: list[bool] = []
        self.params: list = []

    def add(self, expression: str, params: tuple = (), *, free_text: bool = False) -> None:
        self.expressions.append(expression)
        self.free_text.append(free_text)
        self.params.extend(params)

    def labels(self, column: str, pairs: list[tuple[int, str]]) -> None:
        if not pairs:
            self.add(f"{column}::text")
            return
        whens = " ".join("WHEN %s THEN %s" for _ in pairs)
        params = tuple(value for code, label in pairs for value in (code, _quoted(label)))
        self.add(f"CASE {column} {whens} ELSE {column}::text END", params)


def _add_column(line: _Line, column, source: str, *, hidden: bool, masked: bool, language):
    if hidden:
        line.add("NULL::text")
    elif column.kind in ("kk", "nik"):
        line.add(_MASK.format(c=source) if masked else source)
    elif column.kind == "region":
        line.add(source)
    elif column.kind == "text":
        line.add(f"NULLIF({source}, '')", free_text=True)
    elif column.kind == "date":
        line.add(f"to_char({source}, 'YYYY-MM-DD')")
    elif column.kind in ("bool", "bool_null"):
        line.add(_BOOL.format(c=source))
    elif column.kind == "coord":
        # As Python writes a float: 116.0, not PostgreSQL's 116.
        line.add(
            f"CASE WHEN {source} = trunc({source}) THEN trunc({source})::bigint::text || '.0' "
            f"ELSE {source}::text END"
        )
    else:  # int, coded
        line.add(f"{source}::text")
    if column.kind == "coded" and not hidden:
        pairs = [(entry.code, entry.label(language)) for entry in cb.codebook()[column.variable]]
        line.labels(source, pairs)


def _stream(line: _Line, inner: QuerySet, headers: list[str]) -> Iterator[str]:
    inner_sql, inner_params = inner.query.sql_with_params()
    # Django 5.2 selects values() columns in the order given, annotations included.
    names = list(inner.query.selected)
    values = [f"v{index}" for index in range(len(line.expressions))]
    fields = ", ".join(
        _field(f"v.{value}") if free else f"coalesce(v.{value}, '')"
        for value, free in zip(values, line.free_text, strict=True)
    )
    # OFFSET 0 keeps the values in their own subquery: flattened, each CASE would be
    # evaluated once per use in `_field`.
    sql = (
        f"SELECT concat_ws(',', {fields}) FROM ("  # noqa: S608 - built from this module's constants
        f"SELECT {', '.join(line.expressions)} "
        f"FROM ({inner_sql}) AS t({', '.join(names)}) OFFSET 0"
        f") AS v({', '.join(values)})"
    )
    yield "\ufeff" + ",".join(headers) + LINE_END
    # In a transaction the server-side cursor streams; outside one (autocommit) it would be
    # declared WITH HOLD and the whole result written out on the server before the first
    # line could leave.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, [*line.params, *inner_params])
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield LINE_END.join(row[0] for row in rows) + LINE_END


def household_csv(*, queryset: QuerySet, disclosure: Disclosure, language: str) -> Iterator[str]:
    """The households CSV (same columns, order and values as `exports.household_rows`
    through `exports.csv_stream`)."""
    values = [name for name in _HOUSEHOLD_VALUES if name != "lokasi"]
    inner = queryset.order_by("id").values(*values, **_coordinates("lokasi"))
    sources = {name: f"t.{name}" for name in [*values, "lintang", "bujur"]}
    sources["kode_desa"] = "t.region_id"
    line = _Line()
    with translation.override(language):
        for column in HOUSEHOLD_COLUMNS:
            _add_column(
                line,
                column,
                sources[column.name],
                hidden=not disclosure.names and column.name in ("no_kk", "alamat"),
                masked=not disclosure.unmasked,
                language=language,
            )
        ladder = [(level, str(label)) for level, label in SanitationLevel.choices]
        for name in _HOUSEHOLD_EXTRA:
            if name == "tangga_sanitasi_label":
                line.labels("t.tangga_sanitasi", ladder)
            elif name in ("air_minum_layak", "rumah_tidak_layak_huni"):
                line.add(_BOOL.format(c=f"t.{name}"))
            elif name == "sumber_data":
                line.add(f"NULLIF(t.{name}, '')", free_text=True)
            else:
                line.add(f"t.{name}::text")
    yield from _stream(line, inner, HOUSEHOLD_HEADERS)


def member_csv(*, queryset: QuerySet, disclosure: Disclosure, language: str) -> Iterator[str]:
    """The members CSV (same columns, order and values as `exports.member_rows` through
    `exports.csv_stream`)."""
    if "umur" not in queryset.query.annotations:
        queryset = annotate_age(queryset, None)
    inner = queryset.order_by("household_id", "hubungan_keluarga", "id").values(
        *_MEMBER_VALUES, no_kk=F("household__no_kk"), kode_desa=F("household__region_id")
    )
    line = _Line()
    with translation.override(language):
        for column in MEMBER_COLUMNS:
            _add_column(
                line,
                column,
                f"t.{column.name}",
                hidden=not disclosure.names and column.name in ("nik", "nama"),
                masked=not disclosure.unmasked,
                language=language,
            )
        for name in _MEMBER_EXTRA:
            line.add(f"t.{name}::text")
    yield from _stream(line, inner, MEMBER_HEADERS)
