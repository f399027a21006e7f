-- Pauses the change history for the caller's own transaction, recording who and why.
-- SECURITY DEFINER, owned by the maintenance role; EXECUTE is revoked from PUBLIC in the
-- migration that creates it (a grant, not part of the definition compared here).
-- Created by households/migrations/0012_history_switch_for_maintenance_only.

CREATE OR REPLACE FUNCTION desapresisi_maintenance.history_pause(reason text)
 RETURNS void
 LANGUAGE sql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    INSERT INTO desapresisi_maintenance.history_pause (txid, reason)
    VALUES (txid_current(), reason)
    ON CONFLICT (txid) DO NOTHING;
$function$;
