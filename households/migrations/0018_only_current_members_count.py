"""Only current members count: the triggers that keep `jumlah_anggota` and `jumlah_ats`
(`households_member_counts`, `households_survey_date_changed`) skip members who died or
moved out (`status_anggota` <> 1, migration 0017). They stay on record and in the history.

The SQL below is a frozen copy of households/sql/ at the time of this migration; the
reverse is the definitions 0014 left. Nothing is recounted: every member is current when
this runs (0017 added the status with default 1).
"""

from django.db import migrations

FORWARD = r"""
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
"""

# As migration 0014_one_rule_for_children_out_of_school left them.
BACKWARD = r"""
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
        LEFT JOIN households_member m ON m.household_id = hh.id
        WHERE hh.id = ANY(ids)
        GROUP BY hh.id
    ) c
    WHERE h.id = c.id
      AND (h.jumlah_anggota, h.jumlah_ats) IS DISTINCT FROM (c.n, c.ats);
    PERFORM set_config('desapresisi.history', coalesce(previous, ''), true);
END $function$;

CREATE OR REPLACE FUNCTION public.households_survey_date_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT count(*) FILTER (
               WHERE households_child_out_of_school(
                   m.partisipasi_sekolah, m.tanggal_lahir, NEW.tanggal_survei))
    INTO NEW.jumlah_ats
    FROM households_member m WHERE m.household_id = NEW.id;
    RETURN NEW;
END $function$;
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0017_member_status")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
