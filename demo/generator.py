"""A deterministic generator of a realistic SYNTHETIC census, for demos and benchmarks.

Nothing it writes is real: every household is stored with `sumber_data='sintetis'` and
the portal labels such data wherever it is shown. Rates, their calibration and what is
assumed rather than measured are documented in `data/demo_rates.json`.

Each village draws from its own random stream (seeded by the seed and the village code),
so a village's households do not depend on which other villages are generated with it.
Rows are written with COPY in chunks; the database derives the ladder, water and housing
flags and the member counts itself (see models.py), exactly as for imported data.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from desapresisi.db import copy_csv_text, csv_field, history_pause
from households import schema
from households.census_import.write import units_from_names
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, Household
from programmes.models import Intervention, Programme, Skpd
from programmes.selectors import needs_condition
from programmes.services import intervention_transition, stats_rebuild, target_list_freeze
from villages.models import Kind, Region

KABUPATEN_CODE_LENGTH = 5  # PP.KK

DATA_DIR = Path(__file__).resolve().parent / "data"
CHUNK_HOUSEHOLDS = 20_000
METRES_PER_DEGREE = 111_320.0


def copy_columns(unit: str, row: dict) -> list[str]:
    """The columns a generated row is COPYed into: the catalogue's stored columns (in its
    order) that the row gives a value; any other column keeps its default (a question the
    generator does not draw stays unanswered). A key that is no such column fails."""
    writable = [e.column for e in schema.catalogue(unit) if e.stored and not e.generated]
    unknown = set(row) - set(writable)
    if unknown:
        raise GeneratorError(f"No {unit} column: {sorted(unknown)}")
    return [column for column in writable if column in row]


HEAD, HUSBAND, WIFE, CHILD, CHILD_IN_LAW, GRANDCHILD, PARENT, PARENT_IN_LAW, RELATIVE = range(1, 10)
MALE, FEMALE = 1, 2
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


class GeneratorError(ValueError):
    """The request cannot be generated; the message says why."""


@dataclass
class GenerateResult:
    region: str
    villages: int
    households: int
    members: int
    replaced: int
    seconds: float
    # Households of kabupaten an earlier, interrupted run had committed (with `resume`).
    kept: int = 0


@dataclass
class _Village:
    code: str
    kind: str
    polygon: object  # shapely geometry, prepared
    remoteness: float
    households: int = 0

    @property
    def kecamatan(self) -> str:
        return self.code[:8]

    @property
    def is_urban(self) -> bool:
        return self.kind == Kind.KELURAHAN


def load_rates() -> dict:
    with (DATA_DIR / "demo_rates.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def load_names() -> dict:
    with (DATA_DIR / "demo_names.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def households_generate(
    *,
    region_code: str,
    households: int,
    seed: int,
    replace: bool = True,
    refresh: bool = True,
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
) -> GenerateResult:
    """Generate `households` synthetic households spread over the villages of a region.

    With `replace`, earlier synthetic households of the region are removed first; real
    (imported or entered) households are never touched. Each kabupaten is written and
    committed in one transaction, all-or-nothing: a province of ten million households is
    many transactions of a few hundred thousand, not one. With `resume`, a kabupaten that
    already holds exactly the synthetic households this call would give it (committed by an
    earlier run of the same region, size and seed that stopped) is kept, and the others are
    generated again. `refresh=False` leaves the touched villages marked stale for a later
    `indicators_refresh()`.
    """
    started = time.perf_counter()
    if households < 1:
        raise GeneratorError("The number of households must be at least 1.")
    if resume and not replace:
        raise GeneratorError("Resuming regenerates unfinished kabupaten: it cannot keep them.")
    region = Region.objects.filter(code=region_code).first()
    if region is None:
        raise GeneratorError(
            f"Region {region_code} is not loaded; run `manage.py load_regions` first."
        )
    rates = load_rates()
    names = load_names()
    villages = _villages(region_code, rates)
    if not villages:
        raise GeneratorError(
            f"No village under {region_code} has a boundary; households need one to be placed."
        )
    _allocate(villages, households, rates, np.random.default_rng(seed))

    # The unit of work: a kabupaten, or the region itself when it lies inside one.
    groups: dict[str, list[_Village]] = {}
    for village in villages:
        scope = village.code[:KABUPATEN_CODE_LENGTH]
        groups.setdefault(scope if len(scope) > len(region_code) else region_code, []).append(
            village
        )
    now = timezone.now().isoformat()
    written = members = replaced = kept = 0
    for number, (scope, group) in enumerate(sorted(groups.items()), start=1):
        wanted = sum(v.households for v in group)
        if resume and _synthetic_count(scope) == wanted:
            kept += wanted
            if progress:
                progress(f"{scope}: {wanted:,} households kept from an earlier run")
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            # Synthetic rows are not records of anybody: no change history for them.
            history_pause(reason="synthetic demo census", cursor=cursor)
            if replace:
                # Interventions on the households about to go (demo work on demo data) first.
                _delete_synthetic_work(
                    cursor,
                    "(region_id = %(code)s OR region_id LIKE %(prefix)s)"
                    " AND sumber_data = %(source)s",
                    {"code": scope, "prefix": f"{scope}.%", "source": DataSource.SYNTHETIC},
                )
                replaced += _delete_synthetic(cursor, scope)
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('households_household', 'id')) "
                "FROM generate_series(1, %s)",
                [max(wanted, 1)],
            )
            ids = iter(row[0] for row in cursor.fetchall())
            serials = _Serials(cursor, sorted({v.kecamatan for v in group}))
            writer = _ChunkWriter(cursor)
            for index, village in enumerate(group, start=1):
                if village.households:
                    _generate_village(village, seed, rates, names, ids, serials, now, writer)
                if writer.pending >= CHUNK_HOUSEHOLDS:
                    writer.flush()
                    if progress:
                        progress(
                            f"{written + writer.households:,} households"
                            f" ({scope}: {index}/{len(group)} villages)"
                        )
            writer.flush()
            # Each village's dusun, RW and RT as records of it (those it lacks): the names
            # the households were just given, and those its real households use.
            touched = sorted(v.code for v in group if v.households)
            units_from_names(
                cursor,
                villages=touched,
                # The village list is a parameter; the source is written here, no input.
                source="(SELECT DISTINCT region_id, dusun, rw, rt FROM households_household"
                " WHERE region_id = ANY(%(villages)s))",
            )
        written += writer.households
        members += writer.members
        if progress and len(groups) > 1:
            progress(
                f"{scope} committed ({number}/{len(groups)}): {writer.households:,} households"
            )
    with connection.cursor() as cursor:
        # Fresh statistics, so that the first queries on a new census plan well.
        cursor.execute("ANALYZE households_household, households_member")
    if refresh:
        indicators_refresh()
    return GenerateResult(
        region=region_code,
        villages=sum(1 for v in villages if v.households),
        households=written,
        members=members,
        replaced=replaced,
        seconds=time.perf_counter() - started,
        kept=kept,
    )


def _synthetic_count(scope: str) -> int:
    return Household.objects.filter(
        Q(region_id=scope) | Q(region__code__startswith=f"{scope}."),
        sumber_data=DataSource.SYNTHETIC,
    ).count()


def _villages(region_code: str, rates: dict) -> list[_Village]:
    rows = (
        Region.objects.subtree(region_code)
        .villages()
        .filter(boundary__isnull=False)
        .order_by("code")
        .values_list("code", "kind", "boundary")
    )
    villages = []
    for code, kind, boundary in rows:
        polygon = shapely.from_wkb(bytes(boundary.wkb))
        shapely.prepare(polygon)
        villages.append(_Village(code=code, kind=kind, polygon=polygon, remoteness=0.0))
    _set_remoteness(villages, rates)
    return villages


def _set_remoteness(villages: list[_Village], rates: dict) -> None:
    """0 for kelurahan; for a desa, its distance to the nearest kelurahan of its kabupaten,
    scaled to [0.15, 1] within the kabupaten."""
    by_kabupaten: dict[str, list[_Village]] = {}
    for village in villages:
        by_kabupaten.setdefault(village.code[:5], []).append(village)
    for members in by_kabupaten.values():
        points = np.array(
            [shapely.get_coordinates(shapely.point_on_surface(v.polygon))[0] for v in members]
        )
        urban = np.array([v.is_urban for v in members])
        anchors = points[urban] if urban.any() else points.mean(axis=0, keepdims=True)
        distance = np.sqrt(((points[:, None, :] - anchors[None, :, :]) ** 2).sum(axis=2)).min(
            axis=1
        )
        scale = distance[~urban].max() if (~urban).any() and distance[~urban].max() > 0 else 1.0
        for village, d, is_urban in zip(members, distance, urban, strict=True):
            village.remoteness = (
                rates["kelurahan_remoteness"] if is_urban else 0.15 + 0.85 * float(d / scale)
            )


def _allocate(villages: list[_Village], total: int, rates: dict, rng: np.random.Generator) -> None:
    """Split `total` households over villages: kecamatan shares from published population
    where known, village weights by kind with log-normal spread; exact total."""
    weights = np.array(
        [
            rates["village_weight"].get(v.kind, 1.0)
            * rng.lognormal(0.0, rates["village_weight_sigma"])
            for v in villages
        ]
    )
    population = rates["kecamatan_population"]
    kecamatan = np.array([v.kecamatan for v in villages])
    known = [kec for kec in sorted(set(kecamatan)) if kec in population]
    if known:
        # Population moves households between the kecamatan it is known for; their
        # combined weight stays what it was, so areas without figures (the rest of the
        # province) keep their share instead of being swamped by people counts.
        in_known = np.isin(kecamatan, known)
        scale = weights[in_known].sum() / sum(population[kec] for kec in known)
        for kec in known:
            mask = kecamatan == kec
            weights[mask] = weights[mask] / weights[mask].sum() * population[kec] * scale
    shares = weights / weights.sum() * total
    counts = np.floor(shares).astype(int)
    # Largest remainder keeps the total exact and the result deterministic.
    for index in np.argsort(-(shares - counts), kind="stable")[: total - counts.sum()]:
        counts[index] += 1
    for village, count in zip(villages, counts, strict=True):
        village.households = int(count)


def _delete_synthetic(cursor, region_code: str) -> int:
    """Remove earlier synthetic households of the region and their members.

    One statement, households first: the foreign key from members is checked at commit,
    and members of households already gone leave the count trigger nothing to update.
    """
    cursor.execute(
        """
        WITH gone AS (
            DELETE FROM households_household
            WHERE (region_id = %(code)s OR region_id LIKE %(prefix)s) AND sumber_data = %(source)s
            RETURNING id
        ), members AS (
            DELETE FROM households_member m USING gone WHERE m.household_id = gone.id
        )
        SELECT count(*) FROM gone
        """,
        {"code": region_code, "prefix": f"{region_code}.%", "source": DataSource.SYNTHETIC},
    )
    return cursor.fetchone()[0]


class _Serials:
    """The 4-digit serials of NIK and KK, unique per 12-digit prefix (kecamatan + date)."""

    def __init__(self, cursor, kecamatan_codes: list[str]):
        self.nik: dict[str, int] = {}
        self.kk: dict[str, int] = {}
        for kec in kecamatan_codes:
            prefix = kec.replace(".", "") + "%"
            cursor.execute(
                "SELECT left(nik, 12), max(right(nik, 4)::int) FROM households_member "
                "WHERE nik LIKE %s GROUP BY 1",
                [prefix],
            )
            self.nik.update(cursor.fetchall())
            cursor.execute(
                "SELECT left(no_kk, 12), max(right(no_kk, 4)::int) FROM households_household "
                "WHERE no_kk LIKE %s GROUP BY 1",
                [prefix],
            )
            self.kk.update(cursor.fetchall())

    @staticmethod
    def _next(table: dict[str, int], prefix: str) -> str:
        serial = table.get(prefix, 0) + 1
        if serial > 9999:
            raise GeneratorError(f"More than 9,999 identity numbers share the prefix {prefix}.")
        table[prefix] = serial
        return f"{prefix}{serial:04d}"

    def next_nik(self, kec6: str, birth: dt.date, sex: int) -> str:
        day = birth.day + (40 if sex == FEMALE else 0)
        return self._next(self.nik, f"{kec6}{day:02d}{birth.month:02d}{birth.year % 100:02d}")

    def next_kk(self, kec6: str, issued: dt.date) -> str:
        return self._next(
            self.kk, f"{kec6}{issued.day:02d}{issued.month:02d}{issued.year % 100:02d}"
        )


class _ChunkWriter:
    def __init__(self, cursor):
        self.cursor = cursor
        self.household_buffer = io.StringIO()
        self.member_buffer = io.StringIO()
        self.pending = 0
        self.households = 0
        self.members = 0

    household_columns: list[str] | None = None
    member_columns: list[str] | None = None

    def household(self, row: dict) -> None:
        if self.household_columns is None:
            self.household_columns = copy_columns(schema.HOUSEHOLD, row)
        values = (row[column] for column in self.household_columns)
        self.household_buffer.write(",".join(map(csv_field, values)) + "\n")
        self.pending += 1

    def member(self, row: dict) -> None:
        if self.member_columns is None:
            self.member_columns = copy_columns(schema.MEMBER, row)
        values = (row[column] for column in self.member_columns)
        self.member_buffer.write(",".join(map(csv_field, values)) + "\n")
        self.members += 1

    def flush(self) -> None:
        if not self.pending:
            return
        copy_csv_text(
            table="households_household",
            columns=self.household_columns,
            text=self.household_buffer,
            cursor=self.cursor,
        )
        copy_csv_text(
            table="households_member",
            columns=self.member_columns,
            text=self.member_buffer,
            cursor=self.cursor,
        )
        self.households += self.pending
        self.pending = 0
        self.household_buffer = io.StringIO()
        self.member_buffer = io.StringIO()


def _normal_cdf(values: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(values / math.sqrt(2.0)))


def _draw(
    spec: dict, mix: np.ndarray, rng: np.random.Generator, concentration: float
) -> np.ndarray:
    """Draw one coded answer per household from a mixture of the village's own urban and
    remote distributions (each jittered around the configured rates)."""
    keys = sorted({*spec["urban"], *spec["remote"]}, key=int)
    codes = np.array([int(key) for key in keys])
    village_cdfs = []
    for end in ("urban", "remote"):
        base = np.array([spec[end].get(key, 0.0) for key in keys], dtype=float)
        base = base / base.sum()
        jittered = np.zeros_like(base)
        positive = base > 0
        jittered[positive] = rng.dirichlet(base[positive] * concentration + 1e-3)
        village_cdfs.append(np.cumsum(jittered))
    cdf = (1.0 - mix)[:, None] * village_cdfs[0] + mix[:, None] * village_cdfs[1]
    index = (rng.random(len(mix))[:, None] > cdf).sum(axis=1)
    return codes[np.minimum(index, len(codes) - 1)]


def _place(village: _Village, n: int, rates: dict, rng: np.random.Generator):
    """GPS points clustered around settlements, all inside the village polygon."""
    config = rates["settlements"]["kelurahan" if village.is_urban else "desa"]
    polygon = village.polygon
    minx, miny, maxx, maxy = polygon.bounds
    k = int(rng.integers(config["min"], config["max"] + 1))
    candidates = np.column_stack([rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)])
    inside = shapely.contains_xy(polygon, candidates[:, 0], candidates[:, 1])
    centres = candidates[inside][:k]
    if len(centres) == 0:
        centres = shapely.get_coordinates(shapely.point_on_surface(polygon))
    k = len(centres)
    cluster = rng.choice(k, size=n, p=rng.dirichlet(np.full(k, 1.5)))
    sigma = config["sigma_m"] / METRES_PER_DEGREE * rng.lognormal(0.0, 0.3, size=k)
    points = centres[cluster] + rng.normal(size=(n, 2)) * sigma[cluster][:, None]
    for _ in range(10):
        outside = ~shapely.contains_xy(polygon, points[:, 0], points[:, 1])
        if not outside.any():
            break
        count = int(outside.sum())
        points[outside] = (
            centres[cluster[outside]]
            + rng.normal(size=(count, 2)) * sigma[cluster[outside]][:, None]
        )
    else:
        # A thin coastal strip can reject repeatedly: fall back to the settlement centre.
        outside = ~shapely.contains_xy(polygon, points[:, 0], points[:, 1])
        points[outside] = centres[cluster[outside]]
    return points, cluster


def _generate_village(
    village: _Village,
    seed: int,
    rates: dict,
    names: dict,
    ids,
    serials: _Serials,
    now: str,
    writer: _ChunkWriter,
) -> None:
    n = village.households
    rng = np.random.default_rng([seed, int(village.code.replace(".", ""))])
    prng = random.Random(f"{seed}:{village.code}")
    concentration = rates["village_concentration"]
    kec6 = village.kecamatan.replace(".", "")

    wealth = rng.normal(size=n)
    mix = np.clip(village.remoteness + rates["household_spread"] * (-wealth), 0.0, 1.0)
    shift = np.interp(
        village.remoteness,
        [0, 1],
        [rates["wealth_shift"]["urban"], rates["wealth_shift"]["remote"]],
    )
    decile = np.clip(np.floor(_normal_cdf(wealth + shift) * 10).astype(int) + 1, 1, 10)
    has_decile = rng.random(n) < rates["decile_coverage"]

    answers = {
        name: _draw(spec, mix, rng, concentration) for name, spec in rates["answers"].items()
    }
    facility = answers["fasilitas_bab"]
    water = answers["sumber_air_minum"]
    answers["jenis_kloset"] = np.where(np.isin(facility, [1, 2, 3]), answers["jenis_kloset"], 0)
    answers["pembuangan_tinja"] = np.where(facility <= 5, answers["pembuangan_tinja"], 0)
    answers["jarak_sumber_air_tinja"] = np.where(
        (water >= 4) & (water <= 8), answers["jarak_sumber_air_tinja"], 0
    )
    answers["sumber_air_mandi"] = np.where(
        np.isin(water, [1, 2]), answers["sumber_air_mandi"], water
    )

    aid = {}
    bucket = np.where(decile <= 2, "1-2", np.where(decile <= 4, "3-4", "5-10"))
    for programme, table in rates["aid"].items():
        probability = np.array([table[b] for b in bucket]) * has_decile
        if programme == "blt_dd" and village.is_urban:
            probability = probability * 0  # BLT Dana Desa is paid by desa, not kelurahan
        aid[programme] = rng.random(n) < probability

    points, cluster = _place(village, n, rates, rng)
    order = np.lexsort((points[:, 0], cluster))  # RT numbers follow settlements
    kind_key = "kelurahan" if village.is_urban else "desa"
    # RT numbers have three digits: a very large village gets larger RTs.
    per_rt = max(rates["households_per_rt"][kind_key], math.ceil(n / 999))
    rt_of = np.empty(n, dtype=int)
    rt_of[order] = np.arange(n) // per_rt + 1
    rw_of = (rt_of - 1) // rates["rt_per_rw"] + 1

    start = dt.date.fromisoformat(rates["survey_period"]["start"])
    days = (dt.date.fromisoformat(rates["survey_period"]["end"]) - start).days
    survey = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, days + 1, n)]
    types = list(rates["household_type"])
    household_type = rng.choice(types, size=n, p=[rates["household_type"][t] for t in types])
    unit = "Lingkungan" if village.is_urban else "Dusun"

    for i in range(n):
        household_id = next(ids)
        issued = dt.date(2008, 1, 1) + dt.timedelta(days=prng.randrange(0, 6400))
        dusun = f"{unit} {ROMAN[cluster[i] % len(ROMAN)]}"
        if village.is_urban:
            street = prng.choice(names["streets"])
            address = f"{street} No. {prng.randint(1, 180)}"
        else:
            address = f"RT {rt_of[i]:03d} {dusun}"

        def code(name: str, index: int = i) -> int | None:
            value = int(answers[name][index])
            return value if value else None

        writer.household(
            {
                "id": household_id,
                "no_kk": serials.next_kk(kec6, issued),
                "region_id": village.code,
                "dusun": dusun,
                "rw": f"{rw_of[i]:03d}",
                "rt": f"{rt_of[i]:03d}",
                "alamat": address,
                "lokasi": f"SRID=4326;POINT({points[i, 0]:.6f} {points[i, 1]:.6f})",
                "tanggal_survei": survey[i].isoformat(),
                "fasilitas_bab": code("fasilitas_bab"),
                "jenis_kloset": code("jenis_kloset"),
                "pembuangan_tinja": code("pembuangan_tinja"),
                "sumber_air_minum": code("sumber_air_minum"),
                "jarak_sumber_air_tinja": code("jarak_sumber_air_tinja"),
                "sumber_air_mandi": code("sumber_air_mandi"),
                "kepemilikan_rumah": code("kepemilikan_rumah"),
                "lantai": code("lantai"),
                "dinding": code("dinding"),
                "atap": code("atap"),
                "penerangan": code("penerangan"),
                "bahan_bakar_memasak": int(answers["bahan_bakar_memasak"][i]),
                "desil_kesejahteraan": int(decile[i]) if has_decile[i] else None,
                "desil_sumber": rates["decile_source"] if has_decile[i] else "",
                "desil_tahun": rates["decile_year"] if has_decile[i] else None,
                "penerima_pkh": bool(aid["pkh"][i]),
                "penerima_bpnt": bool(aid["bpnt"][i]),
                "penerima_blt_dd": bool(aid["blt_dd"][i]),
                "penerima_pbi_jk": bool(aid["pbi_jk"][i]),
                "sumber_data": DataSource.SYNTHETIC,
                "dibuat": now,
                "diubah": now,
                "jumlah_anggota": 0,
                "jumlah_ats": 0,
            }
        )
        for person in _family(str(household_type[i]), float(mix[i]), rates, prng):
            age, sex, relation = person
            birth = survey[i] - dt.timedelta(days=int(age * 365.25) + prng.randrange(0, 365))
            school = _schooling(age, float(mix[i]), rates, prng)
            participation, level, diploma = school
            writer.member(
                {
                    "household_id": household_id,
                    "nik": serials.next_nik(kec6, birth, sex),
                    "nama": _name(sex, names, prng),
                    "jenis_kelamin": sex,
                    "tanggal_lahir": birth.isoformat(),
                    "hubungan_keluarga": relation,
                    "partisipasi_sekolah": participation,
                    "jenjang_pendidikan": level,
                    "ijazah_tertinggi": diploma,
                    "disabilitas": _disabled(age, rates, prng),
                    "pekerjaan": _occupation(
                        age, sex, relation, participation, village.is_urban, names, prng
                    ),
                    "dibuat": now,
                    "diubah": now,
                }
            )


def _family(kind: str, mix: float, rates: dict, prng: random.Random) -> list[tuple[int, int, int]]:
    """(age, sex, relationship) of each member; the head first."""
    if kind == "single":
        age = prng.randint(20, 34) if prng.random() < 0.4 else prng.randint(60, 88)
        return [(age, prng.choice([MALE, FEMALE]), HEAD)]
    female_head = kind != "couple" and prng.random() < rates["female_head_share"]
    head_age = int(prng.triangular(23, 78, 40))
    people = [(head_age, FEMALE if female_head else MALE, HEAD)]
    mother_age = head_age
    if not female_head:
        mother_age = max(18, head_age - max(0, int(prng.gauss(4, 3))))
        people.append((mother_age, FEMALE, WIFE))
    if kind in ("nuclear", "extended"):
        spec = rates["children_mean"]
        mean = spec["urban"] + (spec["remote"] - spec["urban"]) * mix
        children = 1 + min(6, _poisson(mean - 1, prng))
        oldest = max(0, min(mother_age - 18, 30))
        for _ in range(children):
            people.append((prng.randint(0, oldest), prng.choice([MALE, FEMALE]), CHILD))
    if kind == "extended":
        extra = prng.random()
        if extra < 0.4 and head_age < 60:
            people.append(
                (min(95, head_age + prng.randint(22, 32)), prng.choice([MALE, FEMALE]), PARENT)
            )
        elif extra < 0.6 and head_age < 60:
            people.append((min(95, head_age + prng.randint(22, 32)), FEMALE, PARENT_IN_LAW))
        elif extra < 0.85 and head_age >= 45:
            people.append((prng.randint(0, 6), prng.choice([MALE, FEMALE]), GRANDCHILD))
            people.append((prng.randint(20, 30), prng.choice([MALE, FEMALE]), CHILD_IN_LAW))
        else:
            people.append((prng.randint(10, 40), prng.choice([MALE, FEMALE]), RELATIVE))
    return people


def _poisson(mean: float, prng: random.Random) -> int:
    """Knuth's method: fine for the small means of family sizes."""
    limit, count, product = math.exp(-mean), 0, prng.random()
    while product > limit:
        count += 1
        product *= prng.random()
    return count


