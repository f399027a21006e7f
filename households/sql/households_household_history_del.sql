-- Change history: one desapresisi_changerecord row per deleted household, with its last values.
-- Created by households/migrations/0006; replaced by 0012 (the maintenance-only pause).

CREATE OR REPLACE FUNCTION public.households_household_history_del()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF desapresisi_maintenance.history_off(TG_RELID) THEN RETURN NULL; END IF;
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), 'household', o.id,
           o.id, 'delete',
           (SELECT jsonb_object_agg(key, jsonb_build_array(value, NULL))
            FROM jsonb_each(to_jsonb(o) - ARRAY['dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats',
                                                'tangga_sanitasi', 'air_minum_layak', 'rumah_tidak_layak_huni']))
    FROM old_rows o;
    RETURN NULL;
END $function$;

CREATE TRIGGER households_household_history_del AFTER DELETE ON public.households_household
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_household_history_del();
