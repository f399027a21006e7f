-- Frozen target lists and the register of intervention events refuse UPDATE and DELETE.
-- One exception: the demo generator's reset of its synthetic programmes
-- (demo/generator.py), which sets programmes.demo_reset for its transaction and works
-- only for the tables' owner (the maintenance role), never for the web role.
-- Created by programmes/migrations/0003_frozen_demo_reset.

CREATE OR REPLACE FUNCTION public.programmes_frozen()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF current_setting('programmes.demo_reset', true) = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is frozen: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $function$;

CREATE TRIGGER target_list_frozen BEFORE DELETE OR UPDATE ON public.programmes_targetlist
    FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_frozen();

CREATE TRIGGER target_frozen BEFORE DELETE OR UPDATE ON public.programmes_target
    FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_frozen();

CREATE TRIGGER intervention_event_append_only BEFORE DELETE OR UPDATE ON public.programmes_interventionevent
    FOR EACH STATEMENT
    EXECUTE FUNCTION programmes_frozen();
