-- Change history: one desapresisi_changerecord row per inserted member, with its values
-- (derived columns and timestamps left out), and the acting user (desapresisi.actor).
-- Created by households/migrations/0006; replaced by 0012 (the maintenance-only pause).

CREATE OR REPLACE FUNCTION public.households_member_history_ins()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF desapresisi_maintenance.history_off(TG_RELID) THEN RETURN NULL; END IF;
    INSERT INTO desapresisi_changerecord (at, actor, "table", row_id, household_id, action, changes)
    SELECT now(), coalesce(current_setting('desapresisi.actor', true), ''), 'member', n.id,
           n.household_id, 'insert',
           (SELECT jsonb_object_agg(key, jsonb_build_array(NULL, value))
            FROM jsonb_each(to_jsonb(n) - ARRAY['dibuat', 'diubah', 'versi']))
    FROM new_rows n;
    RETURN NULL;
END $function$;

CREATE TRIGGER households_member_history_ins AFTER INSERT ON public.households_member
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_member_history_ins();
