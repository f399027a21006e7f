"""The audit log and the change history are append-only: the database refuses UPDATE and
DELETE on them, whoever asks (the application, the admin or a SQL console)."""

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION desapresisi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON desapresisi_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION desapresisi_append_only();
CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON desapresisi_changerecord
    FOR EACH STATEMENT EXECUTE FUNCTION desapresisi_append_only();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS history_append_only ON desapresisi_changerecord;
DROP TRIGGER IF EXISTS audit_append_only ON desapresisi_auditentry;
DROP FUNCTION IF EXISTS desapresisi_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("desapresisi", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
