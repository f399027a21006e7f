import pytest
from django.db import connection

from villages.models import Kind, Level, Region
from villages.services import regions_load

pytestmark = pytest.mark.django_db


def test_ppu_has_four_kecamatan_and_54_villages():
    ppu = Region.objects.subtree("64.09")
    assert ppu.filter(level=Level.KECAMATAN).count() == 4
    assert ppu.filter(level=Level.DESA).count() == 54
    assert ppu.filter(kind=Kind.KELURAHAN).count() == 24
    assert ppu.filter(kind=Kind.DESA).count() == 30


def test_every_ppu_village_has_a_valid_nonempty_polygon():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM villages_region WHERE level = 'desa' AND code LIKE '64.09.%%' "
            "AND boundary IS NOT NULL AND ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary) "
            "AND area_km2 > 0"
        )
        assert cursor.fetchone()[0] == 54


@pytest.mark.parametrize("parent_level", [Level.KECAMATAN, Level.KABUPATEN])
def test_parent_boundary_equals_union_of_its_children(parent_level):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT p.code,
                   ST_Area(ST_SymDifference(p.boundary, ST_Union(c.boundary))::geography)
            FROM villages_region p JOIN villages_region c ON c.parent_id = p.code
            WHERE p.level = %s AND p.code LIKE '64.09%%'
            GROUP BY p.code, p.boundary
            """,
            [parent_level],
        )
        rows = cursor.fetchall()
    assert rows, "no parent found"
    for code, difference_m2 in rows:
        assert difference_m2 < 1.0, f"{code} differs from the union of its children"


def test_kecamatan_areas_match_the_documented_figures():
    # SOURCES.md: Penajam 892, Waru 613, Babulu 427, Sepaku 1,279 km2 (union of villages).
    expected = {"64.09.01": 892, "64.09.02": 613, "64.09.03": 427, "64.09.04": 1279}
    for code, area in expected.items():
        assert Region.objects.get(code=code).area_km2 == pytest.approx(area, rel=0.01)


def test_province_gets_no_boundary_from_a_single_kabupaten():
    assert Region.objects.get(code="64").boundary is None


def test_second_load_changes_nothing():
    result = regions_load(scope="ppu")
    assert not result.changed
    assert sum(result.unchanged.values()) == 60


def test_load_restores_a_tampered_village():
    Region.objects.filter(code="64.09.01.1001").update(name="Salah")
    result = regions_load(scope="ppu")
    assert result.updated == {Level.DESA: 1}
    assert Region.objects.get(code="64.09.01.1001").name == "Tanjung Tengah"


def test_kaltim_scope_loads_1038_villages_with_polygons():
    result = regions_load(scope="kaltim")
    villages = Region.objects.subtree("64").filter(level=Level.DESA)
    assert villages.count() == 1038
    assert villages.filter(boundary__isnull=False).count() == 1038
    assert result.villages_with_boundary == 1038
    # The province is complete in this scope, so it gets the union of its kabupaten.
    assert Region.objects.get(code="64").area_km2 == pytest.approx(126_980, rel=0.01)


def test_indonesia_scope_loads_all_83762_village_codes():
    regions_load(scope="indonesia")
    assert Region.objects.filter(level=Level.DESA).count() == 83_762
    assert Region.objects.filter(level=Level.PROVINCE).count() == 38
    # Polygons exist only for Kalimantan Timur.
    assert Region.objects.filter(level=Level.DESA, boundary__isnull=False).count() == 1038
    assert not regions_load(scope="indonesia").changed
