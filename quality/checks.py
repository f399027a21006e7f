"""The set-based check of every built-in rule: one SQL SELECT per rule code.

Each check returns the rows of its flags, in the columns of FLAG_COLUMNS, for the
villages in `%(villages)s` (a text[]; NULL for all) or, for area rules, the villages of
the kecamatan in `%(kecamatan)s`. Record rules look only inside one village: a
duplicate in another village is never named to this village's operator, and a write in
one village makes only that village's flags stale. Rules' parameters (bounds, distances,
thresholds) come from the Rule row (quality/rules.json, the admin).

The same SQL runs in `services.flags_refresh` (into the flags table) and raw in the
benchmark (demo/bench.py), so the two measure the same work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import contextmanager

FLAG_COLUMNS = ("region_id", "household_id", "member_id", "indicator_id", "period",
                "record_key", "details")  # fmt: skip

_VILLAGES = "(%(villages)s::text[] IS NULL OR h.region_id = ANY(%(villages)s::text[]))"
_AGE = "extract(year FROM age(h.tanggal_survei, m.tanggal_lahir))"
_CURRENT = "m.status_anggota = 1"
_AID = "(h.penerima_pkh OR h.penerima_bpnt OR h.penerima_blt_dd OR h.penerima_pbi_jk)"


def _household_row(details: str) -> str:
    return (
        "h.region_id, h.id, NULL::bigint, NULL::varchar, ''::varchar,"
        f" 'household:' || h.id, {details}"
    )


def _member_row(details: str) -> str:
    return f"h.region_id, h.id, m.id, NULL::varchar, ''::varchar, 'member:' || m.id, {details}"


def point_outside_village(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT {
            _household_row(
                "jsonb_build_object('jarak_m', round(ST_Distance(r.boundary::geography,"
                " h.lokasi::geography)))"
            )
        }
        FROM households_household h JOIN villages_region r ON r.code = h.region_id
        WHERE {_VILLAGES} AND h.lokasi IS NOT NULL AND r.boundary IS NOT NULL
          AND NOT ST_Intersects(r.boundary, h.lokasi)
          AND NOT ST_DWithin(r.boundary::geography, h.lokasi::geography, %(tolerance)s)
        """,
        {"tolerance": float(p.get("toleransi_m", 250))},
    )


def shared_point(p: dict) -> tuple[str, dict]:
    return (
        f"""
        WITH points AS (
            SELECT h.id, h.region_id, round(ST_X(h.lokasi)::numeric, %(decimals)s) AS x,
                   round(ST_Y(h.lokasi)::numeric, %(decimals)s) AS y
            FROM households_household h
            WHERE {_VILLAGES} AND h.lokasi IS NOT NULL
        ), crowded AS (
            SELECT region_id, x, y, count(*) AS n FROM points
            GROUP BY 1, 2, 3 HAVING count(*) >= %(minimum)s
        )
        SELECT {_household_row("jsonb_build_object('jumlah', c.n)")}
        FROM points h JOIN crowded c USING (region_id, x, y)
        """,
        {"decimals": int(p.get("desimal", 5)), "minimum": int(p.get("minimum_rumah_tangga", 5))},
    )


def household_too_large(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT {_household_row("jsonb_build_object('jumlah', h.jumlah_anggota)")}
        FROM households_household h
        WHERE {_VILLAGES} AND h.jumlah_anggota > %(maximum)s
        """,
        {"maximum": int(p.get("maksimum", 15))},
    )


def head_too_young(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT {_member_row(f"jsonb_build_object('usia', {_AGE})")}
        FROM households_member m JOIN households_household h ON h.id = m.household_id
        WHERE {_VILLAGES} AND {_CURRENT} AND m.hubungan_keluarga = 1
          AND {_AGE} < %(minimum)s
        """,
        {"minimum": int(p.get("usia_minimum", 15))},
    )


