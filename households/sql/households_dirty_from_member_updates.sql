-- Updated members mark the villages of their old and new household stale.
-- Created by households/migrations/0004_dirty_region_triggers.

CREATE OR REPLACE FUNCTION public.households_dirty_from_member_updates()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT h.region_id FROM households_household h
    WHERE h.id IN (SELECT household_id FROM old_rows UNION SELECT household_id FROM new_rows)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $function$;

CREATE TRIGGER members_dirty_upd AFTER UPDATE ON public.households_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_dirty_from_member_updates();
