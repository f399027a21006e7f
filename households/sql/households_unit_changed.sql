-- A unit in use by households may not be deleted or moved (the error's DETAIL is how many
-- households of its village use it); a rename follows into those households.
-- Created by households/migrations/0020_village_units.

CREATE OR REPLACE FUNCTION public.households_unit_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    used bigint;
BEGIN
    SELECT count(*) INTO used FROM households_household h
    WHERE h.region_id = OLD.region_id
      AND OLD.id = ANY((households_unit_resolve(h.region_id, h.dusun, h.rw, h.rt)).chain);
    IF TG_OP = 'DELETE' OR NEW.region_id <> OLD.region_id OR NEW.kind <> OLD.kind
       OR NEW.parent_id IS DISTINCT FROM OLD.parent_id THEN
        IF used > 0 THEN
            RAISE EXCEPTION 'unit % is used by % households', OLD.id, used
                USING ERRCODE = 'foreign_key_violation', DETAIL = used::text,
                      CONSTRAINT = 'village_unit_in_use';
        END IF;
    ELSIF NEW.name <> OLD.name AND used > 0 THEN
        -- A rename follows into the households that name the unit (checked at commit).
        UPDATE households_household h
        SET dusun = CASE WHEN OLD.kind = 'dusun' THEN NEW.name ELSE h.dusun END,
            rw = CASE WHEN OLD.kind = 'rw' THEN NEW.name ELSE h.rw END,
            rt = CASE WHEN OLD.kind = 'rt' THEN NEW.name ELSE h.rt END
        WHERE h.region_id = OLD.region_id
          AND OLD.id = ANY((households_unit_resolve(h.region_id, h.dusun, h.rw, h.rt)).chain);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END $function$

;

CREATE TRIGGER village_unit_changed BEFORE DELETE OR UPDATE ON public.villages_villageunit FOR EACH ROW EXECUTE FUNCTION households_unit_changed()
;
