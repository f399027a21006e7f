"""Frozen target lists stay frozen and the intervention events are a register: the
database refuses UPDATE and DELETE on them, whoever asks (the kernel's append-only
function, desapresisi/migrations/0002)."""

from django.db import migrations

TABLES = {
    "target_list_frozen": "programmes_targetlist",
    "target_frozen": "programmes_target",
    "intervention_event_append_only": "programmes_interventionevent",
}

FORWARD = "\n".join(
    f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION desapresisi_append_only();"
    for name, table in TABLES.items()
)
BACKWARD = "\n".join(f"DROP TRIGGER IF EXISTS {name} ON {table};" for name, table in TABLES.items())


class Migration(migrations.Migration):
    dependencies = [
        ("programmes", "0001_initial"),
        ("desapresisi", "0002_audit_append_only"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
