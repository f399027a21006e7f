"""The register of life events (issue 13): `LifeEvent`, one dated row per birth, death,
move out, move in, transfer between households, split and change of head, written by the
services with the change it records; and `TemporarySerial`, the last serial of temporary
NIKs and No. KKs per village (never handed out twice).

The register's references to members and households become NULL when those rows are
deleted, whoever deletes them (the census import deletes members with plain SQL): the
foreign keys are created here ON DELETE SET NULL (Django 5.2 cannot declare it).

Events recorded before the register are added from what the rows say: deaths and moves
out from the member's status and date, births from temporary NIKs (only births hand them
out), with the actor and time of the change record that wrote them where it is found.
The dusun/RW/RT snapshot is the household's current one.
"""

import django.db.models.deletion
from django.db import migrations, models

import households.models.events

# Django 5.2 cannot declare ON DELETE SET NULL: the model's foreign keys are
# db_constraint=False, and the database's are these.
FOREIGN_KEYS_SET_NULL = r"""
ALTER TABLE households_lifeevent
    ADD CONSTRAINT households_lifeevent_member_fk FOREIGN KEY (member_id)
        REFERENCES households_member (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT households_lifeevent_household_fk FOREIGN KEY (household_id)
        REFERENCES households_household (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT households_lifeevent_other_household_fk FOREIGN KEY (other_household_id)
        REFERENCES households_household (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;
"""

