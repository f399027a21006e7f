-- Inserted or deleted households mark their village's indicator values stale
-- (households_dirtyregion, read and cleared by indicators_refresh). One INSERT per statement.
-- Created by households/migrations/0004_dirty_region_triggers.

CREATE OR REPLACE FUNCTION public.households_dirty_from_households()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT DISTINCT region_id FROM changed ON CONFLICT DO NOTHING;
    RETURN NULL;
END $function$;

CREATE TRIGGER households_dirty_del AFTER DELETE ON public.households_household
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_dirty_from_households();

CREATE TRIGGER households_dirty_ins AFTER INSERT ON public.households_household
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_dirty_from_households();