def _band(age: int) -> str | None:
    if 7 <= age <= 12:
        return "7-12"
    if 13 <= age <= 15:
        return "13-15"
    if 16 <= age <= 18:
        return "16-18"
    return None


def _schooling(age: int, mix: float, rates: dict, prng: random.Random):
    """(partisipasi_sekolah 412, jenjang_pendidikan 413, ijazah_tertinggi 415)."""
    if age < 5:
        return (None, None, None)
    if age < 7:
        return (2, 3, 23) if prng.random() < 0.15 else (1, None, None)
    band = _band(age)
    if band:
        spec = rates["out_of_school"][band]
        out = prng.random() < spec["urban"] + (spec["remote"] - spec["urban"]) * mix
        if out:
            if prng.random() < rates["never_attended_share"][band]:
                return (1, None, None)
            if band == "7-12":
                return (3, prng.choice([3, 3, 3, 4]), 23)
            if band == "13-15":
                return (3, 3, 3) if prng.random() < 0.5 else (3, prng.choice([8, 9]), 3)
            roll = prng.random()
            if age == 18 and roll < 0.15:
                return (3, 13, 13)
            return (3, 8, 8) if roll < 0.5 else (3, prng.choice([13, 15]), 8)
        if band == "7-12":
            return (2, prng.choice([3, 3, 3, 4]), 23)
        if band == "13-15":
            return (
                (2, 3, 23) if age == 13 and prng.random() < 0.25 else (2, prng.choice([8, 8, 9]), 3)
            )
        if age == 18 and prng.random() < 0.2:
            return (2, 19, 13)
        return (2, prng.choice([13, 13, 14, 15, 15]), 8)
    if age <= 23 and prng.random() < 0.25 * (1 - mix):
        return (2, prng.choice([18, 19, 19]), 13)
    education = rates["adult_education"]
    weights = [
        u + (r - u) * min(1.0, mix + (education["older_cohort_shift"] if age >= 50 else 0.0))
        for u, r in zip(education["urban"], education["remote"], strict=True)
    ]
    level = prng.choices(range(6), weights=weights)[0]
    return [
        (1, None, None),
        (3, 3, 3),
        (3, 8, 8),
        (3, 13, 13) if prng.random() < 0.6 else (3, 15, 15),
        (3, 18, 18),
        (3, 19, 19) if prng.random() < 0.9 else (3, 21, 21),
    ][level]