BACKFILL = r"""
INSERT INTO households_lifeevent
    (kind, tanggal, member_id, household_id, region_id, dusun, rw, rt, other_dusun, other_rw,
     other_rt, jenis_kelamin, nama, nik, asal_tujuan, actor, dicatat)
SELECT CASE m.status_anggota WHEN 2 THEN 'meninggal' ELSE 'pindah_keluar' END,
       m.tanggal_status, m.id, h.id, h.region_id, h.dusun, h.rw, h.rt, '', '', '',
       m.jenis_kelamin, m.nama, m.nik,
       CASE WHEN m.status_anggota = 3 THEN m.tujuan_pindah ELSE '' END,
       coalesce(c.actor, ''), coalesce(c.at, now())
FROM households_member m
JOIN households_household h ON h.id = m.household_id
LEFT JOIN LATERAL (
    SELECT r.actor, r.at FROM desapresisi_changerecord r
    WHERE r.household_id = m.household_id AND r."table" = 'member' AND r.row_id = m.id
      AND r.changes ? 'status_anggota'
    ORDER BY r.at DESC, r.id DESC LIMIT 1
) c ON true
WHERE m.status_anggota IN (2, 3) AND m.tanggal_status IS NOT NULL;

INSERT INTO households_lifeevent
    (kind, tanggal, member_id, household_id, region_id, dusun, rw, rt, other_dusun, other_rw,
     other_rt, jenis_kelamin, nama, nik, asal_tujuan, actor, dicatat)
SELECT 'lahir', m.tanggal_lahir, m.id, h.id, h.region_id, h.dusun, h.rw, h.rt, '', '', '',
       m.jenis_kelamin, m.nama, m.nik, '', coalesce(c.actor, ''), coalesce(c.at, m.dibuat)
FROM households_member m
JOIN households_household h ON h.id = m.household_id
LEFT JOIN LATERAL (
    SELECT r.actor, r.at FROM desapresisi_changerecord r
    WHERE r.household_id = m.household_id AND r."table" = 'member' AND r.row_id = m.id
      AND r.action = 'insert'
    ORDER BY r.at, r.id LIMIT 1
) c ON true
WHERE m.nik LIKE '0%';

INSERT INTO households_temporaryserial (key, last)
SELECT 'nik:' || left(nik, 11), max(right(nik, 5)::integer)
FROM households_member WHERE nik LIKE '0%' GROUP BY left(nik, 11);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0018_only_current_members_count"),
        ("villages", "0002_drop_duplicate_prefix_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="TemporarySerial",
            fields=[
                ("key", models.CharField(max_length=24, primary_key=True, serialize=False)),
                ("last", models.PositiveIntegerField()),
            ],
            options={
                "verbose_name": "nomor urut sementara",
                "verbose_name_plural": "nomor urut sementara",
            },
        ),
        migrations.CreateModel(
            name="LifeEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("lahir", "Lahir"),
                            ("meninggal", "Meninggal"),
                            ("pindah_keluar", "Pindah keluar"),
                            ("pindah_masuk", "Pindah masuk"),
                            ("pindah_kk", "Pindah KK"),
                            ("pecah_kk", "Pecah KK"),
                            ("ganti_kepala", "Ganti kepala keluarga"),
                        ],
                        max_length=15,
                        verbose_name="jenis peristiwa",
                    ),
                ),
                ("tanggal", models.DateField(verbose_name="tanggal peristiwa")),
                (
                    "dusun",
                    models.CharField(blank=True, max_length=60, verbose_name="dusun/lingkungan"),
                ),
                ("rw", models.CharField(blank=True, max_length=3, verbose_name="RW")),
                ("rt", models.CharField(blank=True, max_length=3, verbose_name="RT")),
                (
                    "other_dusun",
                    models.CharField(
                        blank=True, max_length=60, verbose_name="dusun/lingkungan lain"
                    ),
                ),
                ("other_rw", models.CharField(blank=True, max_length=3, verbose_name="RW lain")),
                ("other_rt", models.CharField(blank=True, max_length=3, verbose_name="RT lain")),
                (
                    "jenis_kelamin",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        choices=[(1, "Laki-laki"), (2, "Perempuan")],
                        null=True,
                        verbose_name="jenis kelamin",
                    ),
                ),
                ("nama", models.CharField(blank=True, max_length=120, verbose_name="nama")),
                ("nik", models.CharField(blank=True, max_length=16, verbose_name="NIK")),
                (
                    "asal_tujuan",
                    models.CharField(
                        blank=True,
                        help_text="Pindah keluar: tujuan; pindah masuk: asal (bila diketahui).",
                        max_length=200,
                        verbose_name="asal/tujuan di luar portal",
                    ),
                ),
                (
                    "actor",
                    models.CharField(
                        blank=True,
                        db_default=households.models.events.CurrentActor(),
                        max_length=160,
                        verbose_name="pelaku",
                    ),
                ),
                ("dicatat", models.DateTimeField(auto_now_add=True, verbose_name="dicatat")),
                (
                    "household",
                    models.ForeignKey(
                        db_constraint=False,
                        blank=True,
                        help_text="Tempat peristiwa; untuk pindah KK dan pecah KK: rumah tangga asal.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="life_events",
                        to="households.household",
                        verbose_name="rumah tangga",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        db_constraint=False,
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="life_events",
                        to="households.member",
                        verbose_name="anggota",
                    ),
                ),
                (
                    "other_household",
                    models.ForeignKey(
                        db_constraint=False,
                        blank=True,
                        help_text="Pindah KK: rumah tangga tujuan; pecah KK: rumah tangga baru.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="life_events_as_other",
                        to="households.household",
                        verbose_name="rumah tangga lain",
                    ),
                ),
                (
                    "other_region",
                    models.ForeignKey(
                        blank=True,
                        limit_choices_to={"level": "desa"},
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="villages.region",
                        verbose_name="desa/kelurahan lain",
                    ),
                ),
                (
                    "region",
                    models.ForeignKey(
                        limit_choices_to={"level": "desa"},
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="villages.region",
                        verbose_name="desa/kelurahan",
                    ),
                ),
            ],
            options={
                "verbose_name": "peristiwa kependudukan",
                "verbose_name_plural": "peristiwa kependudukan",
                "ordering": ["-tanggal", "-id"],
                "indexes": [
                    models.Index(fields=["region", "tanggal"], name="lifeevent_region_date_idx"),
                    models.Index(
                        condition=models.Q(("other_region__isnull", False)),
                        fields=["other_region", "tanggal"],
                        name="lifeevent_other_date_idx",
                    ),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("tanggal__gte", "1900-01-01")),
                        name="lifeevent_date_plausible",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("other_region__isnull", True),
                            ("kind__in", ("pindah_kk", "pecah_kk")),
                            _connector="OR",
                        ),
                        name="lifeevent_other_household_only_for_moves_between",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("asal_tujuan", ""),
                            ("kind__in", ("pindah_keluar", "pindah_masuk")),
                            _connector="OR",
                        ),
                        name="lifeevent_place_only_for_moves_out_or_in",
                    ),
                ],
            },
        ),
        migrations.RunSQL(FOREIGN_KEYS_SET_NULL, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
