"""Import uploads move from bytea columns to PostgreSQL large objects (households/
uploads.py), written and read a chunk at a time. Existing uploads are copied over (and
back when migrating backwards); a trigger unlinks an upload's object when the job's oid
is cleared or changed, or the job deleted, so no object outlives its job."""

from django.db import migrations, models

COPY_FORWARD = """
UPDATE households_importjob
SET file_oid = CASE WHEN file_data IS NULL THEN NULL ELSE lo_from_bytea(0, file_data) END,
    members_file_oid = CASE WHEN members_file_data IS NULL THEN NULL
                            ELSE lo_from_bytea(0, members_file_data) END,
    work_bytes = coalesce(length(file_data), 0) + coalesce(length(members_file_data), 0)
WHERE file_data IS NOT NULL OR members_file_data IS NOT NULL;
"""

COPY_BACK = """
UPDATE households_importjob
SET file_data = CASE WHEN file_oid IS NULL THEN NULL ELSE lo_get(file_oid::oid) END,
    members_file_data = CASE WHEN members_file_oid IS NULL THEN NULL
                             ELSE lo_get(members_file_oid::oid) END
WHERE file_oid IS NOT NULL OR members_file_oid IS NOT NULL;
SELECT lo_unlink(o.oid) FROM pg_largeobject_metadata o
WHERE o.oid IN (SELECT file_oid::oid FROM households_importjob WHERE file_oid IS NOT NULL
                UNION SELECT members_file_oid::oid FROM households_importjob
                      WHERE members_file_oid IS NOT NULL);
"""

# A frozen copy of households/sql/households_importjob_unlink_uploads.sql.
TRIGGER = """
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

DROP_TRIGGER = """
DROP TRIGGER IF EXISTS households_importjob_unlink_uploads ON households_importjob;
DROP FUNCTION IF EXISTS households_importjob_unlink_uploads();
"""


class Migration(migrations.Migration):
    dependencies = [("households", "0025_rounds_panel")]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="file_oid",
            field=models.PositiveBigIntegerField(
                blank=True, editable=False, null=True, verbose_name="berkas (objek besar)"
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="members_file_oid",
            field=models.PositiveBigIntegerField(
                blank=True, editable=False, null=True, verbose_name="berkas anggota (objek besar)"
            ),
        ),
        migrations.AddField(
            model_name="importjob",
            name="work_bytes",
            field=models.BigIntegerField(
                default=0, editable=False, verbose_name="ukuran kerja berkas"
            ),
        ),
        migrations.RunSQL(COPY_FORWARD, COPY_BACK),
        migrations.RemoveField(model_name="importjob", name="file_data"),
        migrations.RemoveField(model_name="importjob", name="members_file_data"),
        migrations.RunSQL(TRIGGER, DROP_TRIGGER),
    ]
