"""CSV exports whose lines PostgreSQL writes.

The row-by-row export in exports.py (labels, masking and cell conversion in Python) spends
about 30 microseconds per row; a million households took 31 s where `COPY ... TO STDOUT`
takes 2. Here the same columns are computed in SQL and PostgreSQL writes the file itself
(`COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)`: a value is quoted only when it holds a
comma, a quote or a line break, as `csv.writer` does). A worker thread runs the COPY on
the request's own database connection and hands the bytes over through a small bounded
queue, so the response streams in constant memory. The row path stays for XLSX and
GeoJSON, and the tests hold both to the same rows.

The rules that decide what a caller sees are the same ones, written for the database:
`Disclosure` (names hidden or numbers masked, see desapresisi.access and
desapresisi.masking.mask_number) and the labels of the codebook in the chosen language.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import translation

from desapresisi.access import HOUSEHOLD_NAMED_FIELDS, MEMBER_NAMED_FIELDS, Disclosure
from desapresisi.masking import mask_sql

from .. import codebook as cb
from .. import schema
from ..census_import.columns import household_columns, member_columns
from ..filters import annotate_age
from .rows import (
    FORMULA_STARTS,
    _coordinates,
    household_headers,
    member_headers,
    neutralised,
)

CHUNK_BYTES = 256 * 1024  # bytes handed to the response at a time
QUEUE_CHUNKS = 16  # chunks the COPY may run ahead of a slow client

_BOOL = "CASE WHEN {c} THEN 1 WHEN NOT {c} THEN 0 END"
# exports.neutralised in SQL: text a spreadsheet would read as a formula gets a leading
# single quote. The characters are bound as parameters (tab and CR among them).
_NEUTRAL = (
    "CASE WHEN left({c}, 1) IN (" + ", ".join(["%s"] * len(FORMULA_STARTS)) + ") "
    "THEN '''' || {c} ELSE {c} END"
)


class _Line:
    """The fields of one export line, as SQL expressions with the values they bind.
    Text that may be empty becomes NULL, which COPY writes as an empty field (as
    csv.writer writes both None and ""), never as a pair of quotes."""

    def __init__(self) -> None:
        self.expressions: list[str] = []
        self.params: list = []

    def add(self, expression: str, params: tuple = (), *, may_be_empty: bool = False) -> None:
        self.expressions.append(f"NULLIF({expression}, '')" if may_be_empty else expression)
        self.params.extend(params)

    def text(self, expression: str, *, may_be_empty: bool = False) -> None:
        """A text field, neutralised as exports.neutralised does (every text cell is).
        `expression` binds no parameters of its own."""
        self.add(_NEUTRAL.format(c=expression), FORMULA_STARTS, may_be_empty=may_be_empty)

    def labels(self, column: str, pairs: list[tuple[int, str]]) -> None:
        if not pairs:
            self.add(column)
            return
        whens = " ".join("WHEN %s THEN %s" for _ in pairs)
        # Labels are fixed text, neutralised here once rather than per row.
        params = tuple(value for code, label in pairs for value in (code, neutralised(label)))
        self.add(f"CASE {column} {whens} ELSE {column}::text END", params)


def _add_column(line: _Line, column, source: str, *, hidden: bool, masked: bool, language):
    if hidden:
        line.add("NULL::text")
    elif column.kind in ("kk", "nik"):
        line.text(mask_sql(source) if masked else source, may_be_empty=True)
    elif column.kind == "region":
        line.text(source)
    elif column.kind == "text":
        line.text(source, may_be_empty=True)
    elif column.kind == "date":
        line.add(source)  # written by COPY in ISO form (psycopg2 needs DateStyle ISO anyway)
    elif column.kind in ("bool", "bool_null"):
        line.add(_BOOL.format(c=source))
    elif column.kind == "coord":
        # As Python writes a float: 116.0, not PostgreSQL's 116.
        line.add(
            f"CASE WHEN {source} = trunc({source}) THEN trunc({source})::bigint::text || '.0' "
            f"ELSE {source}::text END"
        )
    else:  # int, coded: COPY writes numbers itself
        line.add(source)
    if column.kind == "coded" and not hidden:
        pairs = [(entry.code, entry.label(language)) for entry in cb.codebook()[column.variable]]
        line.labels(source, pairs)


def _stream(line: _Line, inner: QuerySet, headers: list[str]) -> Iterator[bytes]:
    # A filter that can never match (`tangga_sanitasi__lte=-1`, an integer beyond the
    # column's range) makes Django's compiler raise EmptyResultSet instead of writing SQL;
    # without eliding, it writes `0 = 1` and the file is the header alone.
    compiler = inner.query.get_compiler(using=inner.db, elide_empty=False)
    inner_sql, inner_params = compiler.as_sql()
    # Django 5.2 selects values() columns in the order given, annotations included.
    names = list(inner.query.selected)
    select = (
        f"SELECT {', '.join(line.expressions)} "  # noqa: S608 - built from this module's constants
        # OFFSET 0: each column of the inner query computed once (the point's coordinates
        # are used more than once by the expressions; flattened, ST_X/ST_Y would repeat).
        f"FROM ({inner_sql} OFFSET 0) AS t({', '.join(names)})"
    )
    yield ("\ufeff" + ",".join(headers) + "\n").encode()
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        copy = f"COPY ({cursor.mogrify(select, [*line.params, *inner_params]).decode()}) "
    yield from _copy_out(raw, copy + "TO STDOUT WITH (FORMAT csv)")


class _Stopped(Exception):
    """The client went away: the COPY stops at its next chunk."""


class _Sink:
    """What psycopg2's copy_expert writes to: rows gathered into chunks for the queue."""

    def __init__(self, chunks: queue.Queue, stop: threading.Event) -> None:
        self.chunks, self.stop = chunks, stop
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> None:  # once per row: keep it short
        self.parts.append(data)
        self.size += len(data)
        if self.size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.stop.is_set():
            raise _Stopped
        if self.parts:
            self.chunks.put(b"".join(self.parts))
            self.parts, self.size = [], 0


