"""Writing: staging tables filled with COPY, then one set-based upsert."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO

from django.db import transaction
from django.utils.translation import gettext_noop

from desapresisi.db import copy_rows
from desapresisi.i18n import Message
from villages.selectors import UNIT_PROBLEM_MESSAGES

from .. import schema
from ..models import DataSource
from ..services import village_write_problem
from .columns import (
    HOUSEHOLD_SHEET,
    MEMBER_SHEET,
    REMOVE,
    STAGE_CHUNK_ROWS,
    Column,
    SheetRows,
    household_columns,
    household_staging,
    member_columns,
    member_staging,
)
from .validate import (
    _access_problem,
    _against_database,
    _cross_checks,
    _FileState,
    _household_rules,
    _member_rules,
    _Validator,
)

# --- writing -----------------------------------------------------------------------------

# progress(done, total, phase): rows done of total in a phase; the phases, in order, are
# validate, stage (COPY into the staging tables), upsert and refresh (indicators).
Progress = Callable[[int, int, str], None]


# ON COMMIT DROP cleans up after a real commit; the DROP covers a caller's outer
# transaction (tests, a command run inside atomic) where a second import follows. `n` is
# the row number in the file: every row read is staged, rejected ones too (their failing
# cells NULL), so the cross-row rules run in SQL; rejected rows are dropped before the
# upserts.
def _staging_sql() -> str:
    """The staging tables: `n`, then the catalogue's importable columns with the types of
    the tables' own columns (a member's household as its No. KK)."""

    def table(name: str, unit: str) -> str:
        columns = ", ".join(f"{c} {sql_type}" for c, sql_type in schema.staging_columns(unit))
        return f"CREATE TEMP TABLE {name} (n integer, {columns}) ON COMMIT DROP;"

    return "\n".join(
        [
            "DROP TABLE IF EXISTS pg_temp.import_household, pg_temp.import_member;",
            table("import_household", schema.HOUSEHOLD),
            table("import_member", schema.MEMBER),
        ]
    )


def staging_signature() -> str:
    """What staging rows kept by a dry run are valid for: the staging tables' columns and
    types as this code makes them (a deploy between a dry run and its commit that
    changes them makes the commit read the file again)."""
    return hashlib.sha256(_staging_sql().encode()).hexdigest()[:16]


@dataclass
class StagedRows:
    """The two staging tables of a dry run without errors, in PostgreSQL's binary COPY
    format (every row of the file: none was rejected). A dry run given these writes them;
    a commit given these loads them instead of reading and checking the file again, then
    runs every check against the database as before, as it is at the commit."""

    households: IO[bytes]
    members: IO[bytes]


def _staged_copy(table: str, unit: str, direction: str) -> str:
    columns = ", ".join(["n", *(c for c, _type in schema.staging_columns(unit))])
    return f"COPY {table} ({columns}) {direction} WITH (FORMAT binary)"


def _staged_keep(cursor, staged: StagedRows) -> None:
    cursor.copy_expert(
        _staged_copy("import_household", schema.HOUSEHOLD, "TO STDOUT"), staged.households
    )
    cursor.copy_expert(_staged_copy("import_member", schema.MEMBER, "TO STDOUT"), staged.members)


def _staged_load(v: _Validator, cursor, *, staged: StagedRows, state: _FileState) -> None:
    """The kept rows back into the staging tables, and the checks of the file's rows that
    depend on what the database holds now: the caller's rights to each village named and
    whether the village may be written (a sign-off may have locked it since)."""
    cursor.copy_expert(
        _staged_copy("import_household", schema.HOUSEHOLD, "FROM STDIN"), staged.households
    )
    cursor.copy_expert(_staged_copy("import_member", schema.MEMBER, "FROM STDIN"), staged.members)
    cursor.execute(
        "SELECT (SELECT count(*) FROM import_household), (SELECT count(*) FROM import_member)"
    )
    state.rows[HOUSEHOLD_SHEET], state.rows[MEMBER_SHEET] = cursor.fetchone()
    cursor.execute(
        """
        SELECT region_id, array_agg(n ORDER BY n) FROM import_household
        WHERE region_id IS NOT NULL GROUP BY region_id ORDER BY region_id
        """
    )
    for code, numbers in cursor.fetchall():
        state.regions.add(code)
        problem = _access_problem(v, code) or village_write_problem(region_code=code)
        if problem is None:
            continue
        for number in numbers:
            v.error(HOUSEHOLD_SHEET, number, "kode_desa", code, problem)


_STAGING_INDEX_SQL = """
CREATE INDEX ON import_household (no_kk);
CREATE INDEX ON import_member (nik);
CREATE INDEX ON import_member (no_kk);
ANALYZE import_household;
ANALYZE import_member;
"""


def _assignments(columns: list[str], *, skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in skip)


def _household_changed(new: str) -> str:
    """SQL: the stored household `t` differs from the file's row `new` (EXCLUDED in the
    upsert, the staging row in a dry run's count: one condition for both). Spreadsheets
    keep 15 significant digits: a point that moved less than ~0.1 mm is the same point, or
    a re-imported export would count as changed."""
    kept = [c for c in household_staging() if c not in ("no_kk", "lokasi")]
    return f"""(({", ".join(f"t.{c}" for c in kept)})
                IS DISTINCT FROM ({", ".join(f"{new}.{c}" for c in kept)})
               OR (t.lokasi IS NULL) <> ({new}.lokasi IS NULL)
               OR NOT ST_DWithin(t.lokasi, {new}.lokasi, 1e-9))"""


def _member_changed(new: str) -> str:
    """SQL: the stored member `t` differs from the file's row `new` (as above)."""
    kept = [c for c in member_staging() if c not in ("no_kk", "nik")]
    return f"""(({", ".join(f"t.{c}" for c in kept)})
                IS DISTINCT FROM ({", ".join(f"{new}.{c}" for c in kept)}))"""


