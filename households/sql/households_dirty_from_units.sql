-- A change to a village's units marks its figures stale (the per-unit rollup reads them).
-- Created by households/migrations/0020_village_units.

CREATE OR REPLACE FUNCTION public.households_dirty_from_units()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO households_dirtyregion (region_id)
    SELECT DISTINCT region_id FROM changed ON CONFLICT DO NOTHING;
    RETURN NULL;
END $function$

;

CREATE TRIGGER village_unit_dirty_ins AFTER INSERT ON public.villages_villageunit REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_units()
;

CREATE TRIGGER village_unit_dirty_upd AFTER UPDATE ON public.villages_villageunit REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_units()
;

CREATE TRIGGER village_unit_dirty_del AFTER DELETE ON public.villages_villageunit REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION households_dirty_from_units()
;
