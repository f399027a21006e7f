"""Uploaded files kept for a job (a census file, a field-collection export) as PostgreSQL
large objects, written and read a chunk at a time.

A job row used to hold its upload in a `bytea` column: the request read the multipart
file whole into memory and psycopg2 escaped it into a query (a 100 MB census pair cost a
gigabyte in the web worker), and the worker read it back whole. A large object is
written from the request's spooled file a megabyte at a time and read back into a local
temporary file the same way; it lives in the database, so it is in the backups, on the
replica, and reachable from whichever host runs the worker. The row holds the object's
oid; a trigger on the job table unlinks the object when the oid is cleared or the row is
deleted (migration households 0026), so no code path can leave one behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO

from django.db import connection, transaction

CHUNK = 1024 * 1024  # bytes per write or read of a large object


def _pieces(source) -> Iterable[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        for start in range(0, len(source), CHUNK):
            yield bytes(source[start : start + CHUNK])
        return
    if hasattr(source, "chunks"):  # a Django UploadedFile (in memory or spooled to disk)
        source.seek(0)
        yield from source.chunks(CHUNK)
        return
    source.seek(0)
    while piece := source.read(CHUNK):
        yield piece


def upload_store(source) -> tuple[int, int]:
    """(oid, size in bytes) of a new large object holding `source`: bytes, a Django
    UploadedFile or a binary file. In a transaction of its own (or the caller's)."""
    size = 0
    with transaction.atomic():
        connection.ensure_connection()
        large = connection.connection.lobject(0, "wb")
        try:
            for piece in _pieces(source):
                large.write(piece)
                size += len(piece)
            return large.oid, size
        finally:
            large.close()


@contextmanager
def upload_open(oid: int | None) -> Iterator[IO[bytes] | None]:
    """The stored upload `oid` as a temporary local file, copied a chunk at a time and
    removed on exit (None when there is no upload)."""
    if oid is None:
        yield None
        return
    with tempfile.TemporaryFile(prefix="desapresisi-upload-") as handle:
        with transaction.atomic():
            connection.ensure_connection()
            large = connection.connection.lobject(oid, "rb")
            try:
                while piece := large.read(CHUNK):
                    handle.write(piece)
            finally:
                large.close()
        handle.seek(0)
        yield handle


def upload_bytes(oid: int | None) -> bytes | None:
    """The whole stored upload (small files only: field-collection exports, tests)."""
    with upload_open(oid) as handle:
        return None if handle is None else handle.read()
