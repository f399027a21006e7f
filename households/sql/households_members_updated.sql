-- Statement-level: updated members recount their old and new households.
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_members_updated()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM households_member_counts(ARRAY(
        SELECT household_id FROM new_rows UNION SELECT household_id FROM old_rows));
    RETURN NULL;
END $function$;

CREATE TRIGGER households_member_counts_upd AFTER UPDATE ON public.households_member
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_members_updated();
