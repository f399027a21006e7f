"""factory_boy factories for households and members on the real PPU villages.

Every household gets a head of family (the database refuses a household without one at
commit) and a GPS point inside its own village polygon.
"""

from __future__ import annotations

import datetime as dt
import random

import factory
import shapely
from django.contrib.gis.geos import Point

from households.models import DataSource, Household, Member
from villages.models import Region, UnitKind, VillageUnit

PENAJAM_KELURAHAN = "64.09.01.1001"  # Tanjung Tengah
BABULU_DESA = "64.09.03.2001"  # a desa in Babulu


def point_in_village(code: str, seed: int) -> Point:
    """A reproducible point inside the village's polygon."""
    boundary = Region.objects.only("boundary").get(code=code).boundary
    polygon = shapely.from_wkb(bytes(boundary.wkb))
    rng = random.Random(seed)
    minx, miny, maxx, maxy = polygon.bounds
    for _ in range(1000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(polygon, x, y):
            return Point(x, y, srid=4326)
    anchor = shapely.point_on_surface(polygon)
    return Point(anchor.x, anchor.y, srid=4326)


def nik_for(region_code: str, birth: dt.date, sex: int, serial: int) -> str:
    day = birth.day + (40 if sex == 2 else 0)
    return f"{region_code[:8].replace('.', '')}{day:02d}{birth:%m%y}{serial:04d}"


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household
        skip_postgeneration_save = True

    region_id = PENAJAM_KELURAHAN
    no_kk = factory.LazyAttributeSequence(
        lambda o, n: f"{o.region_id[:8].replace('.', '')}0101{(n % 100):02d}{n % 10000:04d}"
    )
    dusun = "Lingkungan I"
    rw = "001"
    rt = "002"
    alamat = factory.Sequence(lambda n: f"Jl. Provinsi No. {n}")
    lokasi = factory.LazyAttributeSequence(lambda o, n: point_in_village(o.region_id, n))
    tanggal_survei = dt.date(2025, 10, 15)
    fasilitas_bab = 1
    jenis_kloset = 1
    pembuangan_tinja = 1
    sumber_air_minum = 3
    kepemilikan_rumah = 1
    lantai = 2
    dinding = 1
    atap = 3
    penerangan = 1
    bahan_bakar_memasak = 4
    desil_kesejahteraan = 6
    desil_sumber = "DTSEN"
    desil_tahun = 2025
    sumber_data = DataSource.MANUAL

    @factory.post_generation
    def head(household, create, extracted, **kwargs):
        if create and extracted is not False:
            MemberFactory(household=household, hubungan_keluarga=1, **kwargs)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory)
    nama = factory.Sequence(lambda n: f"Warga Uji {n}")
    jenis_kelamin = 1
    tanggal_lahir = dt.date(1985, 3, 9)
    hubungan_keluarga = 4
    partisipasi_sekolah = 3
    jenjang_pendidikan = 13
    ijazah_tertinggi = 13
    nik = factory.LazyAttributeSequence(
        lambda o, n: nik_for(o.household.region_id, o.tanggal_lahir, o.jenis_kelamin, n % 10000)
    )


def village_units(
    region_code: str, tree: dict[str, dict[str, list[str]]]
) -> dict[str, VillageUnit]:
    """Units of a village from {dusun: {rw: [rt, ...]}}; an empty dusun name puts its RW
    directly under the village. Returns them keyed "dusun", "dusun/rw", "dusun/rw/rt"."""
    units: dict[str, VillageUnit] = {}
    for dusun, rws in tree.items():
        d = None
        if dusun:
            d = units[dusun] = VillageUnit.objects.create(
                region_id=region_code, kind=UnitKind.DUSUN, name=dusun
            )
        for rw, rts in rws.items():
            w = units[f"{dusun}/{rw}"] = VillageUnit.objects.create(
                region_id=region_code, kind=UnitKind.RW, name=rw, parent=d
            )
            for rt in rts:
                units[f"{dusun}/{rw}/{rt}"] = VillageUnit.objects.create(
                    region_id=region_code, kind=UnitKind.RT, name=rt, parent=w
                )
    return units


# --- Programmes ------------------------------------------------------------------------------


class SkpdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programmes.Skpd"
        django_get_or_create = ("code",)

    code = "dinkes"
    name = "Dinas Kesehatan"


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "programmes.Programme"

    code = factory.Sequence(lambda n: f"prog-{n}")
    name = factory.Sequence(lambda n: f"Program Uji {n}")
    skpd = factory.SubFactory(SkpdFactory)
    year = 2026
    funding_sources = ["apbd_kabupaten"]
    unit = "household"
    indicator_id = "tanpa_jamban"
    area_id = "64.09"
    target_count = 10
    unit_cost = 5_000_000
