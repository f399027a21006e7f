-- The survey date is the reference date of ages: changing it recounts jumlah_ats, with the
-- one rule households_child_out_of_school, in the row being written (current members only).
-- Created by households/migrations/0002; replaced by
-- 0014_one_rule_for_children_out_of_school and 0018_only_current_members_count.

CREATE OR REPLACE FUNCTION public.households_survey_date_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT count(*) FILTER (
               WHERE households_child_out_of_school(
                   m.partisipasi_sekolah, m.tanggal_lahir, NEW.tanggal_survei))
    INTO NEW.jumlah_ats
    FROM households_member m WHERE m.household_id = NEW.id AND m.status_anggota = 1;
    RETURN NEW;
END $function$;

CREATE TRIGGER households_survey_date_changed BEFORE UPDATE OF tanggal_survei ON public.households_household
    FOR EACH ROW
    WHEN ((old.tanggal_survei IS DISTINCT FROM new.tanggal_survei))
    EXECUTE FUNCTION households_survey_date_changed();
