"""A validated dry run keeps its staging rows (households/census_import/jobs.py) as two
more large objects of the job, unlinked by the same trigger as its uploads."""

from django.db import migrations, models

# A frozen copy of households/sql/households_importjob_unlink_uploads.sql.
TRIGGER = """
DROP TRIGGER IF EXISTS households_importjob_unlink_uploads ON households_importjob;
CREATE OR REPLACE FUNCTION public.households_importjob_unlink_uploads()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    gone bigint;
    kept bigint[] := ARRAY[]::bigint[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        kept := ARRAY[coalesce(NEW.file_oid, -1), coalesce(NEW.members_file_oid, -1),
                      coalesce(NEW.staged_oid, -1), coalesce(NEW.staged_members_oid, -1)];
    END IF;
    FOREACH gone IN ARRAY
        ARRAY[OLD.file_oid, OLD.members_file_oid, OLD.staged_oid, OLD.staged_members_oid]
    LOOP
        CONTINUE WHEN gone IS NULL OR gone = ANY(kept);
        IF EXISTS (SELECT 1 FROM pg_largeobject_metadata WHERE oid = gone::oid) THEN
            PERFORM lo_unlink(gone::oid);
        END IF;
    END LOOP;
    RETURN NULL;
END;
$function$;

CREATE TRIGGER households_importjob_unlink_uploads AFTER DELETE OR UPDATE OF file_oid, members_file_oid, staged_oid, staged_members_oid ON public.households_importjob
    FOR EACH ROW
    EXECUTE FUNCTION households_importjob_unlink_uploads();
"""

# The trigger as 0026 made it.
TRIGGER_BEFORE = """
DROP TRIGGER IF EXISTS households_importjob_unlink_uploads ON households_importjob;
CREATE OR REPLACE FUNCTION public.households_importjob_unlink_uploads()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    gone bigint;
    kept bigint[] := ARRAY[]::bigint[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        kept := ARRAY[coalesce(NEW.file_oid, -1), coalesce(NEW.members_file_oid, -1)];
    END IF;
    FOREACH gone IN ARRAY ARRAY[OLD.file_oid, OLD.members_file_oid] LOOP
        CONTINUE WHEN gone IS NULL OR gone = ANY(kept);
        IF EXISTS (SELECT 1 FROM pg_largeobject_metadata WHERE oid = gone::oid) THEN
            PERFORM lo_unlink(gone::oid);
        END IF;
    END LOOP;
    RETURN NULL;
END;
$function$;

CREATE TRIGGER households_importjob_unlink_uploads AFTER DELETE OR UPDATE OF file_oid, members_file_oid ON public.households_importjob
    FOR EACH ROW
    EXECUTE FUNCTION households_importjob_unlink_uploads();
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0026_uploads_large_objects")]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="staged_oid",
            field=models.PositiveBigIntegerField(
                blank=True, editable=False, null=True, verbose_name="baris teruji (objek besar)"
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="staged_members_oid",
            field=models.PositiveBigIntegerField(
                blank=True,
                editable=False,
                null=True,
                verbose_name="baris anggota teruji (objek besar)",
            ),
        ),
        migrations.RunSQL(TRIGGER, TRIGGER_BEFORE),
    ]
