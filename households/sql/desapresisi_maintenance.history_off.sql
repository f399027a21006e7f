-- Asked by every history trigger: skip this statement? Yes when the transaction was
-- paused, or when the GUC desapresisi.history is 'off' and the statement runs as the owner of
-- the table (only households_member_counts, SECURITY DEFINER, does). Not SECURITY DEFINER:
-- current_user must be the caller's.
-- Created by households/migrations/0012_history_switch_for_maintenance_only.

CREATE OR REPLACE FUNCTION desapresisi_maintenance.history_off(relid oid)
 RETURNS boolean
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
    SELECT (
        coalesce(current_setting('desapresisi.history', true), '') = 'off'
        AND (SELECT relowner FROM pg_class WHERE oid = relid)
            = (SELECT oid FROM pg_roles WHERE rolname = current_user)
    ) OR desapresisi_maintenance.history_paused();
$function$;
