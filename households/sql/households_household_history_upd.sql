-- Change history: one desapresisi_changerecord row per household whose recorded columns
-- changed, with old and new values of those columns only. Each row becomes JSON once and the
-- transition tables are joined by hash (linear on large imports).
-- Created by households/migrations/0006; replaced by 0011 and 0012.

CREATE OR REPLACE FUNCTION public.households_household_history_upd()
 RETURNS trigger
 LANGUAGE plpgsql
 SET enable_nestloop TO 'off'
AS $function$
BEGIN
    IF desapresisi_maintenance.history_off(TG_RELID) THEN RETURN NULL; END IF;
    -- MATERIALIZED: each row becomes JSON once; inlined, it would be rebuilt per column.
    WITH n AS MATERIALIZED (
        SELECT r.id, r.id AS household_id,
               to_jsonb(r) - ARRAY['dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats',
                                   'tangga_sanitasi', 'air_minum_layak', 'rumah_tidak_layak_huni'] AS j
        FROM new_rows r
    ), o AS MATERIALIZED (
        SELECT r.id, to_jsonb(r) - ARRAY['dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats',
                                         'tangga_sanitasi', 'air_minum_layak', 'rumah_tidak_layak_huni'] AS j FROM old_rows r
    )
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), 'household', n.id,
           n.household_id, 'update',
           (SELECT jsonb_object_agg(e.key, jsonb_build_array(o.j -> e.key, e.value))
            FROM jsonb_each(n.j) e
            WHERE e.value IS DISTINCT FROM o.j -> e.key)
    FROM n JOIN o ON o.id = n.id
    WHERE n.j IS DISTINCT FROM o.j;
    RETURN NULL;
END $function$;

CREATE TRIGGER households_household_history_upd AFTER UPDATE ON public.households_household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_household_history_upd();