def _name(sex: int, names: dict, prng: random.Random) -> str:
    given = prng.choice(names["male" if sex == MALE else "female"])
    if prng.random() < 0.75:
        return f"{given} {prng.choice(names['second'])}"
    return given


def _disabled(age: int, rates: dict, prng: random.Random) -> bool:
    key = "child" if age < 18 else "elderly" if age >= 60 else "adult"
    return prng.random() < rates["disability"][key]


def _occupation(
    age: int,
    sex: int,
    relation: int,
    participation: int | None,
    urban: bool,
    names: dict,
    prng: random.Random,
) -> str:
    jobs = names["occupations"]
    if participation == 2:
        return jobs["student"]
    if age < 15:
        return ""
    if age >= 65:
        return prng.choice([jobs["retired"], jobs["unemployed"], prng.choice(jobs["rural"])])
    if sex == FEMALE and relation in (WIFE, PARENT_IN_LAW) and prng.random() < 0.55:
        return jobs["homemaker"]
    if age <= 23 and prng.random() < 0.3:
        return jobs["unemployed"]
    return prng.choice(jobs["urban" if urban else "rural"])


# --- Demo programmes -------------------------------------------------------------------------

# Three plausible programmes of PPU's SKPD, each on the indicator it addresses. Amounts are
# typical unit costs (rupiah), assumed, not measured.
DEMO_PROGRAMMES = [
    {
        "skpd": ("dinkes", "Dinas Kesehatan"),
        "code": "stbm",
        "name": "STBM: pembangunan jamban sehat keluarga",
        "indicator": "tanpa_jamban",
        "unit": "household",
        "funding_sources": ["dak", "apbd_kabupaten"],
        "unit_cost": 3_500_000,
    },
    {
        "skpd": ("perkim", "Dinas Perumahan dan Kawasan Permukiman"),
        "code": "rtlh",
        "name": "Bedah rumah tidak layak huni",
        "indicator": "rtlh",
        "unit": "household",
        "funding_sources": ["apbd_provinsi", "apbd_kabupaten", "swadaya"],
        "unit_cost": 20_000_000,
    },
    {
        "skpd": ("disdik", "Dinas Pendidikan"),
        "code": "kembali-sekolah",
        "name": "Gerakan kembali bersekolah anak tidak sekolah",
        "indicator": "ats_7_18",
        "unit": "member",
        "funding_sources": ["apbd_kabupaten", "csr"],
        "unit_cost": 1_500_000,
    },
]
# How far each demo intervention gets: (path of statuses after `diusulkan`, weight).
DEMO_PATHS = [
    ((), 15),
    (("ditolak",), 8),
    (("batal",), 5),
    (("disetujui",), 15),
    (("disetujui", "dikerjakan"), 20),
    (("disetujui", "dikerjakan", "selesai"), 20),
    (("disetujui", "dikerjakan", "selesai", "terverifikasi"), 17),
]
DEMO_ACTORS = ("demo-program-skpd", "demo-program-verifikator")


