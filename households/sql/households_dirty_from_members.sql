-- Inserted or deleted members mark their household's village stale.
-- Created by households/migrations/0004_dirty_region_triggers.

CREATE OR REPLACE FUNCTION public.households_dirty_from_members()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT DISTINCT h.region_id FROM changed c JOIN households_household h ON h.id = c.household_id
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $function$;

CREATE TRIGGER members_dirty_del AFTER DELETE ON public.households_member
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_dirty_from_members();

CREATE TRIGGER members_dirty_ins AFTER INSERT ON public.households_member
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_dirty_from_members();
