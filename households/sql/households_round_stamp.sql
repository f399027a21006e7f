-- Every write of a household belongs to the open survey round (households/rounds.py):
-- the row is stamped with it, whatever wrote it (an edit, an import, a life event, the
-- member counts). With no round open the row keeps the round it had.
-- Created by households/migrations/0024_rounds_panel.

CREATE OR REPLACE FUNCTION public.households_round_stamp()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.survey_round_id := coalesce(
        (SELECT r.id FROM households_surveyround r WHERE r.status = 'terbuka'),
        NEW.survey_round_id);
    RETURN NEW;
END $function$;

CREATE TRIGGER households_round_stamp BEFORE INSERT OR UPDATE ON public.households_household
    FOR EACH ROW
    EXECUTE FUNCTION households_round_stamp();
