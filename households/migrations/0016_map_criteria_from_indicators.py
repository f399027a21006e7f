"""Map criteria become indicators flagged `map_criterion`; cluster cells count them in one
jsonb keyed by indicator code instead of a column per criterion.

The cells are derived data: they are emptied here and recounted by the post_migrate hook
(households.apps._fill_tile_cells) with the compiled criteria, or by the next refresh."""

from django.db import migrations, models

# The criteria the map had before (tanpa_jamban, children out of school, desil 1-4), as
# the indicators that count them. New databases get the flag from indicators.json.
FORMER_CRITERIA = ["tanpa_jamban", "ats_7_18", "desil_1_4"]


class Migration(migrations.Migration):
    dependencies = [("households", "0015_job_message_params")]

    operations = [
        migrations.AddField(
            model_name="indicator",
            name="map_criterion",
            field=models.BooleanField(
                default=False,
                help_text="Titik rumah tangga di peta dapat diwarnai menurut pembilang indikator ini.",
                verbose_name="kriteria peta",
            ),
        ),
        migrations.RunSQL(
            sql=[
                (
                    "UPDATE households_indicator SET map_criterion = true WHERE code = ANY(%s)",
                    [FORMER_CRITERIA],
                )
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
        # Emptied before the columns change, both ways (a NOT NULL column cannot be added
        # back to rows that have none).
        migrations.RunSQL(
            sql="DELETE FROM households_tilecell", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.RemoveField(model_name="tilecell", name="tanpa_jamban"),
        migrations.RemoveField(model_name="tilecell", name="babs"),
        migrations.RemoveField(model_name="tilecell", name="ada_ats"),
        migrations.RemoveField(model_name="tilecell", name="desil_1_4"),
        migrations.AddField(
            model_name="tilecell",
            name="criteria",
            field=models.JSONField(default=dict),
        ),
        migrations.RunSQL(
            sql=migrations.RunSQL.noop, reverse_sql="DELETE FROM households_tilecell"
        ),
    ]
