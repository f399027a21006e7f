"""The synthetic census generator: deterministic, realistic, bulk."""

import datetime as dt

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from demo.generator import GeneratorError, _allocate, _Village, households_generate, load_rates
from households.models import DataSource, Household, Member
from tests.factories import HouseholdFactory
from villages.models import VillageUnit

pytestmark = pytest.mark.django_db

SMALL = 800


def snapshot():
    households = list(
        Household.objects.order_by("no_kk").values_list(
            "no_kk",
            "region_id",
            "rt",
            "fasilitas_bab",
            "sumber_air_minum",
            "desil_kesejahteraan",
            "jumlah_anggota",
        )
    )
    members = list(
        Member.objects.order_by("nik").values_list(
            "nik", "nama", "tanggal_lahir", "hubungan_keluarga"
        )
    )
    points = list(Household.objects.order_by("no_kk").values_list("lokasi", flat=True))
    return households, members, [(p.x, p.y) for p in points]


@pytest.fixture
def generated():
    return households_generate(region_code="64.09", households=SMALL, seed=11)


def test_generates_the_requested_number_in_every_village(generated):
    assert generated.households == SMALL == Household.objects.count()
    assert generated.members == Member.objects.count()
    assert Household.objects.values("region_id").distinct().count() == 54
    assert set(Household.objects.values_list("sumber_data", flat=True)) == {DataSource.SYNTHETIC}


def test_same_seed_gives_the_same_data(generated):
    first = snapshot()
    households_generate(region_code="64.09", households=SMALL, seed=11)
    assert Household.objects.count() == SMALL  # replaced, not added
    assert snapshot() == first


def test_another_seed_gives_other_data(generated):
    first = snapshot()
    households_generate(region_code="64.09", households=SMALL, seed=12)
    assert snapshot()[1] != first[1]


def test_every_point_lies_inside_its_own_village(generated):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM households_household h "
            "JOIN villages_region r ON r.code = h.region_id "
            "WHERE NOT ST_Contains(r.boundary, h.lokasi)"
        )
        assert cursor.fetchone()[0] == 0


def test_points_cluster_around_settlements(generated):
    # Clustered points sit much closer to their nearest neighbour than uniform ones would.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH village AS (
                SELECT region_id, count(*) AS n FROM households_household GROUP BY 1
                ORDER BY n DESC LIMIT 1
            ), nearest AS (
                SELECT (SELECT ST_Distance(h.lokasi::geography, o.lokasi::geography)
                        FROM households_household o
                        WHERE o.region_id = h.region_id AND o.id <> h.id
                        ORDER BY h.lokasi <-> o.lokasi LIMIT 1) AS d
                FROM households_household h JOIN village v USING (region_id)
            )
            SELECT avg(d), (SELECT ST_Area(boundary::geography) / v.n
                            FROM villages_region, village v WHERE code = v.region_id)
            FROM nearest
            """
        )
        observed, area_per_point = cursor.fetchone()
    uniform_expectation = 0.5 * area_per_point**0.5
    assert observed < 0.5 * uniform_expectation


def test_nik_encodes_kecamatan_birth_date_and_sex(generated):
    for nik, birth, sex, region in Member.objects.values_list(
        "nik", "tanggal_lahir", "jenis_kelamin", "household__region_id"
    ):
        assert nik[:6] == region[:8].replace(".", "")
        day = int(nik[6:8]) - (40 if sex == 2 else 0)
        assert (day, int(nik[8:10]), int(nik[10:12])) == (birth.day, birth.month, birth.year % 100)


def test_kk_starts_with_the_kecamatan_code(generated):
    for kk, region in Household.objects.values_list("no_kk", "region_id"):
        assert kk[:6] == region[:8].replace(".", "")


def test_exactly_one_head_per_household_and_plausible_families(generated):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE hubungan_keluarga = 1), count(*) FROM households_member "
            "GROUP BY household_id"
        )
        rows = cursor.fetchall()
    assert len(rows) == SMALL
    assert all(heads == 1 for heads, _ in rows)
    sizes = [size for _, size in rows]
    assert min(sizes) >= 1
    assert max(sizes) <= 12
    assert 3.0 < sum(sizes) / len(sizes) < 4.8


def test_relationships_and_ages_make_sense(generated):
    survey = dt.date(2025, 12, 1)
    for household in Household.objects.prefetch_related("members")[:300]:
        members = list(household.members.all())
        head = next(m for m in members if m.hubungan_keluarga == 1)
        assert (survey - head.tanggal_lahir).days / 365.25 >= 18
        for member in members:
            if member.hubungan_keluarga == 3:  # wife
                assert member.jenis_kelamin == 2
            if member.hubungan_keluarga == 4:  # child is younger than the head
                assert member.tanggal_lahir > head.tanggal_lahir


def test_kelurahan_are_better_served_than_desa(generated):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT substr(region_id, 10, 1) = '1' AS kelurahan,
                   avg((tangga_sanitasi >= 2)::int), avg(air_minum_layak::int)
            FROM households_household GROUP BY 1
            """
        )
        rates = {row[0]: row[1:] for row in cursor.fetchall()}
    assert rates[True][0] > rates[False][0]
    assert rates[True][1] > rates[False][1]


def test_derived_counts_are_filled_for_generated_rows(generated):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM households_household h WHERE jumlah_anggota <> "
            "(SELECT count(*) FROM households_member m WHERE m.household_id = h.id)"
        )
        assert cursor.fetchone()[0] == 0
    assert Household.objects.filter(jumlah_ats__gt=0).exists()


