-- Statement-level: deleted members recount their households.
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_members_deleted()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM households_member_counts(ARRAY(SELECT DISTINCT household_id FROM old_rows));
    RETURN NULL;
END $function$;

CREATE TRIGGER households_member_counts_del AFTER DELETE ON public.households_member
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_members_deleted();