def _upsert_households(cursor) -> tuple[int, int]:
    """(inserted, updated) households; unchanged rows are not touched at all."""
    columns = household_staging()
    assignments = _assignments(columns, skip=("no_kk",))
    cursor.execute(
        f"""
        INSERT INTO households_household AS t ({", ".join(columns)}, sumber_data, dibuat, diubah)
        SELECT {", ".join(columns)}, %(source)s, now(), now() FROM import_household
        ON CONFLICT (no_kk) DO UPDATE SET {assignments}, sumber_data = %(source)s, diubah = now()
        WHERE {_household_changed("EXCLUDED")}
        RETURNING (xmax = 0)
        """,  # noqa: S608 - column names are constants of this module
        {"source": DataSource.IMPORT},
    )
    flags = [row[0] for row in cursor.fetchall()]
    return sum(flags), len(flags) - sum(flags)


def _changes_counted(cursor, *, missing_members: str) -> dict[str, int]:
    """What the upserts would write, counted without writing (a dry run): rows whose key
    is not stored are new; stored rows are changed when the upserts' own condition holds
    (the same columns compared, points within 1e-9 degrees the same point). Members of a
    stored household that the file leaves out are removed with missing_members=remove."""
    cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE t.id IS NULL),
               count(*) FILTER (WHERE t.id IS NOT NULL AND {_household_changed("s")})
        FROM import_household s LEFT JOIN households_household t ON t.no_kk = s.no_kk
        """  # noqa: S608 - column names are constants of this module
    )
    households_new, households_updated = cursor.fetchone()
    cursor.execute(
        f"""
        SELECT count(*) FILTER (WHERE t.id IS NULL),
               count(*) FILTER (WHERE t.id IS NOT NULL AND {_member_changed("s")})
        FROM import_member s LEFT JOIN households_member t ON t.nik = s.nik
        """  # noqa: S608 - column names are constants of this module
    )
    members_new, members_updated = cursor.fetchone()
    removed = 0
    if missing_members == REMOVE:
        cursor.execute(
            """
            SELECT count(*) FROM households_member m JOIN households_household h
                ON h.id = m.household_id
            WHERE h.no_kk IN (SELECT no_kk FROM import_household)
              AND m.nik NOT IN (SELECT nik FROM import_member)
            """
        )
        (removed,) = cursor.fetchone()
    return {
        "households_new": households_new,
        "households_updated": households_updated,
        "members_new": members_new,
        "members_updated": members_updated,
        "members_removed": removed,
    }


def _remove_missing_members(cursor) -> int:
    cursor.execute(
        """
        DELETE FROM households_member m USING households_household h
        WHERE h.id = m.household_id
          AND h.no_kk IN (SELECT no_kk FROM import_household)
          AND m.nik NOT IN (SELECT nik FROM import_member)
        """
    )
    return cursor.rowcount


def _upsert_members(cursor) -> tuple[int, int]:
    """(inserted, updated) members, matched on NIK."""
    columns = [c for c in member_staging() if c != "no_kk"]
    assignments = _assignments(columns, skip=("nik",))
    # A new head is written only after the old one stepped down: the "at most one head"
    # index is checked row by row, not at the end of the statement.
    cursor.execute(
        """
        UPDATE households_member m SET hubungan_keluarga = s.hubungan_keluarga, diubah = now()
        FROM import_member s
        WHERE s.nik = m.nik AND m.hubungan_keluarga = 1 AND s.hubungan_keluarga <> 1
        RETURNING m.nik
        """
    )
    demoted = {row[0] for row in cursor.fetchall()}
    cursor.execute(
        f"""
        INSERT INTO households_member AS t (household_id, {", ".join(columns)}, dibuat, diubah)
        SELECT h.id, {", ".join("s." + c for c in columns)}, now(), now()
        FROM import_member s JOIN households_household h ON h.no_kk = s.no_kk
        ORDER BY s.hubungan_keluarga DESC
        ON CONFLICT (nik) DO UPDATE SET {assignments}, diubah = now()
        WHERE {_member_changed("EXCLUDED")}
        RETURNING (xmax = 0), nik
        """  # noqa: S608 - column names are constants of this module
    )
    rows = cursor.fetchall()
    inserted = sum(1 for flag, _nik in rows if flag)
    updated_niks = {nik for flag, nik in rows if not flag}
    return inserted, len(updated_niks | demoted)


def _household_copy_row(number: int, row: dict, columns: list[str]) -> list:
    point = None
    if row["lintang"] is not None and row["bujur"] is not None:
        point = f"SRID=4326;POINT({row['bujur']!r} {row['lintang']!r})"
    values = {**row, "region_id": row["kode_desa"], "lokasi": point}
    return [number, *(values[c] for c in columns)]


def _member_copy_row(number: int, row: dict, columns: list[str]) -> list:
    return [number, *(row[c] for c in columns)]


def _chunks(rows: Iterable, size: int = STAGE_CHUNK_ROWS) -> Iterable[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_and_stage(
    v: _Validator,
    cursor,
    *,
    sheet: SheetRows,
    columns: list[Column],
    rules: Callable[[_Validator, list[tuple[int, dict]], _FileState], None],
    table: str,
    copy_columns: list[str],
    copy_row: Callable[[int, dict, list[str]], list],
    state: _FileState,
    step: Callable[[int], None],
) -> None:
    """Read a sheet chunk by chunk: parse, check, COPY into its staging table, forget."""
    for raw in _chunks(sheet.rows):
        parsed = v.parse(sheet.name, columns, raw)
        rules(v, parsed, state)
        copy_rows(
            table=table,
            columns=copy_columns,
            rows=[copy_row(number, row, copy_columns[1:]) for number, row in parsed],
            cursor=cursor,
        )
        state.rows[sheet.name] += len(parsed)
        step(len(parsed))


def _read_sheets(
    v: _Validator,
    cursor,
    *,
    households: SheetRows,
    members: SheetRows,
    state: _FileState,
    step: Callable[[int], None],
) -> None:
    """Both sheets read, checked and staged (the members only after some households)."""
    _read_and_stage(
        v,
        cursor,
        sheet=households,
        columns=household_columns(),
        rules=_household_rules,
        table="import_household",
        copy_columns=["n", *household_staging()],
        copy_row=_household_copy_row,
        state=state,
        step=step,
    )
    if not state.rows[HOUSEHOLD_SHEET]:
        return
    _read_and_stage(
        v,
        cursor,
        sheet=members,
        columns=member_columns(),
        rules=_member_rules,
        table="import_member",
        copy_columns=["n", *member_staging()],
        copy_row=_member_copy_row,
        state=state,
        step=step,
    )


def _drop_rejected(v: _Validator, cursor) -> tuple[int, int]:
    """Leaves only the rows to write; returns how many households and members they are."""
    cursor.execute(
        "DELETE FROM import_household WHERE n = ANY(%s)", [sorted(v.bad_rows[HOUSEHOLD_SHEET])]
    )
    cursor.execute(
        """
        DELETE FROM import_member s WHERE s.n = ANY(%s)
           OR NOT EXISTS (SELECT 1 FROM import_household h WHERE h.no_kk = s.no_kk)
        """,
        [sorted(v.bad_rows[MEMBER_SHEET])],
    )
    cursor.execute(
        "SELECT (SELECT count(*) FROM import_household), (SELECT count(*) FROM import_member)"
    )
    return cursor.fetchone()


# --- the units below the village (dusun, RW, RT) ---------------------------------------

# The first import into a village without units makes its units from the names in the
# file and those its stored households (the ones the file does not replace) already use,
# so that no household is left naming a unit its village lacks: dusun, RW under their
# dusun (or the village), RT under their RW (or dusun, or the village), the same rule
# households_unit_resolve reads back. (The migration that introduced units ran the same
# on the households.)
UNITS_FROM_NAMES = """
INSERT INTO villages_villageunit (region_id, kind, parent_id, name, kepala)
SELECT DISTINCT s.region_id, 'dusun', NULL::bigint, s.dusun, ''
FROM {source} s WHERE s.region_id = ANY(%(villages)s) AND s.dusun <> ''
ON CONFLICT ON CONSTRAINT village_unit_unique_name DO NOTHING;
INSERT INTO villages_villageunit (region_id, kind, parent_id, name, kepala)
SELECT DISTINCT s.region_id, 'rw', d.id, s.rw, ''
FROM {source} s
LEFT JOIN villages_villageunit d
    ON d.region_id = s.region_id AND d.kind = 'dusun' AND d.name = s.dusun
