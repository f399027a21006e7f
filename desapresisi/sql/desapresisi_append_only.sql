-- The audit log and the change history are append-only: UPDATE and DELETE are refused,
-- whoever asks (the application, the admin, a SQL console). TRUNCATE is not covered: the
-- web role must not be granted it (docs/database.md).
-- Created by desapresisi/migrations/0002_audit_append_only.

CREATE OR REPLACE FUNCTION public.desapresisi_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $function$;

CREATE TRIGGER audit_append_only BEFORE DELETE OR UPDATE ON public.desapresisi_auditentry
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();

CREATE TRIGGER history_append_only BEFORE DELETE OR UPDATE ON public.desapresisi_changerecord
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();
