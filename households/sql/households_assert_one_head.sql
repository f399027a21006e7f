-- Exactly one head of household (SHDK 1): raises check_violation, constraint name
-- household_exactly_one_head, unless the household has exactly one. Called by the deferred
-- constraint triggers of households_household_head_check and households_member_head_check.
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_assert_one_head(hid bigint)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    kk varchar;
    heads integer;
BEGIN
    SELECT h.no_kk, (SELECT count(*) FROM households_member m
                     WHERE m.household_id = h.id AND m.hubungan_keluarga = 1)
    INTO kk, heads
    FROM households_household h WHERE h.id = hid;
    -- A household deleted in the same transaction has nothing left to check.
    IF FOUND AND heads <> 1 THEN
        RAISE EXCEPTION 'Rumah tangga KK % harus punya tepat satu kepala keluarga (ada %).', kk, heads
            USING ERRCODE = 'check_violation',
                  CONSTRAINT = 'household_exactly_one_head',
                  HINT = 'A household must have exactly one head of family (SHDK 1).';
    END IF;
END $function$;
