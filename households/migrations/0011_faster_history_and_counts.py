"""Triggers that stay linear on large imports.

- The member counts are derived columns, which the history leaves out; the UPDATE that
  keeps them therefore runs with history switched off for its own statement, instead of
  diffing every touched household for nothing (an import of 100,000 households spent most
  of its time there).
- The update history converts each old and new row to JSON once (not once per column),
  skips rows whose recorded columns did not change before diffing them, and joins the two
  transition tables by hash, never by nested loop.
"""

from django.db import migrations

# As in migration 0006: derived columns and timestamps are not history.
HOUSEHOLD_SKIP = (
    "'dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats', 'tangga_sanitasi', "
    "'air_minum_layak', 'rumah_tidak_layak_huni'"
)
MEMBER_SKIP = "'dibuat', 'diubah', 'versi'"

COUNTS_BODY = """
    UPDATE households_household h
    SET jumlah_anggota = c.n, jumlah_ats = c.ats
    FROM (
        SELECT hh.id,
               count(m.id) AS n,
               count(m.id) FILTER (
                   WHERE m.partisipasi_sekolah IN (1, 3)
                     AND extract(year FROM age(hh.tanggal_survei, m.tanggal_lahir)) BETWEEN 7 AND 18
               ) AS ats
        FROM households_household hh
        LEFT JOIN households_member m ON m.household_id = hh.id
        WHERE hh.id = ANY(ids)
        GROUP BY hh.id
    ) c
    WHERE h.id = c.id
      AND (h.jumlah_anggota, h.jumlah_ats) IS DISTINCT FROM (c.n, c.ats);
"""

COUNTS_FAST = f"""
CREATE OR REPLACE FUNCTION households_member_counts(ids bigint[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    previous text := current_setting('desapresisi.history', true);
BEGIN
    PERFORM set_config('desapresisi.history', 'off', true);
    {COUNTS_BODY}
    PERFORM set_config('desapresisi.history', coalesce(previous, ''), true);
END $$;
"""

COUNTS_OLD = f"""
DROP FUNCTION households_member_counts(bigint[]);
CREATE FUNCTION households_member_counts(ids bigint[])
RETURNS void LANGUAGE sql AS $$ {COUNTS_BODY} $$;
"""


def history_update_sql(table: str, label: str, household_expr: str, skip: str) -> str:
    return rf"""
CREATE OR REPLACE FUNCTION {table}_history_upd() RETURNS trigger LANGUAGE plpgsql
SET enable_nestloop = off AS $$
BEGIN
    IF current_setting('desapresisi.history', true) = 'off' THEN RETURN NULL; END IF;
    -- MATERIALIZED: each row becomes JSON once; inlined, it would be rebuilt per column.
    WITH n AS MATERIALIZED (
        SELECT r.id, {household_expr.format(row="r")} AS household_id,
               to_jsonb(r) - ARRAY[{skip}] AS j
        FROM new_rows r
    ), o AS MATERIALIZED (
        SELECT r.id, to_jsonb(r) - ARRAY[{skip}] AS j FROM old_rows r
    )
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), '{label}', n.id,
           n.household_id, 'update',
           (SELECT jsonb_object_agg(e.key, jsonb_build_array(o.j -> e.key, e.value))
            FROM jsonb_each(n.j) e
            WHERE e.value IS DISTINCT FROM o.j -> e.key)
    FROM n JOIN o ON o.id = n.id
    WHERE n.j IS DISTINCT FROM o.j;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0010_indicator_value_suppression")]

    operations = [
        migrations.RunSQL(COUNTS_FAST, COUNTS_OLD),
        migrations.RunSQL(
            history_update_sql("households_household", "household", "{row}.id", HOUSEHOLD_SKIP)
            + history_update_sql("households_member", "member", "{row}.household_id", MEMBER_SKIP),
            # Going back keeps these functions: they record the same history as 0006's.
            migrations.RunSQL.noop,
        ),
    ]
