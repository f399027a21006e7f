-- Statement-level: new members recount their households (one call per statement, so a
-- COPY of 400,000 members is one UPDATE).
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_members_inserted()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM households_member_counts(ARRAY(SELECT DISTINCT household_id FROM new_rows));
    RETURN NULL;
END $function$;

CREATE TRIGGER households_member_counts_ins AFTER INSERT ON public.households_member
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION households_members_inserted();