def child_older_than_parent(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT DISTINCT ON (m.id) {
            _member_row(
                "jsonb_build_object('orang_tua', parent.id, 'selisih_tahun',"
                " extract(year FROM age(m.tanggal_lahir, parent.tanggal_lahir)))"
            )
        }
        FROM households_member m
        JOIN households_household h ON h.id = m.household_id
        JOIN households_member parent ON parent.household_id = m.household_id
             AND parent.hubungan_keluarga IN (1, 2, 3) AND parent.status_anggota = 1
        WHERE {_VILLAGES} AND {_CURRENT} AND m.hubungan_keluarga = 4
          AND m.tanggal_lahir < parent.tanggal_lahir + make_interval(years => %(gap)s)
        ORDER BY m.id, parent.tanggal_lahir DESC
        """,
        {"gap": int(p.get("selisih_minimum_tahun", 10))},
    )


def nik_contradiction(p: dict) -> tuple[str, dict]:
    day = "substr(m.nik, 7, 2)::int"
    return (
        f"""
        SELECT {
            _member_row(
                f"jsonb_build_object('jawaban', CASE WHEN ({day} > 40) <> (m.jenis_kelamin = 2)"
                " THEN 'jenis_kelamin' ELSE 'tanggal_lahir' END)"
            )
        }
        FROM households_member m JOIN households_household h ON h.id = m.household_id
        WHERE {_VILLAGES} AND m.nik ~ '^[1-9][0-9]{{15}}$'
          AND (({day} > 40) <> (m.jenis_kelamin = 2)
               OR {day} - CASE WHEN {day} > 40 THEN 40 ELSE 0 END
                  <> extract(day FROM m.tanggal_lahir)
               OR substr(m.nik, 9, 2)::int <> extract(month FROM m.tanggal_lahir)
               OR substr(m.nik, 11, 2)::int <> extract(year FROM m.tanggal_lahir)::int %% 100)
        """,
        {},
    )


def survey_date(p: dict) -> tuple[str, dict]:
    windows = """households_surveyround s WHERE s.fieldwork_start IS NOT NULL
                 AND s.fieldwork_end IS NOT NULL"""
    return (
        f"""
        SELECT {
            _household_row(
                "jsonb_build_object('alasan', CASE WHEN h.tanggal_survei > %(today)s"
                " THEN 'masa_depan' ELSE 'di_luar_putaran' END)"
            )
        }
        FROM households_household h
        WHERE {_VILLAGES} AND (
            h.tanggal_survei > %(today)s
            OR (EXISTS (SELECT 1 FROM {windows})
                AND NOT EXISTS (SELECT 1 FROM {windows}
                    AND h.tanggal_survei BETWEEN s.fieldwork_start AND s.fieldwork_end)))
        """,
        {"today": dt.date.today()},
    )


def out_of_school_age(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT {
            _member_row(f"jsonb_build_object('usia', {_AGE}, 'jawaban_412', m.partisipasi_sekolah)")
        }
        FROM households_member m JOIN households_household h ON h.id = m.household_id
        WHERE {_VILLAGES} AND {_CURRENT} AND m.hubungan_keluarga IN (4, 6)
          AND ((m.partisipasi_sekolah = 3 AND {_AGE} < %(minimum)s)
               OR (m.partisipasi_sekolah = 1 AND {_AGE} > %(maximum)s))
        """,
        {"minimum": int(p.get("usia_minimum", 7)), "maximum": int(p.get("usia_maksimum", 18))},
    )


def aid_in_top_deciles(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT {_household_row("jsonb_build_object('desil', h.desil_kesejahteraan)")}
        FROM households_household h
        WHERE {_VILLAGES} AND h.desil_kesejahteraan = ANY(%(deciles)s) AND {_AID}
        """,
        {"deciles": [int(d) for d in p.get("desil", [9, 10])]},
    )


def bottom_deciles_without_aid(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT {_household_row("jsonb_build_object('desil', h.desil_kesejahteraan)")}
        FROM households_household h
        WHERE {_VILLAGES} AND h.desil_kesejahteraan = ANY(%(deciles)s) AND NOT {_AID}
        """,
        {"deciles": [int(d) for d in p.get("desil", [1, 2])]},
    )


