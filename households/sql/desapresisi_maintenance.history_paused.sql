-- Whether the caller's own transaction paused the history. SECURITY DEFINER so that any
-- role may ask without reading the pause table.
-- Created by households/migrations/0012_history_switch_for_maintenance_only.

CREATE OR REPLACE FUNCTION desapresisi_maintenance.history_paused()
 RETURNS boolean
 LANGUAGE sql
 STABLE SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT EXISTS (
        SELECT 1 FROM desapresisi_maintenance.history_pause WHERE txid = txid_current()
    );
$function$;
