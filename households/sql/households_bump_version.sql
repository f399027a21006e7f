-- The optimistic lock: versi rises whenever a row really changes (derived columns and
-- timestamps aside), whatever wrote it. Updates that only carry the member counts (written
-- by households_member_counts) are not edits, hence the WHEN clause of the household
-- trigger: (OLD.jumlah_anggota IS NOT DISTINCT FROM NEW.jumlah_anggota AND OLD.jumlah_ats IS
-- NOT DISTINCT FROM NEW.jumlah_ats) OR OLD.tanggal_survei IS DISTINCT FROM NEW.tanggal_survei.
-- Created by households/migrations/0006_history_and_version_triggers.

CREATE OR REPLACE FUNCTION public.households_bump_version()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF (to_jsonb(NEW) - ARRAY['dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats',
                              'tangga_sanitasi', 'air_minum_layak', 'rumah_tidak_layak_huni'])
       IS DISTINCT FROM
       (to_jsonb(OLD) - ARRAY['dibuat', 'diubah', 'versi', 'jumlah_anggota', 'jumlah_ats',
                              'tangga_sanitasi', 'air_minum_layak', 'rumah_tidak_layak_huni']) THEN
        NEW.versi := OLD.versi + 1;
    END IF;
    RETURN NEW;
END $function$;

CREATE TRIGGER households_household_version BEFORE UPDATE ON public.households_household
    FOR EACH ROW
    WHEN ((((NOT (old.jumlah_anggota IS DISTINCT FROM new.jumlah_anggota))
            AND (NOT (old.jumlah_ats IS DISTINCT FROM new.jumlah_ats)))
           OR (old.tanggal_survei IS DISTINCT FROM new.tanggal_survei)))
    EXECUTE FUNCTION households_bump_version();

CREATE TRIGGER households_member_version BEFORE UPDATE ON public.households_member
    FOR EACH ROW
    EXECUTE FUNCTION households_bump_version();
