-- Frozen target lists and the register of intervention events refuse UPDATE and DELETE
-- (the kernel's desapresisi_append_only(), desapresisi/sql/desapresisi_append_only.sql).
-- Created by programmes/migrations/0002_frozen_lists_and_events.

CREATE TRIGGER target_list_frozen BEFORE DELETE OR UPDATE ON public.programmes_targetlist
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();

CREATE TRIGGER target_frozen BEFORE DELETE OR UPDATE ON public.programmes_target
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();

CREATE TRIGGER intervention_event_append_only BEFORE DELETE OR UPDATE ON public.programmes_interventionevent
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();
