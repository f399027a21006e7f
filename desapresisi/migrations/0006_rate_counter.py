"""The API's rate-limit counters (desapresisi/throttling.py): one row per scope and
caller, a fixed-window count updated by one INSERT ... ON CONFLICT per request. UNLOGGED:
not written to the WAL (no replica or backup holds it; a crash empties it, which forgives
at most one window of counts)."""

from django.db import migrations

CREATE = """
CREATE UNLOGGED TABLE desapresisi_rate_count (
    key text PRIMARY KEY,
    window_end bigint NOT NULL,
    hits integer NOT NULL
);
"""
DROP = "DROP TABLE IF EXISTS desapresisi_rate_count;"


class Migration(migrations.Migration):
    dependencies = [("desapresisi", "0005_data_version")]

    operations = [migrations.RunSQL(CREATE, DROP)]
