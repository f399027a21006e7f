"""Upgrades without loss: a database holding data in the previous release's schema is
migrated to the current one and keeps every record; every migration is run backwards once
(down to an empty schema of the portal's apps) and forwards again.

The previous release is the schema of main on 2026-12-01 (commit 834c067, before the
health, metrics and village-unit migrations). When a release is cut, PREVIOUS_RELEASE moves
to its last migration of each app.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from households.models import Household, Member

pytestmark = pytest.mark.django_db(transaction=True)

PREVIOUS_RELEASE = [
    ("desapresisi", "0002_audit_append_only"),
    ("villages", "0002_drop_duplicate_prefix_index"),
    ("households", "0019_life_events"),
]
# In the order they can be unmade.
OUR_APPS = ("quality", "programmes", "households", "villages", "desapresisi")

HOUSEHOLD = {
    "dusun": "Lingkungan I", "rw": "001", "rt": "002", "alamat": "Jl. Provinsi No. 1",
    "tanggal_survei": dt.date(2025, 10, 15), "fasilitas_bab": 6, "sumber_air_minum": 3,
    "kepemilikan_rumah": 1, "lantai": 2, "dinding": 1, "atap": 3, "penerangan": 1,
    "bahan_bakar_memasak": 4, "desil_kesejahteraan": 2, "desil_sumber": "DTSEN",
    "desil_tahun": 2025, "sumber_data": "manual",
}  # fmt: skip


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _latest(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return [node for node in executor.loader.graph.leaf_nodes() if node[0] in OUR_APPS]


def _migrate(targets) -> MigrationExecutor:
    executor = _executor()
    executor.migrate(targets)
    return _executor()


def _fill_previous_release(apps) -> dict:
    """A village with two households and their members, written with the models as they
    were in the previous release."""
    region = apps.get_model("villages", "Region")
    household = apps.get_model("households", "Household")
    member = apps.get_model("households", "Member")
    square = MultiPolygon(Polygon.from_bbox((116.6, -1.3, 116.8, -1.1)), srid=4326)
    common = {"code_version": "Kepmendagri 300.2.2-2138/2025", "boundary": square}
    # The session's PPU regions are usually there; a transactional test may have emptied them.
    for code, name, level, kind, parent in [
        ("64", "Kalimantan Timur", "province", "provinsi", None),
        ("64.09", "Penajam Paser Utara", "kabupaten", "kabupaten", "64"),
        ("64.09.01", "Penajam", "kecamatan", "kecamatan", "64.09"),
        ("64.09.01.1001", "Penajam", "desa", "kelurahan", "64.09.01"),
    ]:
        region.objects.get_or_create(
            code=code,
            defaults={"name": name, "level": level, "kind": kind, "parent_id": parent, **common},
        )
    names = {}
    for number in range(2):
        with transaction.atomic():  # one head per household, checked at commit
            home = household.objects.create(
                region_id="64.09.01.1001", no_kk=f"640901010199{number:04d}",
                lokasi=Point(116.7, -1.2 + number * 0.01, srid=4326), **HOUSEHOLD,
            )  # fmt: skip
            for position, (nama, hubungan) in enumerate([("Kepala", 1), ("Istri", 2), ("Anak", 3)]):
                member.objects.create(
                    household=home, nik=f"64090155059{number}{position:04d}",
                    nama=f"{nama} Rumah {number}", hubungan_keluarga=hubungan,
                    jenis_kelamin=1 if hubungan != 2 else 2,
                    tanggal_lahir=dt.date(1980 + position * 10, 5, 5),
                )  # fmt: skip
        names[home.no_kk] = sorted(
            member.objects.filter(household=home).values_list("nama", flat=True)
        )
    return names


def _read(apps) -> dict:
    household = apps.get_model("households", "Household")
    member = apps.get_model("households", "Member")
    return {
        home.no_kk: sorted(
            member.objects.filter(household_id=home.pk).values_list("nama", flat=True)
        )
        for home in household.objects.all()
    }


def test_data_of_the_previous_release_survives_the_upgrade():
    executor = _executor()
    latest = _latest(executor)
    try:
        executor = _migrate(PREVIOUS_RELEASE)
        before = _fill_previous_release(executor.loader.project_state(PREVIOUS_RELEASE).apps)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM desapresisi_changerecord")
            history_before = cursor.fetchone()[0]
        executor = _migrate(latest)
        assert _read(executor.loader.project_state(latest).apps) == before
        assert Household.objects.count() == 2 and Member.objects.count() == 6  # current models
        assert Household.objects.get(no_kk="6409010101990000").jumlah_anggota == 3
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM desapresisi_changerecord")
            assert cursor.fetchone()[0] == history_before  # the history is kept, not rewritten
    finally:
        _migrate(latest)


def test_every_migration_runs_backwards_once_and_forwards_again():
    executor = _executor()
    latest = _latest(executor)
    plan = executor.migration_plan([(app, None) for app in OUR_APPS])
    irreversible = [
        f"{migration.app_label}.{migration.name}"
        for migration, _backwards in plan
        if any(not op.reversible for op in migration.operations)
    ]
    assert irreversible == [], f"migrations that cannot be undone: {irreversible}"
    try:
        executor = _migrate([(app, None) for app in OUR_APPS])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND (tablename LIKE 'households\\_%' OR tablename LIKE 'villages\\_%' "
                "OR tablename LIKE 'desapresisi\\_%' OR tablename LIKE 'programmes\\_%')"
            )
            # The cache table is createcachetable's, not a migration's.
            left = {name for (name,) in cursor.fetchall()}
            assert left <= {settings.CACHES["default"].get("LOCATION")}, left
    finally:
        executor = _migrate(latest)
    assert not executor.migration_plan(latest)
