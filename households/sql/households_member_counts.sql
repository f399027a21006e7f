-- Keeps the derived household columns jumlah_anggota and jumlah_ats for the given
-- households, in one set-based UPDATE, over current members only (status_anggota 1: one
-- who died or moved out stays on record but no longer counts). Children out of school are
-- counted by the one rule, households_child_out_of_school. Runs as the owner (SECURITY
-- DEFINER) with the GUC desapresisi.history 'off' for its own UPDATE, so the history triggers skip a diff of
-- columns they leave out anyway (see desapresisi_maintenance.history_off).
-- Created by households/migrations/0002; replaced by 0011, 0012 and
-- 0014_one_rule_for_children_out_of_school and 0018_only_current_members_count.

CREATE OR REPLACE FUNCTION public.households_member_counts(ids bigint[])
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'public', 'pg_temp'
AS $function$
DECLARE
    previous text := current_setting('desapresisi.history', true);
BEGIN
    PERFORM set_config('desapresisi.history', 'off', true);
    UPDATE households_household h
    SET jumlah_anggota = c.n, jumlah_ats = c.ats
    FROM (
        SELECT hh.id,
               count(m.id) AS n,
               count(m.id) FILTER (
                   WHERE households_child_out_of_school(
                       m.partisipasi_sekolah, m.tanggal_lahir, hh.tanggal_survei)
               ) AS ats
        FROM households_household hh
        LEFT JOIN households_member m ON m.household_id = hh.id AND m.status_anggota = 1
        WHERE hh.id = ANY(ids)
        GROUP BY hh.id
    ) c
    WHERE h.id = c.id
      AND (h.jumlah_anggota, h.jumlah_ats) IS DISTINCT FROM (c.n, c.ats);
    PERFORM set_config('desapresisi.history', coalesce(previous, ''), true);
END $function$;
