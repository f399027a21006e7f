"""History of every change to households and members, and the optimistic-lock version.

- Statement-level triggers with transition tables write one change record per row touched
  by an INSERT, UPDATE or DELETE, with the old and new values of the columns that changed
  and the acting user (`desapresisi.actor`, set by the web request or the command). Derived
  columns and timestamps are left out. Only the synthetic demo generator switches history
  off (`desapresisi.history = 'off'`, local to its transaction): its rows are not records.
- A BEFORE UPDATE row trigger raises `versi` whenever a row really changes, so a stale
  edit (an old `versi`) is detected whatever wrote the newer one.
"""

from django.db import migrations

HOUSEHOLD_SKIP = (
    "'dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats', 'tangga_sanitasi', "
    "'air_minum_layak', 'rumah_tidak_layak_huni'"
)
MEMBER_SKIP = "'dibuat', 'diubah', 'versi'"


def history_sql(table: str, label: str, household_expr: str, skip: str) -> str:
    return rf"""
CREATE FUNCTION {table}_history_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('desapresisi.history', true) = 'off' THEN RETURN NULL; END IF;
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), '{label}', n.id,
           {household_expr.format(row="n")}, 'insert',
           (SELECT jsonb_object_agg(key, jsonb_build_array(NULL, value))
            FROM jsonb_each(to_jsonb(n) - ARRAY[{skip}]))
    FROM new_rows n;
    RETURN NULL;
END $$;

CREATE FUNCTION {table}_history_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('desapresisi.history', true) = 'off' THEN RETURN NULL; END IF;
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), '{label}', d.id,
           d.household_id, 'update', d.changes
    FROM (
        SELECT n.id, {household_expr.format(row="n")} AS household_id,
               (SELECT jsonb_object_agg(key, jsonb_build_array(to_jsonb(o) -> key, value))
                FROM jsonb_each(to_jsonb(n) - ARRAY[{skip}])
                WHERE value IS DISTINCT FROM to_jsonb(o) -> key) AS changes
        FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) d
    WHERE d.changes IS NOT NULL;
    RETURN NULL;
END $$;

CREATE FUNCTION {table}_history_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('desapresisi.history', true) = 'off' THEN RETURN NULL; END IF;
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), '{label}', o.id,
           {household_expr.format(row="o")}, 'delete',
           (SELECT jsonb_object_agg(key, jsonb_build_array(value, NULL))
            FROM jsonb_each(to_jsonb(o) - ARRAY[{skip}]))
    FROM old_rows o;
    RETURN NULL;
END $$;

CREATE TRIGGER {table}_history_ins AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_history_ins();
CREATE TRIGGER {table}_history_upd AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {table}_history_upd();
CREATE TRIGGER {table}_history_del AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {table}_history_del();
"""


def drop_history_sql(table: str) -> str:
    return "\n".join(
        [
            f"DROP TRIGGER IF EXISTS {table}_history_{op} ON {table};"
            f"\nDROP FUNCTION IF EXISTS {table}_history_{op}();"
            for op in ("ins", "upd", "del")
        ]
    )


VERSION_SQL = rf"""
CREATE FUNCTION households_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - ARRAY[{HOUSEHOLD_SKIP}]) IS DISTINCT FROM
       (to_jsonb(OLD) - ARRAY[{HOUSEHOLD_SKIP}]) THEN
        NEW.versi := OLD.versi + 1;
    END IF;
    RETURN NEW;
END $$;

-- Updates that only carry the member counts (the count triggers) are not edits.
CREATE TRIGGER households_household_version BEFORE UPDATE ON households_household
    FOR EACH ROW
    WHEN (OLD.jumlah_anggota IS NOT DISTINCT FROM NEW.jumlah_anggota
          AND OLD.jumlah_ats IS NOT DISTINCT FROM NEW.jumlah_ats
          OR OLD.tanggal_survei IS DISTINCT FROM NEW.tanggal_survei)
    EXECUTE FUNCTION households_bump_version();
CREATE TRIGGER households_member_version BEFORE UPDATE ON households_member
    FOR EACH ROW EXECUTE FUNCTION households_bump_version();
"""

FORWARD = (
    history_sql("households_household", "household", "{row}.id", HOUSEHOLD_SKIP)
    + history_sql("households_member", "member", "{row}.household_id", MEMBER_SKIP)
    + VERSION_SQL
)
BACKWARD = (
    "DROP TRIGGER IF EXISTS households_member_version ON households_member;\n"
    "DROP TRIGGER IF EXISTS households_household_version ON households_household;\n"
    "DROP FUNCTION IF EXISTS households_bump_version();\n"
    + drop_history_sql("households_household")
    + "\n"
    + drop_history_sql("households_member")
)


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0005_version_columns"),
        ("desapresisi", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