_DONE = object()


def _copy_out(raw, sql: str) -> Iterator[bytes]:
    """The output of a COPY ... TO STDOUT, chunk by chunk, while the COPY runs.

    psycopg2 only offers COPY as one blocking call that writes into a file object, so it
    runs in a worker thread on the same connection (the request's: same transaction, and
    nothing else uses the connection while the response streams). If the client leaves,
    the worker stops at its next chunk and the connection is closed, not reused."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    stop = threading.Event()

    def work() -> None:
        sink = _Sink(chunks, stop)
        try:
            with raw.cursor() as cursor:
                cursor.copy_expert(sql, sink)
            sink.flush()
            chunks.put(_DONE)
        except BaseException as exc:  # handed to the response's thread
            chunks.put(exc)

    worker = threading.Thread(target=work, name="csv-copy", daemon=True)
    worker.start()
    finished = False
    try:
        while (item := chunks.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
        finished = True
    finally:
        if not finished:
            stop.set()
            while worker.is_alive():  # let a blocked put() through, then the worker ends
                try:
                    chunks.get_nowait()
                except queue.Empty:
                    worker.join(0.05)
            connection.close()  # the COPY was cut short: never reuse this connection
        worker.join()


def _add_tail(line: _Line, unit: str) -> None:
    """The derived values (with the labels of their choices) and the bookkeeping after
    the sheet's columns (`schema.export_tail`), in the active language."""
    for column in schema.export_tail(unit):
        source = f"t.{column.source}"
        if column.kind == "label":
            line.labels(source, [(value, str(label)) for value, label in column.choices])
        elif column.kind == "bool":
            line.add(_BOOL.format(c=source))
        elif column.kind == "text":
            line.text(source, may_be_empty=True)
        else:
            line.add(source)


def household_csv(*, queryset: QuerySet, disclosure: Disclosure, language: str) -> Iterator[bytes]:
    """The households CSV (same columns, order and values as `exports.household_rows`
    through `exports.csv_stream`)."""
    values = [name for name in schema.export_values(schema.HOUSEHOLD) if name != "lokasi"]
    inner = queryset.order_by("id").values(*values, **_coordinates("lokasi"))
    sources = {name: f"t.{name}" for name in [*values, "lintang", "bujur"]}
    sources["kode_desa"] = "t.region_id"
    line = _Line()
    with translation.override(language):
        for column in household_columns():
            _add_column(
                line,
                column,
                sources[column.name],
                hidden=not disclosure.names and column.name in HOUSEHOLD_NAMED_FIELDS,
                masked=not disclosure.unmasked,
                language=language,
            )
        _add_tail(line, schema.HOUSEHOLD)
    yield from _stream(line, inner, household_headers())


def member_csv(*, queryset: QuerySet, disclosure: Disclosure, language: str) -> Iterator[bytes]:
    """The members CSV (same columns, order and values as `exports.member_rows` through
    `exports.csv_stream`)."""
    if "umur" not in queryset.query.annotations:
        queryset = annotate_age(queryset, None)
    inner = queryset.order_by("household_id", "hubungan_keluarga", "id").values(
        *schema.export_values(schema.MEMBER),
        no_kk=F("household__no_kk"),
        kode_desa=F("household__region_id"),
    )
    line = _Line()
    with translation.override(language):
        for column in member_columns():
            _add_column(
                line,
                column,
                f"t.{column.name}",
                hidden=not disclosure.names and column.name in MEMBER_NAMED_FIELDS,
                masked=not disclosure.unmasked,
                language=language,
            )
        _add_tail(line, schema.MEMBER)
    yield from _stream(line, inner, member_headers())
