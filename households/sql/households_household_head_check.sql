-- A new household must have its head when the transaction commits (deferred, so a
-- household and its members can be written in any order).
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_household_head_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM households_assert_one_head(NEW.id);
    RETURN NULL;
END $function$;

CREATE CONSTRAINT TRIGGER household_exactly_one_head AFTER INSERT ON public.households_household
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    EXECUTE FUNCTION households_household_head_check();