WHERE s.region_id = ANY(%(villages)s) AND s.rw <> ''
ON CONFLICT ON CONSTRAINT village_unit_unique_name DO NOTHING;
INSERT INTO villages_villageunit (region_id, kind, parent_id, name, kepala)
SELECT DISTINCT s.region_id, 'rt', coalesce(w.id, d.id), s.rt, ''
FROM {source} s
LEFT JOIN villages_villageunit d
    ON d.region_id = s.region_id AND d.kind = 'dusun' AND d.name = s.dusun
LEFT JOIN villages_villageunit w
    ON w.region_id = s.region_id AND w.kind = 'rw' AND w.name = s.rw
   AND w.parent_id IS NOT DISTINCT FROM d.id
WHERE s.region_id = ANY(%(villages)s) AND s.rt <> ''
ON CONFLICT ON CONSTRAINT village_unit_unique_name DO NOTHING;
"""


def units_from_names(cursor, *, villages: list[str], source: str) -> int:
    """Make the units that the rows of `source` (a table or a parenthesised query with
    region_id, dusun, rw, rt) name in `villages` and that do not exist yet; returns how
    many were made. The census import's first import and the demo generator use it."""
    created = 0
    for statement in UNITS_FROM_NAMES.format(source=source).split(";"):
        if statement.strip():
            cursor.execute(statement, {"villages": villages})
            created += cursor.rowcount
    return created


