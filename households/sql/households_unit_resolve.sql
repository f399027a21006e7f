-- The rule for a household's dusun, RW and RT: the chain of village units they name
-- (villages.VillageUnit), or the first field that names none. A village without units
-- checks nothing. villages.selectors.UnitIndex holds the same rule for messages.
-- Created by households/migrations/0020_village_units.

CREATE OR REPLACE FUNCTION public.households_unit_resolve(p_region character varying, p_dusun character varying, p_rw character varying, p_rt character varying, OUT chain bigint[], OUT problem text)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    d bigint;
    w bigint;
    t bigint;
BEGIN
    chain := '{}';
    IF NOT EXISTS (SELECT 1 FROM villages_villageunit WHERE region_id = p_region) THEN
        RETURN;
    END IF;
    IF coalesce(p_dusun, '') <> '' THEN
        SELECT id INTO d FROM villages_villageunit
        WHERE region_id = p_region AND kind = 'dusun' AND name = p_dusun AND parent_id IS NULL;
        IF d IS NULL THEN problem := 'dusun'; RETURN; END IF;
        chain := chain || d;
    END IF;
    IF coalesce(p_rw, '') <> '' THEN
        SELECT id INTO w FROM villages_villageunit
        WHERE region_id = p_region AND kind = 'rw' AND name = p_rw
          AND (parent_id = d OR parent_id IS NULL)
        ORDER BY parent_id IS NULL LIMIT 1;
        IF w IS NULL THEN problem := 'rw'; RETURN; END IF;
        chain := chain || w;
    END IF;
    IF coalesce(p_rt, '') <> '' THEN
        SELECT id INTO t FROM villages_villageunit
        WHERE region_id = p_region AND kind = 'rt' AND name = p_rt
          AND (parent_id = w OR parent_id = d OR parent_id IS NULL)
        ORDER BY (parent_id = w) IS NOT TRUE, (parent_id = d) IS NOT TRUE LIMIT 1;
        IF t IS NULL THEN problem := 'rt'; RETURN; END IF;
        chain := chain || t;
    END IF;
END $function$

;
