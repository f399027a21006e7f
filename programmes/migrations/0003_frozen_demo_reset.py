"""The frozen tables get their own guard (programmes/sql/programmes_frozen.sql): as the
kernel's append-only function, plus the demo generator's reset of synthetic programmes,
for the tables' owner only."""

from django.db import migrations

TABLES = {
    "target_list_frozen": "programmes_targetlist",
    "target_frozen": "programmes_target",
    "intervention_event_append_only": "programmes_interventionevent",
}

FUNCTION = r"""
CREATE FUNCTION programmes_frozen() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    IF current_setting('programmes.demo_reset', true) = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is frozen: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $function$;
"""


def _triggers(function: str) -> str:
    return "\n".join(
        f"DROP TRIGGER {name} ON {table};"
        f" CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        for name, table in TABLES.items()
    )


class Migration(migrations.Migration):
    dependencies = [("programmes", "0002_frozen_lists_and_events")]

    operations = [
        migrations.RunSQL(
            FUNCTION + _triggers("programmes_frozen"),
            _triggers("desapresisi_append_only") + "DROP FUNCTION programmes_frozen();",
        )
    ]
