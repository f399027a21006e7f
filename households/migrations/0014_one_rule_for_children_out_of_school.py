"""One rule for "children 7-18 out of school", in one SQL function.

Until now the rule (Regsosek 412 = 1 or 3, aged 7 to 18 at the survey date) was written
out in two trigger functions (`households_member_counts` and
`households_survey_date_changed`, which keep `jumlah_ats`) and again in the editable specs
of the `ats_*` indicators, so an edit of one made `jumlah_ats` and the figures disagree.
Now `households_child_out_of_school()` is the rule: both triggers call it, and indicator
specs name it as the member field `anak_tidak_sekolah` (households/indicators/).

The SQL below is a frozen copy of households/sql/ at the time of this migration: the files
may change later, this migration must not. The stored counts do not change (same rule),
so nothing is recounted.

The seeded `ats_*` indicators that restate the rule now name it; a numerator an
administrator has edited since is left as it is (see docs/database.md).
"""

from django.db import migrations

FORWARD = r"""
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

# As migrations 0012 (households_member_counts) and 0002 (households_survey_date_changed)
# left them.
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
                   WHERE m.partisipasi_sekolah IN (1, 3)
                     AND extract(year FROM age(hh.tanggal_survei, m.tanggal_lahir)) BETWEEN 7 AND 18
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
               WHERE m.partisipasi_sekolah IN (1, 3)
                 AND extract(year FROM age(NEW.tanggal_survei, m.tanggal_lahir)) BETWEEN 7 AND 18)
    INTO NEW.jumlah_ats
    FROM households_member m WHERE m.household_id = NEW.id;
    RETURN NEW;
END $function$;

DROP FUNCTION public.households_child_out_of_school(smallint, date, date);
"""


def _band(low: int, high: int) -> tuple[dict, dict]:
    """(numerator as seeded until now, numerator naming the rule) of an age band."""
    return (
        {
            "unit": "member",
            "where": {"umur__range": [low, high], "partisipasi_sekolah__in": [1, 3]},
        },
        {"unit": "member", "where": {"anak_tidak_sekolah": True, "umur__range": [low, high]}},
    )


NUMERATORS = {
    "ats_7_12": _band(7, 12),
    "ats_13_15": _band(13, 15),
    "ats_16_18": _band(16, 18),
    "ats_7_18": (_band(7, 18)[0], {"unit": "member", "where": {"anak_tidak_sekolah": True}}),
}


def _swap(apps, *, forward: bool) -> None:
    Indicator = apps.get_model("households", "Indicator")
    for code, (old, new) in NUMERATORS.items():
        before, after = (old, new) if forward else (new, old)
        Indicator.objects.filter(code=code, numerator=before).update(numerator=after)


def numerators_name_the_rule(apps, schema_editor):
    _swap(apps, forward=True)


def numerators_restate_the_rule(apps, schema_editor):
    _swap(apps, forward=False)


class Migration(migrations.Migration):
    dependencies = [("households", "0013_job_lease")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RunPython(numerators_name_the_rule, numerators_restate_the_rule),
    ]
