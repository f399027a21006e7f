"""DataVersion: a counter per kind of published data (figures, regions), from which HTTP
validators and the tile cache are derived; and the trigger function that bumps it
(desapresisi/sql/desapresisi_data_changed.sql)."""

from django.db import migrations, models

FUNCTION = r"""
CREATE OR REPLACE FUNCTION desapresisi_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO desapresisi_dataversion (name, version, changed_at)
    VALUES (TG_ARGV[0], 1, now())
    ON CONFLICT (name) DO UPDATE
        SET version = desapresisi_dataversion.version + 1, changed_at = now();
    RETURN NULL;
END $$;
INSERT INTO desapresisi_dataversion (name, version, changed_at)
VALUES ('figures', 1, now()), ('regions', 1, now()) ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [("desapresisi", "0004_audit_retention")]

    operations = [
        migrations.CreateModel(
            name="DataVersion",
            fields=[
                ("name", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=1)),
                ("changed_at", models.DateTimeField(auto_now=True)),
            ],
            options={"verbose_name": "versi data", "verbose_name_plural": "versi data"},
        ),
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS desapresisi_data_changed();"),
    ]
