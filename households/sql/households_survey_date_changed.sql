-- The survey date is the reference date of ages: changing it recounts jumlah_ats in the
-- row being written.
-- Created by households/migrations/0002_derived_counts_and_head_rule.

CREATE OR REPLACE FUNCTION public.households_survey_date_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT count(*) FILTER (
               WHERE m.partisipasi_sekolah IN (1, 3)
                 AND extract(year FROM age(NEW.tanggal_survei, m.tanggal_lahir)) BETWEEN 7 AND 18)
    INTO NEW.jumlah_ats
    FROM households_member m WHERE m.household_id = NEW.id;
    RETURN NEW;
END $function$;

CREATE TRIGGER households_survey_date_changed BEFORE UPDATE OF tanggal_survei ON public.households_household
    FOR EACH ROW
    WHEN ((old.tanggal_survei IS DISTINCT FROM new.tanggal_survei))
    EXECUTE FUNCTION households_survey_date_changed();