def _units_from_file(v: _Validator, cursor) -> int:
    """Units made from the file for the villages (in the caller's scope) that have none
    yet; then every row's dusun, RW and RT checked against its village's units. Returns
    how many units were made (a dry run makes them too, and rolls them back)."""
    cursor.execute(
        """
        SELECT DISTINCT s.region_id FROM import_household s
        JOIN villages_region r ON r.code = s.region_id AND r.level = 'desa'
        WHERE (s.dusun <> '' OR s.rw <> '' OR s.rt <> '')
          AND (%(scope)s::text[] IS NULL OR s.region_id = ANY(%(scope)s::text[]))
          AND NOT EXISTS (SELECT 1 FROM villages_villageunit u WHERE u.region_id = s.region_id)
        """,
        {"scope": v.scope},
    )
    villages = sorted(row[0] for row in cursor.fetchall())
    created = 0
    if villages:
        source = """(
            SELECT region_id, dusun, rw, rt FROM import_household
            UNION
            SELECT h.region_id, h.dusun, h.rw, h.rt FROM households_household h
            WHERE h.region_id = ANY(%(villages)s)
              AND NOT EXISTS (SELECT 1 FROM import_household i WHERE i.no_kk = h.no_kk)
        )"""
        created = units_from_names(cursor, villages=villages, source=source)
    cursor.execute(
        """
        SELECT s.n, r.problem, CASE r.problem WHEN 'dusun' THEN s.dusun
                                              WHEN 'rw' THEN s.rw ELSE s.rt END
        FROM import_household s,
             LATERAL households_unit_resolve(s.region_id, s.dusun, s.rw, s.rt) r
        WHERE s.region_id IS NOT NULL AND r.problem IS NOT NULL
        ORDER BY s.n
        """
    )
    for number, problem, name in cursor.fetchall():
        v.error(
            HOUSEHOLD_SHEET,
            number,
            problem,
            name or "",
            Message(UNIT_PROBLEM_MESSAGES[problem], name=name or ""),
        )
    return created


