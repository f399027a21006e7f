"""Member status (issue 13, life events): current / died / moved out, with the date and
an optional destination. Every existing member is current (the column's default); the
member counts do not change here (migration 0018 makes the triggers count only current
members)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0016_map_criteria_from_indicators"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="status_anggota",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "Ada (anggota saat ini)"), (2, "Meninggal"), (3, "Pindah keluar")],
                db_default=1,
                default=1,
                verbose_name="status anggota",
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="tanggal_status",
            field=models.DateField(
                blank=True,
                help_text="Tanggal meninggal atau pindah keluar.",
                null=True,
                verbose_name="tanggal status",
            ),
        ),
        migrations.AddField(
            model_name="member",
            name="tujuan_pindah",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="Bila pindah keluar dan tujuannya diketahui.",
                max_length=200,
                verbose_name="tujuan pindah",
            ),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.CheckConstraint(
                condition=models.Q(("status_anggota__in", [1, 2, 3])), name="member_status_code"
            ),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status_anggota", 1), ("tanggal_status__isnull", True)),
                    models.Q(
                        models.Q(("status_anggota", 1), _negated=True),
                        ("tanggal_status__gte", models.F("tanggal_lahir")),
                    ),
                    _connector="OR",
                ),
                name="member_status_date",
            ),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.CheckConstraint(
                condition=models.Q(("tujuan_pindah", ""), ("status_anggota", 3), _connector="OR"),
                name="member_destination_only_if_moved_out",
            ),
        ),
    ]