def duplicate_person(p: dict) -> tuple[str, dict]:
    # Pairs share a village, a birth date, a sex and a name's initial (the blocking key of
    # record linkage: spelling drift, oe/u, dj/j, a doubled letter, i/y, rarely touches
    # the first letter, while Budi and Rudi are two people), a hash join; the trigram
    # similarity then only ever runs on those few pairs.
    return (
        f"""
        WITH people AS MATERIALIZED (
            SELECT m.id, m.household_id, h.region_id, m.nik, m.tanggal_lahir,
                   m.jenis_kelamin, lower(m.nama) AS nama, left(lower(m.nama), 1) AS initial
            FROM households_member m JOIN households_household h ON h.id = m.household_id
            WHERE {_VILLAGES} AND {_CURRENT}
        ), shared AS MATERIALIZED (
            -- Only people whose key is someone else's too: a few percent of everyone, so
            -- the pairs are formed in memory.
            SELECT p.* FROM people p JOIN (
                SELECT region_id, tanggal_lahir, jenis_kelamin, initial FROM people
                GROUP BY 1, 2, 3, 4 HAVING count(*) > 1
            ) k USING (region_id, tanggal_lahir, jenis_kelamin, initial)
        )
        SELECT DISTINCT ON (m.id)
               m.region_id, m.household_id, m.id, NULL::varchar, ''::varchar,
               'member:' || m.id,
               jsonb_build_object('anggota_lain', o.id, 'rumah_tangga_lain', o.household_id,
                                  'kemiripan', round(similarity(m.nama, o.nama)::numeric, 2))
        FROM shared m JOIN shared o
          ON o.region_id = m.region_id AND o.tanggal_lahir = m.tanggal_lahir
         AND o.jenis_kelamin = m.jenis_kelamin AND o.initial = m.initial
         AND o.household_id <> m.household_id AND o.nik <> m.nik
        WHERE o.nama = m.nama OR similarity(m.nama, o.nama) >= %(similarity)s
        ORDER BY m.id, similarity(m.nama, o.nama) DESC, o.id
        """,
        {"similarity": float(p.get("kemiripan_minimum", 0.5))},
    )


def duplicate_household(p: dict) -> tuple[str, dict]:
    meters = float(p.get("jarak_maksimum_m", 50))
    # Blocking, as for people: heads are keyed by village, name initial and a grid cell at
    # least as wide as the distance (near the equator, where PPU lies), and a pair is only
    # formed with the 3 x 3 cells around a household: a hash join on equal keys, so the
    # names are compared and the distance measured on the sphere for a few pairs only.
    return (
        f"""
        WITH heads AS MATERIALIZED (
            SELECT h.id, h.region_id, h.lokasi, lower(m.nama) AS nama,
                   left(lower(m.nama), 1) AS initial,
                   floor(ST_X(h.lokasi) / %(cell)s)::int AS gx,
                   floor(ST_Y(h.lokasi) / %(cell)s)::int AS gy
            FROM households_household h
            JOIN households_member m ON m.household_id = h.id AND m.hubungan_keluarga = 1
            WHERE {_VILLAGES} AND h.lokasi IS NOT NULL AND {_CURRENT}
        ), around AS MATERIALIZED (
            SELECT heads.*, heads.gx + d AS key_x FROM heads CROSS JOIN generate_series(-1, 1) d
        )
        SELECT DISTINCT ON (h.id)
               h.region_id, h.id, NULL::bigint, NULL::varchar, ''::varchar,
               'household:' || h.id,
               jsonb_build_object('rumah_tangga_lain', o.id, 'jarak_m',
                                  round(ST_Distance(h.lokasi::geography, o.lokasi::geography)))
        FROM heads h JOIN around o
          ON o.region_id = h.region_id AND o.initial = h.initial AND o.key_x = h.gx
         AND o.gy BETWEEN h.gy - 1 AND h.gy + 1 AND o.id <> h.id
        WHERE (o.nama = h.nama OR similarity(h.nama, o.nama) >= %(similarity)s)
          AND ST_DWithin(o.lokasi::geography, h.lokasi::geography, %(meters)s)
        ORDER BY h.id, o.id
        """,
        {
            "meters": meters,
            # Degrees of longitude per metre are largest at the equator: 1/111,320.
            "cell": meters / 100_000,
            "similarity": float(p.get("kemiripan_minimum", 0.6)),
        },
    )


_AREA = "(%(kecamatan)s::text[] IS NULL OR left(v.region_id, 8) = ANY(%(kecamatan)s::text[]))"