def test_real_households_are_never_replaced(generated):
    real = HouseholdFactory(no_kk="6409019999990001", head__nik="6409010101809999")
    households_generate(region_code="64.09", households=50, seed=1)
    assert Household.objects.filter(pk=real.pk).exists()
    assert Household.objects.count() == 51


def test_command_reports_synthetic_data(capsys):
    call_command("generate_households", region="64.09.02", households=40, seed=3)
    output = capsys.readouterr().out
    assert "SYNTHETIC" in output
    assert Household.objects.filter(region__code__startswith="64.09.02.").count() == 40


def test_unknown_region_is_a_clear_error():
    with pytest.raises(CommandError, match="not loaded"):
        call_command("generate_households", region="99.99", households=10, seed=1)


def test_population_figures_do_not_swamp_areas_without_them():
    # PPU's kecamatan have published population; a neighbour kabupaten has none. Its
    # villages must keep a share like PPU's, not the crumbs left after people counts.

    rates = load_rates()
    ppu = [_Village(f"64.09.0{k}.20{i:02d}", "desa", None, 0.5) for k in (1, 3) for i in range(5)]
    other = [_Village(f"64.01.01.20{i:02d}", "desa", None, 0.5) for i in range(10)]
    _allocate(ppu + other, 10_000, rates, np.random.default_rng(3))
    in_ppu = sum(v.households for v in ppu)
    assert sum(v.households for v in ppu + other) == 10_000
    assert 2_000 < in_ppu < 8_000
    # Within PPU, the kecamatan with the larger population gets more households.
    penajam = sum(v.households for v in ppu if v.kecamatan == "64.09.01")
    babulu = sum(v.households for v in ppu if v.kecamatan == "64.09.03")
    assert penajam > babulu


def test_every_village_gets_its_dusun_rw_and_rt_and_every_household_resolves(generated):
    villages = set(Household.objects.values_list("region_id", flat=True))
    assert set(VillageUnit.objects.values_list("region_id", flat=True)) == villages
    kinds = set(VillageUnit.objects.values_list("kind", flat=True))
    assert kinds == {"dusun", "rw", "rt"}
    # RW under their dusun, RT under their RW: the tree of a real village.
    assert not VillageUnit.objects.filter(kind="rw", parent__isnull=True).exists()
    assert not VillageUnit.objects.exclude(kind="dusun").filter(parent__isnull=True).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM households_household h,"
            " LATERAL households_unit_resolve(h.region_id, h.dusun, h.rw, h.rt) r"
            " WHERE r.problem IS NOT NULL OR cardinality(r.chain) <> 3"
        )
        assert cursor.fetchone()[0] == 0


def test_another_seed_adds_the_units_its_names_need(generated):
    households_generate(region_code="64.09", households=SMALL * 2, seed=12)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as the commit would
    assert Household.objects.count() == SMALL * 2


def _second_kabupaten() -> list[str]:
    """A made-up kabupaten 64.98 of Kaltim with two villages borrowing PPU boundaries, so
    that one call covers two kabupaten."""
    from villages.models import Kind, Level, Region  # noqa: PLC0415

    version = Region.objects.get(code="64.09").code_version
    kabupaten = Region.objects.create(
        code="64.98", name="Kabupaten Uji", level=Level.KABUPATEN, kind=Kind.KABUPATEN,
        parent_id="64", code_version=version,
    )  # fmt: skip
    kecamatan = Region.objects.create(
        code="64.98.01", name="Uji", level=Level.KECAMATAN, kind=Kind.KECAMATAN,
        parent=kabupaten, code_version=version,
    )  # fmt: skip
    codes = []
    borrowed = Region.objects.filter(level=Level.DESA, code__startswith="64.09.03.").order_by(
        "code"
    )[:2]
    for number, village in enumerate(borrowed, start=1):
        code = f"64.98.01.200{number}"
        Region.objects.create(
            code=code, name=f"Uji {number}", level=Level.DESA, kind=Kind.DESA,
            parent=kecamatan, code_version=version, boundary=village.boundary,
        )  # fmt: skip
        codes.append(code)
    return codes


def test_each_kabupaten_commits_alone_and_a_resumed_run_keeps_the_finished_ones(monkeypatch):
    import demo.generator as generator  # noqa: PLC0415

    _second_kabupaten()
    real = generator._generate_village

    def stop_in_the_second(village, *args):
        if village.code.startswith("64.98."):
            raise RuntimeError("power cut")
        return real(village, *args)

    monkeypatch.setattr(generator, "_generate_village", stop_in_the_second)
    with pytest.raises(RuntimeError, match="power cut"):
        households_generate(region_code="64", households=SMALL, seed=5, refresh=False)
    first = set(Household.objects.values_list("id", "no_kk"))
    assert first and all(no_kk.startswith("6409") for _, no_kk in first)
    assert not Household.objects.filter(region__code__startswith="64.98.").exists()

    monkeypatch.setattr(generator, "_generate_village", real)
    resumed = households_generate(
        region_code="64", households=SMALL, seed=5, refresh=False, resume=True
    )
    assert resumed.kept == len(first)
    assert resumed.households == SMALL - len(first)
    assert Household.objects.count() == SMALL
    # The kabupaten committed before the cut is untouched: the same rows, the same ids.
    assert (
        set(Household.objects.filter(region__code__startswith="64.09.").values_list("id", "no_kk"))
        == first
    )
    resumed_kk = set(Household.objects.values_list("no_kk", flat=True))
    # The same census as an uninterrupted run.
    households_generate(region_code="64", households=SMALL, seed=5, refresh=False)
    assert set(Household.objects.values_list("no_kk", flat=True)) == resumed_kk
    with pytest.raises(GeneratorError):
        households_generate(region_code="64", households=SMALL, seed=5, replace=False, resume=True)
