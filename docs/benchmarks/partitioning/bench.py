"""Partitioning by province prefix against one table, 4,000,000 synthetic rows in 38
provinces (setup.sql, sorted.sql first). Median of 25 runs of planning + execution time
from EXPLAIN ANALYZE. Usage: python bench.py hh_flat|hh_sorted (on the database the SQL
files were run on; PG* environment variables or the defaults below)."""

import os
import statistics
import sys

import psycopg2

TABLE = sys.argv[1] if len(sys.argv) > 1 else "hh_flat"
PRUNE = "AND left(region_id, 2) = '33'"
CASES = {
    "province 33: count+sum": (
        "SELECT count(*), sum(tanpa_jamban::int) FROM {t} WHERE region_id LIKE '33.%' {p}"
    ),
    "kabupaten 33.05: count+sum": (
        "SELECT count(*), sum(tanpa_jamban::int) FROM {t} WHERE region_id LIKE '33.05.%' {p}"
    ),
    "kabupaten 33.05: first page of 50 by id": (
        "SELECT * FROM {t} WHERE region_id LIKE '33.05.%' {p} ORDER BY id LIMIT 50"
    ),
    "one household by id": "SELECT * FROM {t} WHERE id = 1234567",
    "50 households by id (a join's probe)": (
        "SELECT * FROM {t} WHERE id = ANY(ARRAY(SELECT generate_series(1000000, 1000049)))"
    ),
}


def median_ms(cursor, sql: str, runs: int = 25) -> float:
    times = []
    for _ in range(runs):
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0][0]
        times.append(plan["Execution Time"] + plan["Planning Time"])
    return round(statistics.median(times), 3)


def main() -> None:
    connection = psycopg2.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=int(os.environ.get("PGPORT", "5433")),
        user=os.environ.get("PGUSER", "postgres"),
        dbname=os.environ.get("PGDATABASE", "desapresisi_replica"),
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        print(f"| query | {TABLE} | hh_part, province given | hh_part, not given |")
        print("|---|---|---|---|")
        for name, sql in CASES.items():
            one = median_ms(cursor, sql.format(t=TABLE, p=""))
            pruned = median_ms(cursor, sql.format(t="hh_part", p=PRUNE if "{p}" in sql else ""))
            unpruned = median_ms(cursor, sql.format(t="hh_part", p=""))
            print(f"| {name} | {one} ms | {pruned} ms | {unpruned} ms |")


if __name__ == "__main__":
    main()
