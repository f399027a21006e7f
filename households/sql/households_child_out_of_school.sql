-- THE rule for a child out of school: aged 7 to 18 at the household's survey date and
-- never attended or no longer attends school (Regsosek 412 = 1 or 3). Used by the
-- triggers that keep households_household.jumlah_ats (households_member_counts,
-- households_survey_date_changed) and, through the `anak_tidak_sekolah` member field of
-- indicator specs (households/indicators/spec.py), by the ats_* indicators: the stored
-- count and the figures cannot disagree. NULL (no answer) counts as not out of school.
-- A plain SQL expression, STABLE like age() on dates, so PostgreSQL inlines it into the
-- queries that call it (no per-row function call on large imports).
-- Created by households/migrations/0014_one_rule_for_children_out_of_school.

CREATE OR REPLACE FUNCTION public.households_child_out_of_school(
    partisipasi_sekolah smallint, tanggal_lahir date, tanggal_survei date
)
 RETURNS boolean
 LANGUAGE sql
 STABLE PARALLEL SAFE
AS $function$
    SELECT partisipasi_sekolah IN (1, 3)
       AND extract(year FROM age(tanggal_survei, tanggal_lahir)) BETWEEN 7 AND 18
$function$;
