"""Two SYNTHETIC survey rounds for the demo: the generated census as the 2024 baseline
(closed: its figures frozen, its panel written), then a 2025 update (left open) with
realistic change, all in set-based SQL: latrines built mostly where the STBM programme
finished its work, children back to school mostly where the back-to-school programme did,
some backsliding to open defecation, births, deaths and moves between villages, everyone
re-surveyed in the 2025 fieldwork. Every change touches synthetic households only; the
rounds say "sintetis" in their names.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.db import connection, transaction

from desapresisi.db import history_pause
from households.indicators.rollup import indicators_refresh
from households.models import DataSource, RoundSource, SurveyRound
from households.rounds import round_close, round_open

BASELINE = "2024-pendataan-sintetis"
UPDATE = "2025-pemutakhiran-sintetis"

# Probabilities of each change, per household or member (the draw is a hash of the row's
# No. KK or NIK and the seed: a run over the same census is reproducible, whatever ids the
# rows were given, and needs no Python loop).
RATES = {
    "latrine_treated": 0.75,  # STBM work finished: a latrine now
    "latrine_untreated": 0.12,  # built on their own
    "backslide": 0.004,  # back to open defecation
    "school_treated": 0.6,
    "school_untreated": 0.08,
    "death_over_60": 0.03,
    "birth": 0.04,
    "move": 0.005,
}


@dataclass
class RoundsResult:
    rounds: list[str]
    changed: dict[str, int]
    seconds: float


def _draw(column: str, seed: int, salt: str) -> str:
    """SQL: a uniform number in [0, 1) from `column`, the seed and a salt."""
    return f"((hashtextextended({column}::text || '/{salt}', {int(seed)}) & 1048575) / 1048576.0)"


def _treated(indicator: str, column: str = "h.id") -> str:
    """SQL: the household has a finished intervention of a synthetic programme on
    `indicator` (the demo's STBM works on tanpa_jamban, back to school on ats_7_18)."""
    return f"""EXISTS (
        SELECT 1 FROM programmes_intervention i
        JOIN programmes_programme p ON p.id = i.programme_id
        WHERE i.household_id = {column} AND p.synthetic AND p.indicator_id = '{indicator}'
          AND i.status IN ('selesai', 'terverifikasi'))"""  # noqa: S608 - constants only


def _changes_apply(cursor, *, region_code: str, seed: int) -> dict[str, int]:
    params = {
        "code": region_code,
        "prefix": f"{region_code}.%",
        "source": DataSource.SYNTHETIC,
        **RATES,
    }
    scope = "(h.region_id = %(code)s OR h.region_id LIKE %(prefix)s) AND h.sumber_data = %(source)s"
    changed: dict[str, int] = {}
    has_programmes = "programmes_intervention" in connection.introspection.table_names(cursor)
    latrine = _treated("tanpa_jamban") if has_programmes else "false"
    school = _treated("ats_7_18", "m.household_id") if has_programmes else "false"
    cursor.execute(
        f"""
        UPDATE households_household h
        SET fasilitas_bab = 1, jenis_kloset = 1, pembuangan_tinja = 1
        WHERE {scope} AND h.fasilitas_bab IN (5, 6)
          AND {_draw("h.no_kk", seed, "latrine")}
              < CASE WHEN {latrine} THEN %(latrine_treated)s ELSE %(latrine_untreated)s END
        """,  # noqa: S608 - constants and parameters
        params,
    )
    changed["latrines_built"] = cursor.rowcount
    cursor.execute(
        f"""
        UPDATE households_household h
        SET fasilitas_bab = 6, jenis_kloset = NULL, pembuangan_tinja = NULL,
            tangki_septik_disedot = NULL
        WHERE {scope} AND h.fasilitas_bab IN (1, 2, 3)
          AND NOT {latrine} AND {_draw("h.no_kk", seed, "backslide")} < %(backslide)s
        """,  # noqa: S608 - constants and parameters
        params,
    )
    changed["backsliding"] = cursor.rowcount
    member_scope = f"m.household_id IN (SELECT h.id FROM households_household h WHERE {scope})"  # noqa: S608
    cursor.execute(
        f"""
        UPDATE households_member m
        SET partisipasi_sekolah = 2
        WHERE {member_scope} AND m.status_anggota = 1 AND m.partisipasi_sekolah IN (1, 3)
          AND age(DATE '2025-12-31', m.tanggal_lahir) BETWEEN INTERVAL '7 years'
              AND INTERVAL '18 years 11 months'
          AND {_draw("m.nik", seed, "school")}
              < CASE WHEN {school} THEN %(school_treated)s ELSE %(school_untreated)s END
        """,  # noqa: S608 - constants and parameters
        params,
    )
    changed["back_to_school"] = cursor.rowcount
    cursor.execute(
        f"""
        UPDATE households_member m
        SET status_anggota = 2,
            tanggal_status = DATE '2024-08-01' + (m.id %% 300)::int
        WHERE {member_scope} AND m.status_anggota = 1 AND m.hubungan_keluarga <> 1
          AND m.tanggal_lahir < DATE '1964-06-30'
          AND {_draw("m.nik", seed, "death")} < %(death_over_60)s
        """,  # noqa: S608 - constants and parameters
        params,
    )
    changed["deaths"] = cursor.rowcount
    # A baby in households with a woman of 20-40: NIK from the kecamatan, birth date and
    # a serial from 9000 up (the generator's serials stay below), never an existing one.
    # Born after the baseline survey (the baby is new) and by 2025-12-01, the first day
    # of the update's fieldwork, so never after the household's re-survey date (the
    # importer refuses a birth after the survey date).
    cursor.execute(
        f"""
        INSERT INTO households_member
            (household_id, nik, nama, jenis_kelamin, tanggal_lahir, hubungan_keluarga,
             disabilitas, pekerjaan, status_anggota, tujuan_pindah, dibuat, diubah, versi)
        SELECT b.id,
               left(replace(b.region_id, '.', ''), 6)
                 || lpad((extract(day FROM b.born)::int
                          + CASE WHEN b.sex = 2 THEN 40 ELSE 0 END)::text, 2, '0')
                 || to_char(b.born, 'MMYY') || lpad((9000 + b.id %% 1000)::text, 4, '0'),
               'Bayi sintetis ' || b.id, b.sex, b.born, 4, false, '', 1, '', now(), now(), 1
        FROM (
            SELECT h.id, h.region_id,
                   h.tanggal_survei + 1
                     + (h.id %% greatest(1, DATE '2025-12-01' - h.tanggal_survei))::int AS born,
                   CASE WHEN h.id %% 2 = 0 THEN 2 ELSE 1 END AS sex
            FROM households_household h
            WHERE {scope} AND {_draw("h.no_kk", seed, "birth")} < %(birth)s
              AND EXISTS (
                  SELECT 1 FROM households_member w
                  WHERE w.household_id = h.id AND w.status_anggota = 1
                    AND w.jenis_kelamin = 2
                    AND w.tanggal_lahir BETWEEN DATE '1984-01-01' AND DATE '2004-01-01')
        ) b
        ON CONFLICT (nik) DO NOTHING
        """,  # noqa: S608 - constants and parameters
        params,
    )
    changed["births"] = cursor.rowcount
    # Moves to another village of the same kecamatan: the point moves into the new
    # village, the dusun/RW/RT names (of the old one) are left blank.
    cursor.execute(
        f"""
        WITH moving AS (
            SELECT h.id, (
                SELECT r.code FROM villages_region r
                WHERE r.parent_id = left(h.region_id, 8) AND r.code <> h.region_id
                  AND r.level = 'desa' AND r.boundary IS NOT NULL
                ORDER BY hashtextextended(r.code || h.id::text, %(seed)s) LIMIT 1
            ) AS target
            FROM households_household h
            WHERE {scope} AND {_draw("h.no_kk", seed, "move")} < %(move)s
        )
        UPDATE households_household h
        SET region_id = moving.target, dusun = '', rw = '', rt = '',
            lokasi = ST_PointOnSurface(r.boundary)
        FROM moving JOIN villages_region r ON r.code = moving.target
        WHERE h.id = moving.id
        """,  # noqa: S608 - constants and parameters
        {**params, "seed": int(seed)},
    )
    changed["moves"] = cursor.rowcount
    cursor.execute(
        f"""
        UPDATE households_household h
        SET tanggal_survei = DATE '2025-12-01' + (h.id %% 90)::int
        WHERE {scope}
        """,  # noqa: S608 - constants and parameters
        params,
    )
    changed["resurveyed"] = cursor.rowcount
    return changed


def _baseline_dates(cursor, *, region_code: str) -> int:
    """The census becomes the baseline: its survey dates move into the baseline round's
    fieldwork (the generator dates a census by demo_rates.json's survey period), so that
    the baseline was surveyed before the update and no household is flagged as surveyed
    outside its round."""
    cursor.execute(
        """
        UPDATE households_household h
        SET tanggal_survei = DATE '2024-05-01' + (h.id %% 200)::int
        WHERE (h.region_id = %(code)s OR h.region_id LIKE %(prefix)s)
          AND h.sumber_data = %(source)s
          AND h.tanggal_survei NOT BETWEEN DATE '2024-05-01' AND DATE '2024-12-31'
        """,
        {"code": region_code, "prefix": f"{region_code}.%", "source": DataSource.SYNTHETIC},
    )
    return cursor.rowcount


def rounds_generate(*, region_code: str = "64.09", seed: int = 2026) -> RoundsResult:
    """The demo's two rounds over the synthetic households of `region_code`. Refuses to
    run when the installation already has rounds (the demo never rewrites real ones)."""
    started = time.perf_counter()
    if SurveyRound.objects.exists():
        raise ValueError("survey rounds exist already: the demo rounds are for a fresh census")
    baseline = round_open(
        code=BASELINE,
        name="Pendataan Desa Presisi 2024 (sintetis)",
        source=RoundSource.CENSUS,
        reference_date=dt.date(2024, 6, 30),
        fieldwork_start=dt.date(2024, 5, 1),
        fieldwork_end=dt.date(2024, 12, 31),
        decile_source="DTSEN",
        decile_vintage="2024-T2 (sintetis)",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        history_pause(reason="synthetic demo rounds", cursor=cursor)
        _baseline_dates(cursor, region_code=region_code)
    round_close(survey_round=baseline)
    round_open(
        code=UPDATE,
        name="Pemutakhiran 2025 (sintetis)",
        source=RoundSource.UPDATE,
        # After the census's own survey period (demo_rates.json: October and November
        # 2025), which dated its members' births: every one is born by the re-survey.
        reference_date=dt.date(2025, 12, 31),
        fieldwork_start=dt.date(2025, 12, 1),
        fieldwork_end=dt.date(2026, 2, 28),
        decile_source="DTSEN",
        decile_vintage="2025-T1 (sintetis)",
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Synthetic rows are not records of anybody: no change history for them.
        history_pause(reason="synthetic demo rounds", cursor=cursor)
        changed = _changes_apply(cursor, region_code=region_code, seed=seed)
        cursor.execute("ANALYZE households_household, households_member")
    indicators_refresh()
    return RoundsResult(
        rounds=[BASELINE, UPDATE], changed=changed, seconds=time.perf_counter() - started
    )


def rounds_remove(*, refresh: bool = False) -> int:
    """Remove the demo's two rounds (an earlier run's: the benchmark reruns on its own
    database), their panel and their figures. Other rounds are never touched. Returns the
    rounds removed."""
    codes = [BASELINE, UPDATE]
    ids = list(SurveyRound.objects.filter(code__in=codes).values_list("id", flat=True))
    if not ids:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        history_pause(reason="synthetic demo rounds removed", cursor=cursor)
        # Closed first, so the stamp trigger has no open round to put back.
        cursor.execute(
            "UPDATE households_surveyround SET status = 'ditutup', closed_at = now()"
            " WHERE id = ANY(%s) AND status = 'terbuka'",
            [ids],
        )
        cursor.execute(
            "UPDATE households_household SET survey_round_id = NULL"
            " WHERE survey_round_id = ANY(%s)",
            [ids],
        )
        cursor.execute(
            "DELETE FROM households_householdobservation WHERE survey_round_id = ANY(%s)", [ids]
        )
        cursor.execute("DELETE FROM households_indicatorvalue WHERE period = ANY(%s)", [codes])
        cursor.execute("DELETE FROM households_unitindicatorvalue WHERE period = ANY(%s)", [codes])
        cursor.execute("DELETE FROM households_surveyround WHERE id = ANY(%s)", [ids])
    if refresh:
        indicators_refresh(full=True)
    return len(ids)