@dataclass
class _Outcome:
    written: dict[str, int] | None = None
    missing: list[dict] = field(default_factory=list)
    missing_count: int = 0
    committed: bool = False
    units_created: int = 0
    staged: bool = False  # the dry run's rows were kept (`staged_out`)


def _validate_and_write(
    v: _Validator,
    cursor,
    *,
    households: SheetRows,
    members: SheetRows,
    state: _FileState,
    dry_run: bool,
    missing_members: str,
    progress: Progress,
    staged_in: StagedRows | None = None,
    staged_out: StagedRows | None = None,
) -> _Outcome:
    """Inside the import's one transaction: read, check and stage both sheets, run the
    checks over all rows, then (any row left to write) upsert; rolled back unless it is a
    commit without errors.

    `progress` is called from inside the transaction: the job writes it through a
    connection of its own (see `_JobProgress`), or pollers would see nothing until the
    commit.

    `staged_in`: the rows a dry run kept, loaded instead of reading `households` and
    `members`; `staged_out`: where a dry run without errors keeps its rows."""
    outcome = _Outcome()
    estimate = households.estimated_rows + members.estimated_rows
    done = 0

    def step(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done, max(estimate, done), "validate")

    cursor.execute(_staging_sql())
    if staged_in is not None:
        _staged_load(v, cursor, staged=staged_in, state=state)
    else:
        _read_sheets(v, cursor, households=households, members=members, state=state, step=step)
    if not state.rows[HOUSEHOLD_SHEET]:
        v.error(
            HOUSEHOLD_SHEET,
            None,
            "",
            "",
            Message(gettext_noop("Lembar rumah_tangga tidak berisi data.")),
        )
        transaction.set_rollback(True)
        return outcome
    total = sum(state.rows.values())
    progress(total, total, "validate")
    cursor.execute(_STAGING_INDEX_SQL)
    _cross_checks(v, cursor)
    outcome.units_created = _units_from_file(v, cursor)
    outcome.missing, outcome.missing_count = _against_database(
        v, cursor, missing_members=missing_members
    )
    good_households, _good_members = _drop_rejected(v, cursor)
    progress(total, total, "stage")
    keep = not dry_run and not v.error_count
    if good_households and dry_run:
        # Counted, not written: a dry run takes no row lock an operator's edit would wait
        # for, and costs a read instead of the write; the commit writes and runs the
        # deferred checks (one head per household), all against the database as it then is.
        progress(0, total, "upsert")
        outcome.written = _changes_counted(cursor, missing_members=missing_members)
        progress(total, total, "upsert")
    elif good_households:
        progress(0, total, "upsert")
        # The head checks wait for the end, as they are declared: an earlier import in a
        # caller's transaction (a command run inside atomic, a test) left them IMMEDIATE,
        # and a household would then be checked before its members are written.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        removed = _remove_missing_members(cursor) if missing_members == REMOVE else 0
        hh_new, hh_updated = _upsert_households(cursor)
        progress(good_households, total, "upsert")
        m_new, m_updated = _upsert_members(cursor)
        # Deferred checks (one head per household) run now, so a dry run catches them too;
        # not when rows were already rejected: the rollback is certain, and the check would
        # only repeat, without a row number, what a rejected member row already says.
        if not v.error_count:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        progress(total, total, "upsert")
        outcome.written = {
            "households_new": hh_new,
            "households_updated": hh_updated,
            "members_new": m_new,
            "members_updated": m_updated,
            "members_removed": removed,
        }
    if staged_out is not None and dry_run and good_households and not v.error_count:
        # Every check passed, the deferred ones too: the rows are worth keeping.
        _staged_keep(cursor, staged_out)
        outcome.staged = True
    outcome.committed = keep and good_households > 0
    if not outcome.committed:
        transaction.set_rollback(True)
    return outcome
