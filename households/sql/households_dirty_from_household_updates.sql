-- Updated households mark their old and new village stale.
-- Created by households/migrations/0004_dirty_region_triggers.

CREATE OR REPLACE FUNCTION public.households_dirty_from_household_updates()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT region_id FROM old_rows UNION SELECT region_id FROM new_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $function$;

CREATE TRIGGER households_dirty_upd AFTER UPDATE ON public.households_household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_dirty_from_household_updates();
