"""The SQL files under `<app>/sql/` are the current definitions of every trigger and
trigger function in the database.

Migrations apply frozen copies of them; this test reads what the migrated test database
really holds (pg_get_functiondef, pg_get_triggerdef) and compares it with the files,
ignoring whitespace only. It fails when a file and the database disagree (a migration
forgot the new body, or a file was not updated after a migration), when the database
holds a function or trigger no file describes, and when a file describes one the
database lacks. How to change a trigger: docs/database.md.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[1]
SQL_FILES = sorted(path for path in ROOT.glob("*/sql/*.sql") if not path.parts[-3].startswith("."))

FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION ([\w.]+)\(", re.IGNORECASE)
TRIGGER = re.compile(r"CREATE (?:CONSTRAINT )?TRIGGER (\w+) .*? ON ([\w.]+) ", re.IGNORECASE)
DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")

# Our own functions: not part of an extension (PostGIS keeps hundreds in `public`).
LIVE_FUNCTIONS = """
    SELECT n.nspname || '.' || p.proname, pg_get_functiondef(p.oid)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (
          SELECT 1 FROM pg_depend d
          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      )
"""
# User triggers only: the foreign keys' internal triggers are not ours to describe.
LIVE_TRIGGERS = """
    SELECT n.nspname || '.' || c.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
    FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal
"""


def split_statements(text: str) -> list[str]:
    """The statements of a SQL file, without their `;` and without the comments outside
    quoted text (a comment inside a function body is part of the body)."""
    statements: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                raise ValueError("unterminated /* comment")
            i = end + 2
            current.append(" ")
            continue
        if char in "'\"":
            end = text.find(char, i + 1)
            if end == -1:
                raise ValueError(f"unterminated {char} quote")
            current.append(text[i : end + 1])
            i = end + 1
            continue
        tag = DOLLAR_TAG.match(text, i) if char == "$" else None
        if tag:
            end = text.find(tag.group(), tag.end())
            if end == -1:
                raise ValueError(f"unterminated {tag.group()} quote")
            end += len(tag.group())
            current.append(text[i:end])
            i = end
            continue
        if char == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        i += 1
    rest = "".join(current).strip()
    if rest:
        statements.append(rest)
    return [statement for statement in statements if statement]


def normalised(sql: str) -> str:
    """`sql` with whitespace runs made one space, and none beside a parenthesis."""
    text = " ".join(sql.split())
    return re.sub(r" ?([()]) ?", r"\1", text).rstrip(";").strip()


def file_definitions() -> tuple[dict[str, list[tuple[str, str]]], dict[str, list]]:
    """({function: [(file, statement)]}, {schema.table.trigger: [(file, statement)]})."""
    functions: dict[str, list[tuple[str, str]]] = {}
    triggers: dict[str, list[tuple[str, str]]] = {}
    for path in SQL_FILES:
        for statement in split_statements(path.read_text(encoding="utf-8")):
            flat = normalised(statement)
            where = str(path.relative_to(ROOT))
            if match := FUNCTION.match(flat):
                functions.setdefault(match.group(1), []).append((where, statement))
            elif match := TRIGGER.match(" ".join(statement.split())):
                key = f"{match.group(2)}.{match.group(1)}"
                triggers.setdefault(key, []).append((where, statement))
            else:
                raise AssertionError(f"{where}: neither a function nor a trigger: {flat[:80]}")
    return functions, triggers


FILE_FUNCTIONS, FILE_TRIGGERS = file_definitions()


def live(query: str) -> dict[str, list[str]]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        rows = cursor.fetchall()
    found: dict[str, list[str]] = {}
    for key, definition in rows:
        found.setdefault(key, []).append(definition)
    return found


def difference(in_file: str, in_database: str) -> str:
    """A readable diff: line by line, or word by word when one side is a single line (as
    pg_get_triggerdef writes a trigger)."""

    def lines(sql: str) -> list[str]:
        return [" ".join(line.split()) for line in sql.splitlines() if line.strip()]

    if min(len(lines(in_file)), len(lines(in_database))) == 1:
        return "\n".join(
            difflib.unified_diff(
                in_file.split(), in_database.split(), "file", "database", n=2, lineterm=""
            )
        )
    return "\n".join(
        difflib.unified_diff(
            lines(in_file), lines(in_database), "file", "database", n=1, lineterm=""
        )
    )


def assert_same(kind: str, key: str, files: list[tuple[str, str]], in_database: list[str]):
    assert in_database, f"{files[0][0]} defines {kind} {key}, which the database does not hold"
    assert len(files) == len(in_database), (
        f"{kind} {key}: {len(files)} definition(s) in {[where for where, _ in files]}, "
        f"{len(in_database)} in the database"
    )
    unmatched = [normalised(definition) for definition in in_database]
    for where, statement in files:
        if normalised(statement) in unmatched:
            unmatched.remove(normalised(statement))
            continue
        closest = in_database[0] if len(in_database) == 1 else "\n\n".join(in_database)
        pytest.fail(
            f"{where}: {kind} {key} differs from the database (whitespace aside). Either the "
            "file was edited without a migration applying it, or a migration changed it "
            "without the file following (see docs/database.md).\n" + difference(statement, closest)
        )


@pytest.mark.parametrize("name", sorted(FILE_FUNCTIONS))
def test_function_file_matches_the_database(name):
    assert_same("function", name, FILE_FUNCTIONS[name], live(LIVE_FUNCTIONS).get(name, []))


@pytest.mark.parametrize("key", sorted(FILE_TRIGGERS))
def test_trigger_file_matches_the_database(key):
    assert_same("trigger", key, FILE_TRIGGERS[key], live(LIVE_TRIGGERS).get(key, []))


def test_every_function_in_the_database_has_a_file():
    assert sorted(set(live(LIVE_FUNCTIONS)) - set(FILE_FUNCTIONS)) == []


def test_every_trigger_in_the_database_has_a_file():
    assert sorted(set(live(LIVE_TRIGGERS)) - set(FILE_TRIGGERS)) == []


def test_the_comparison_ignores_whitespace_and_nothing_else():
    body = "CREATE OR REPLACE FUNCTION public.f()\n RETURNS int\nAS $function$ SELECT 1 $function$"
    assert normalised(body) == normalised(
        "CREATE  OR REPLACE FUNCTION public.f( )\n\tRETURNS int AS $function$\n"
        "  SELECT 1\n$function$;"
    )
    assert normalised(body) != normalised(body.replace("SELECT 1", "SELECT 2"))
    assert normalised(body) != normalised(body.replace("RETURNS", "RETURNS SETOF"))


def test_statements_split_outside_quotes_and_comments_only():
    text = (
        "-- header; not a statement\n"
        "CREATE OR REPLACE FUNCTION public.f() RETURNS text AS $function$\n"
        "BEGIN -- inside; kept\n RETURN 'a;b'; END $function$;\n"
        "CREATE TRIGGER t AFTER INSERT ON public.x FOR EACH ROW EXECUTE FUNCTION f();\n"
    )
    first, second = split_statements(text)
    assert "-- inside; kept" in first and "'a;b'" in first and "header" not in first
    assert second.startswith("CREATE TRIGGER t")