def sibling_outlier(p: dict) -> tuple[str, dict]:
    return (
        f"""
        WITH v AS MATERIALIZED (
            SELECT v.indicator_id, v.region_id, v.period, v.value,
                   left(v.region_id, 8) AS kecamatan
            FROM households_indicatorvalue v
            WHERE length(v.region_id) = 13 AND v.value IS NOT NULL AND {_AREA}
        ), centre AS (
            SELECT indicator_id, period, kecamatan, count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median
            FROM v GROUP BY 1, 2, 3
        ), spread AS (
            SELECT v.indicator_id, v.period, v.kecamatan, c.n, c.median,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(v.value - c.median)) AS mad
            FROM v JOIN centre c USING (indicator_id, period, kecamatan)
            GROUP BY 1, 2, 3, 4, 5
        )
        SELECT v.region_id, NULL::bigint, NULL::bigint, v.indicator_id, v.period,
               'area:' || v.region_id || ':' || v.indicator_id || ':' || v.period,
               jsonb_build_object('nilai', round(v.value::numeric, 2),
                                  'median', round(s.median::numeric, 2),
                                  'z', round((0.6745 * (v.value - s.median) / s.mad)::numeric, 2))
        FROM v JOIN spread s USING (indicator_id, period, kecamatan)
        WHERE s.n >= %(minimum)s AND s.mad > 0
          AND abs(0.6745 * (v.value - s.median) / s.mad) > %(z)s
        """,
        {"z": float(p.get("z_maksimum", 3.5)), "minimum": int(p.get("minimum_pembanding", 4))},
    )


def round_jump(p: dict) -> tuple[str, dict]:
    return (
        f"""
        SELECT v.region_id, NULL::bigint, NULL::bigint, v.indicator_id, v.period,
               'area:' || v.region_id || ':' || v.indicator_id || ':' || v.period,
               jsonb_build_object('nilai', round(v.value::numeric, 2),
                                  'sebelumnya', round(b.value::numeric, 2),
                                  'periode_sebelumnya', b.period)
        FROM households_indicatorvalue v
        JOIN unnest(%(periods)s::text[], %(previous)s::text[]) AS pp(period, previous)
          ON pp.period = v.period
        JOIN households_indicatorvalue b ON b.indicator_id = v.indicator_id
         AND b.region_id = v.region_id AND b.period = pp.previous
        JOIN households_indicator i ON i.code = v.indicator_id AND i.unit = '%%'
        WHERE length(v.region_id) = 13 AND {_AREA}
          AND abs(v.value - b.value) > %(jump)s
        """,
        {"jump": float(p.get("selisih_maksimum", 20))},
    )


CHECKS: dict[str, Callable[[dict], tuple[str, dict]]] = {
    "titik_luar_desa": point_outside_village,
    "titik_bertumpuk": shared_point,
    "anggota_terlalu_banyak": household_too_large,
    "kepala_di_bawah_umur": head_too_young,
    "anak_lebih_tua": child_older_than_parent,
    "nik_tidak_cocok": nik_contradiction,
    "tanggal_survei": survey_date,
    "putus_sekolah_usia": out_of_school_age,
    "bansos_desil_atas": aid_in_top_deciles,
    "desil_bawah_tanpa_bansos": bottom_deciles_without_aid,
    "duplikat_orang": duplicate_person,
    "duplikat_rumah_tangga": duplicate_household,
    "pencilan_wilayah": sibling_outlier,
    "lonjakan_putaran": round_jump,
}
AREA_CHECKS = {"pencilan_wilayah", "lonjakan_putaran"}

# Planner methods a check runs without. The person-duplicate self-join of a materialized
# CTE is estimated at one row, so PostgreSQL joins it by nested loop: at the largest
# village (47,664 households, 174,655 people) 406 s instead of 1.5 s by hash join.
PLANNER_OFF: dict[str, tuple[str, ...]] = {"duplikat_orang": ("enable_nestloop",)}


@contextmanager
def planned(cursor, code: str):
    """Run a check with its PLANNER_OFF methods off for this transaction's statements
    inside the block, restored after (the caller holds a transaction)."""
    names = PLANNER_OFF.get(code, ())
    saved = []
    for name in names:
        cursor.execute("SELECT current_setting(%s), set_config(%s, 'off', true)", [name, name])
        saved.append((name, cursor.fetchone()[0]))
    try:
        yield
    finally:
        for name, value in saved:
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])


def period_sort_key(period: str, reference_dates: dict[str, dt.date]) -> tuple:
    """THE order of periods (the one place to adapt when periods become survey rounds):
    a round's code by its reference date, a year by its first day."""
    if period in reference_dates:
        return (reference_dates[period], period)
    if period.isdigit():
        return (dt.date(int(period), 1, 1), period)
    return (dt.date.max, period)


def previous_periods(periods: Iterable[str], reference_dates: dict[str, dt.date]) -> dict[str, str]:
    """{period: the period before it}, the first period left out."""
    ordered = sorted(set(periods), key=lambda p: period_sort_key(p, reference_dates))
    return dict(zip(ordered[1:], ordered[:-1], strict=True))