@dataclass
class ProgrammesResult:
    programmes: int
    interventions: int
    seconds: float


def _demo_actor(username: str):
    """An account that records the demo's work: a superuser (the services check rights)
    with no usable password, so nobody can sign in as it."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"is_superuser": True, "is_staff": False}
    )
    if created:
        user.set_unusable_password()
        user.save()
    return user


def _delete_synthetic_work(cursor, household_filter: str, params: dict) -> None:
    """Remove the synthetic programmes and every intervention on the households the
    filter names (demo work on demo households), with their events, photos, frozen lists
    and rollup rows. Frozen lists and events refuse DELETE (programmes/sql/) except to
    the tables' owner (the maintenance role, as for history_pause) with
    programmes.demo_reset set, which this does for these statements only."""
    cursor.execute("SELECT set_config('programmes.demo_reset', 'on', true)")
    cursor.execute(
        f"""
        CREATE TEMP TABLE gone_i ON COMMIT DROP AS
        SELECT i.id FROM programmes_intervention i
        JOIN programmes_programme p ON p.id = i.programme_id
        WHERE p.synthetic OR i.household_id IN (
            SELECT id FROM households_household WHERE {household_filter}
        )
        """,  # noqa: S608 - the filter is one of this module's constants
        params,
    )
    cursor.execute(
        """
        DELETE FROM programmes_interventionevent WHERE intervention_id IN (SELECT id FROM gone_i);
        DELETE FROM programmes_evidencephoto WHERE intervention_id IN (SELECT id FROM gone_i);
        DELETE FROM programmes_intervention WHERE id IN (SELECT id FROM gone_i);
        DELETE FROM programmes_target WHERE target_list_id IN (
            SELECT tl.id FROM programmes_targetlist tl
            JOIN programmes_programme p ON p.id = tl.programme_id WHERE p.synthetic);
        DELETE FROM programmes_targetlist WHERE programme_id IN (
            SELECT id FROM programmes_programme WHERE synthetic);
        DELETE FROM programmes_programmevillagestat WHERE programme_id IN (
            SELECT id FROM programmes_programme WHERE synthetic);
        DELETE FROM programmes_programmemonthstat WHERE programme_id IN (
            SELECT id FROM programmes_programme WHERE synthetic);
        DELETE FROM programmes_programme WHERE synthetic;
        DROP TABLE gone_i;
        DELETE FROM programmes_coveragecell;
        """
    )
    cursor.execute("SELECT set_config('programmes.demo_reset', 'off', true)")
    # The rollup rows of what remains (other programmes lost their demo households).
    stats_rebuild()


def programmes_remove_synthetic() -> None:
    """Remove the demo programmes and their work (the benchmark measures, then leaves)."""
    with transaction.atomic(), connection.cursor() as cursor:
        _delete_synthetic_work(cursor, "false", {})


def programmes_generate(*, region_code: str = "64.09", year: int, seed: int) -> ProgrammesResult:
    """Three SYNTHETIC programmes (labelled so on every page and file) over the synthetic
    households of the region: each freezes a target list of the poorest households its
    indicator counts (deciles 1-4) and moves its interventions through every status with
    the real services (events, four eyes, rollup rows). Replaces earlier demo programmes."""
    started = time.perf_counter()
    rng = random.Random(seed)
    planner, verifier = (_demo_actor(name) for name in DEMO_ACTORS)
    paths, weights = zip(*DEMO_PATHS, strict=True)
    interventions = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            _delete_synthetic_work(cursor, "false", {})
        for spec in DEMO_PROGRAMMES:
            skpd, _created = Skpd.objects.get_or_create(
                code=spec["skpd"][0], defaults={"name": spec["skpd"][1]}
            )
            programme = Programme.objects.create(
                code=f"demo-{spec['code']}-{year}",
                name=spec["name"],
                skpd=skpd,
                year=year,
                funding_sources=spec["funding_sources"],
                unit=spec["unit"],
                indicator_id=spec["indicator"],
                area_id=region_code,
                unit_cost=spec["unit_cost"],
                synthetic=True,
            )
            candidates = (
                Household.objects.filter(
                    region__code__startswith=region_code,
                    sumber_data=DataSource.SYNTHETIC,
                    desil_kesejahteraan__lte=4,
                )
                .filter(needs_condition(programme))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            chosen = [pk for pk in candidates if rng.random() < 0.6][:400]
            if not chosen:
                programme.delete()
                continue
            result = target_list_freeze(
                actor=planner,
                programme=programme,
                households=Household.objects.filter(pk__in=chosen),
                criteria={"region": region_code, "desil_kesejahteraan__lte": "4", "demo": "1"},
            )
            programme.target_count = result.interventions
            programme.save(update_fields=["target_count"])
            for item in Intervention.objects.filter(programme=programme).order_by("pk"):
                for status in rng.choices(paths, weights)[0]:
                    intervention_transition(
                        actor=verifier if status == "terverifikasi" else planner,
                        intervention=item,
                        to_status=status,
                        progress=rng.randrange(10, 90) if status == "dikerjakan" else None,
                        realised_amount=int(spec["unit_cost"] * rng.uniform(0.85, 1.05))
                        if status == "selesai"
                        else None,
                    )
                    item.refresh_from_db()
            interventions += result.interventions
    return ProgrammesResult(
        programmes=Programme.objects.filter(synthetic=True).count(),
        interventions=interventions,
        seconds=time.perf_counter() - started,
    )
