-- The audit log and the change history are append-only: UPDATE and DELETE are refused,
-- whoever asks (the application, the admin, a SQL console). TRUNCATE is not covered: the
-- web role must not be granted it (docs/database.md). The one exception is the retention
-- of the audit log: desapresisi_audit_purge(), run as the owner of the table (SECURITY
-- DEFINER, EXECUTE revoked from PUBLIC), may delete audit entries older than its floor.
-- Created by desapresisi/migrations/0002_audit_append_only, changed by 0004_audit_retention.

CREATE OR REPLACE FUNCTION public.desapresisi_append_only()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'desapresisi_auditentry'
       AND current_setting('desapresisi.audit_purge', true) = 'on'
       AND current_user = (SELECT tableowner FROM pg_tables
                           WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $function$;

CREATE TRIGGER audit_append_only BEFORE DELETE OR UPDATE ON public.desapresisi_auditentry
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();

CREATE TRIGGER history_append_only BEFORE DELETE OR UPDATE ON public.desapresisi_changerecord
    FOR EACH STATEMENT
    EXECUTE FUNCTION desapresisi_append_only();
