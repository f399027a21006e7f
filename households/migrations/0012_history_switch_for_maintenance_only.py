"""The change history can only be paused by the maintenance role, never by the web role.

Until now the history triggers skipped their work whenever the session had set the GUC
`desapresisi.history` to 'off', which any database session may do with set_config(): a
web role could rewrite households without leaving a trace. Now:

- A pause is a row in `desapresisi_maintenance.history_pause`, keyed by the transaction id
  (txid_current(): 64 bits, never reused), with who paused it and why. The row commits or
  rolls back with the transaction that paused, so a pause never outlives it.
- Only `desapresisi_maintenance.history_pause(reason)` writes that table: SECURITY DEFINER,
  owned by the role that runs the migrations (the maintenance role, owner of the tables),
  EXECUTE revoked from PUBLIC. The schema grants PUBLIC nothing but USAGE, so a blanket
  `GRANT ... ON ALL TABLES IN SCHEMA public` to the web role cannot expose the table.
- The triggers ask `desapresisi_maintenance.history_off(TG_RELID)`: true when this
  transaction was paused, or when the GUC is 'off' *and* the statement runs as the owner of
  the table. The second case is the member-count update, which runs as the owner
  (households_member_counts is now SECURITY DEFINER) and changes only derived columns the
  history leaves out: skipping the diff keeps large imports linear (migration 0011). A web
  role never runs as the owner, so the GUC alone does nothing for it.

The trigger bodies are otherwise those of migrations 0006 (insert, delete) and 0011
(update). See docs/database.md for the roles a production database needs.
"""

from django.db import migrations

# As in migrations 0006 and 0011: derived columns and timestamps are not history.
HOUSEHOLD_SKIP = (
    "'dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats', 'tangga_sanitasi', "
    "'air_minum_layak', 'rumah_tidak_layak_huni'"
)
MEMBER_SKIP = "'dibuat', 'diubah', 'versi'"

NEW_CHECK = "IF desapresisi_maintenance.history_off(TG_RELID) THEN RETURN NULL; END IF;"
OLD_CHECK = "IF current_setting('desapresisi.history', true) = 'off' THEN RETURN NULL; END IF;"

MAINTENANCE = r"""
CREATE SCHEMA desapresisi_maintenance;
REVOKE ALL ON SCHEMA desapresisi_maintenance FROM PUBLIC;
GRANT USAGE ON SCHEMA desapresisi_maintenance TO PUBLIC;

CREATE TABLE desapresisi_maintenance.history_pause (
    txid bigint PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    db_role name NOT NULL DEFAULT session_user,
    reason text NOT NULL CHECK (reason <> '')
);
REVOKE ALL ON desapresisi_maintenance.history_pause FROM PUBLIC;

CREATE FUNCTION desapresisi_maintenance.history_pause(reason text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO desapresisi_maintenance.history_pause (txid, reason)
    VALUES (txid_current(), reason)
    ON CONFLICT (txid) DO NOTHING;
$$;
REVOKE ALL ON FUNCTION desapresisi_maintenance.history_pause(text) FROM PUBLIC;

-- Readable by every role (through the definer): it only says whether the caller's own
-- transaction was paused.
CREATE FUNCTION desapresisi_maintenance.history_paused() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (
        SELECT 1 FROM desapresisi_maintenance.history_pause WHERE txid = txid_current()
    );
$$;

-- Not SECURITY DEFINER: current_user must be the caller's.
CREATE FUNCTION desapresisi_maintenance.history_off(relid oid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (
        coalesce(current_setting('desapresisi.history', true), '') = 'off'
        AND (SELECT relowner FROM pg_class WHERE oid = relid)
            = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    ) OR desapresisi_maintenance.history_paused();
$$;
"""

DROP_MAINTENANCE = "DROP SCHEMA desapresisi_maintenance CASCADE;"

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


def counts_sql(definer: bool) -> str:
    # As the owner, the history triggers of its own UPDATE honour the GUC (see above).
    security = "SECURITY DEFINER SET search_path = public, pg_temp" if definer else ""
    return f"""
CREATE OR REPLACE FUNCTION households_member_counts(ids bigint[])
RETURNS void LANGUAGE plpgsql {security} AS $$
DECLARE
    previous text := current_setting('desapresisi.history', true);
BEGIN
    PERFORM set_config('desapresisi.history', 'off', true);
    {COUNTS_BODY}
    PERFORM set_config('desapresisi.history', coalesce(previous, ''), true);
END $$;
"""


def history_sql(table: str, label: str, household_expr: str, skip: str, check: str) -> str:
    return rf"""
CREATE OR REPLACE FUNCTION {table}_history_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {check}
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), '{label}', n.id,
           {household_expr.format(row="n")}, 'insert',
           (SELECT jsonb_object_agg(key, jsonb_build_array(NULL, value))
            FROM jsonb_each(to_jsonb(n) - ARRAY[{skip}]))
    FROM new_rows n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {table}_history_upd() RETURNS trigger LANGUAGE plpgsql
SET enable_nestloop = off AS $$
BEGIN
    {check}
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

CREATE OR REPLACE FUNCTION {table}_history_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {check}
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), '{label}', o.id,
           {household_expr.format(row="o")}, 'delete',
           (SELECT jsonb_object_agg(key, jsonb_build_array(value, NULL))
            FROM jsonb_each(to_jsonb(o) - ARRAY[{skip}]))
    FROM old_rows o;
    RETURN NULL;
END $$;
"""


def triggers_sql(check: str) -> str:
    return history_sql(
        "households_household", "household", "{row}.id", HOUSEHOLD_SKIP, check
    ) + history_sql("households_member", "member", "{row}.household_id", MEMBER_SKIP, check)


FORWARD = MAINTENANCE + triggers_sql(NEW_CHECK) + counts_sql(definer=True)
# The old bodies first: they must not refer to the schema when it is dropped.
BACKWARD = triggers_sql(OLD_CHECK) + counts_sql(definer=False) + DROP_MAINTENANCE


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0011_faster_history_and_counts"),
        ("desapresisi", "0002_audit_append_only"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
