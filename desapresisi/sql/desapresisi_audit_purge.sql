-- Retention of the audit log: deletes entries older than keep_days (at least 180) and
-- records the purge. SECURITY DEFINER, owned by the maintenance role, EXECUTE revoked from
-- PUBLIC. Created by desapresisi/migrations/0004_audit_retention.

CREATE OR REPLACE FUNCTION public.desapresisi_audit_purge(keep_days integer)
 RETURNS bigint
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
    purged bigint;
BEGIN
    IF keep_days IS NULL OR keep_days < 180 THEN
        RAISE EXCEPTION 'audit entries are kept at least 180 days (asked: % days)', keep_days
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('desapresisi.audit_purge', 'on', true);
    DELETE FROM public.desapresisi_auditentry
    WHERE at < now() - make_interval(days => keep_days);
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('desapresisi.audit_purge', 'off', true);
    INSERT INTO public.desapresisi_auditentry (at, username, action, path, filters, rows, detail)
    VALUES (now(), session_user, 'purge', '', '{}'::jsonb, purged,
            format('retensi %s hari', keep_days));
    RETURN purged;
END $function$

;
