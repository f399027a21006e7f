-- A household's dusun, RW and RT must be units of its village at commit (deferred, so a
-- unit's rename and the households that follow it may be written in any order).
-- Created by households/migrations/0020_village_units.

CREATE OR REPLACE FUNCTION public.households_unit_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    h record;
    r record;
BEGIN
    -- Deferred: read the row as it is at commit (a later statement may have changed it).
    SELECT region_id, dusun, rw, rt INTO h FROM households_household WHERE id = NEW.id;
    IF NOT FOUND THEN RETURN NULL; END IF;
    r := households_unit_resolve(h.region_id, h.dusun, h.rw, h.rt);
    IF r.problem IS NOT NULL THEN
        RAISE EXCEPTION 'household %: % % is not a unit of village %', NEW.id, r.problem,
            quote_literal(CASE r.problem WHEN 'dusun' THEN h.dusun WHEN 'rw' THEN h.rw ELSE h.rt END),
            h.region_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'household_unit_known';
    END IF;
    RETURN NULL;
END $function$

;

CREATE CONSTRAINT TRIGGER household_unit_known AFTER INSERT OR UPDATE OF region_id, dusun, rw, rt ON public.households_household DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((((new.dusun)::text <> ''::text) OR ((new.rw)::text <> ''::text) OR ((new.rt)::text <> ''::text))) EXECUTE FUNCTION households_unit_check()
;
