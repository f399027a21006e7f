-- A statement that changes published data bumps its DataVersion (the argument names it),
-- from which HTTP validators are derived (desapresisi/http_cache.py). The function is
-- created by desapresisi/migrations/0005_data_version, the trigger on the area tree by
-- households/migrations/0024_speed (the kernel's migrations name no domain table), the one
-- on the indicator definitions by households/migrations/0028_indicator_version.

CREATE OR REPLACE FUNCTION public.desapresisi_data_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO desapresisi_dataversion (name, version, changed_at)
    VALUES (TG_ARGV[0], 1, now())
    ON CONFLICT (name) DO UPDATE
        SET version = desapresisi_dataversion.version + 1, changed_at = now();
    RETURN NULL;
END $function$
;

CREATE TRIGGER region_data_changed AFTER INSERT OR DELETE OR UPDATE ON public.villages_region FOR EACH STATEMENT EXECUTE FUNCTION desapresisi_data_changed('regions')
;

CREATE TRIGGER indicator_data_changed AFTER INSERT OR DELETE OR UPDATE ON public.households_indicator FOR EACH STATEMENT EXECUTE FUNCTION desapresisi_data_changed('indicators')
;
