-- An import job's uploads, and the staging rows its validated dry run kept, are PostgreSQL
-- large objects (households/uploads.py): when the job lets go of one (its oid cleared or
-- changed: committed, rejected, expired) or the job row is deleted, the object is
-- unlinked, whatever wrote the row.
-- Created by households/migrations/0026_uploads_large_objects; the staged rows since
-- 0027_importjob_staged.

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
