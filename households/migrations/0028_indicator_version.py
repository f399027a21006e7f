# The `indicators` DataVersion: bumped by any statement that changes an indicator's
# definition, so that what is kept by it (the map criteria of every tile request, the
# tiles kept in a web process) is read again (desapresisi/sql/desapresisi_data_changed.sql).

from django.db import migrations

INDICATORS_TRIGGER = """
CREATE TRIGGER indicator_data_changed AFTER INSERT OR UPDATE OR DELETE ON households_indicator
    FOR EACH STATEMENT EXECUTE FUNCTION desapresisi_data_changed('indicators');
"""


class Migration(migrations.Migration):
    dependencies = [
        ("desapresisi", "0005_data_version"),
        ("households", "0027_importjob_staged"),
    ]

    operations = [
        migrations.RunSQL(
            INDICATORS_TRIGGER,
            reverse_sql="DROP TRIGGER IF EXISTS indicator_data_changed ON households_indicator;",
        ),
    ]
