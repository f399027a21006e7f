-- Losing a head (deleting it, changing its SHDK, moving it to another household) is checked
-- at commit. Only head rows fire, so a bulk load of members queues no checks; a second head
-- is refused at once by the partial unique index member_at_most_one_head.
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_member_head_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM households_assert_one_head(OLD.household_id);
    RETURN NULL;
END $function$;

CREATE CONSTRAINT TRIGGER member_head_changed
    AFTER UPDATE OF hubungan_keluarga, household_id ON public.households_member
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (((old.hubungan_keluarga = 1)
           AND ((new.hubungan_keluarga <> 1) OR (new.household_id <> old.household_id))))
    EXECUTE FUNCTION households_member_head_check();

CREATE CONSTRAINT TRIGGER member_head_removed AFTER DELETE ON public.households_member
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN ((old.hubungan_keluarga = 1))
    EXECUTE FUNCTION households_member_head_check();
