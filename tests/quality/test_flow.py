"""Flags follow the rollup (incremental, per village), acceptances keep a flag from
coming back, a messy but valid census file shows up rule by rule on the quality page, and
the pages and API keep to the caller's areas."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django_tasks_db.models import DBTaskResult

from households.indicators.rollup import indicators_refresh
from households.models import Household
from quality.models import Acceptance, Flag
from quality.services import flags_refresh, flags_refresh_task
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, point_in_village
from tests.households.census_import.test_import import household, member, run

pytestmark = pytest.mark.django_db

A, B = PENAJAM_KELURAHAN, BABULU_DESA


def worker_runs_queued_flags() -> None:
    """What the background worker does with the flags an import queued."""
    for queued in DBTaskResult.objects.filter(task_path="quality.services.flags_refresh_task"):
        flags_refresh_task.call(*queued.args_kwargs["args"], **queued.args_kwargs["kwargs"])
        queued.delete()


def counts_on_page(html: str) -> dict[str, int]:
    return {
        rule: int(count)
        for rule, count in re.findall(r'data-rule="([a-z_]+)" data-count="(\d+)"', html)
    }


def test_a_write_refreshes_the_flags_of_its_village_only(django_capture_on_commit_callbacks):
    in_a = HouseholdFactory(region_id=A)
    in_b = HouseholdFactory(region_id=B, desil_kesejahteraan=1)
    with django_capture_on_commit_callbacks(execute=True):
        indicators_refresh(full=True)
    assert Flag.objects.filter(rule_id="desil_bawah_tanpa_bansos", region_id=B).count() == 1
    before_b = set(Flag.objects.filter(region_id=B).values_list("pk", flat=True))
    Household.objects.filter(pk=in_a.pk).update(desil_kesejahteraan=10, penerima_pkh=True)
    with django_capture_on_commit_callbacks(execute=True):
        result = indicators_refresh()
    assert result.villages == 1
    assert Flag.objects.filter(rule_id="bansos_desil_atas", household=in_a).exists()
    # Village B was not stale: its flags were not rewritten (same rows, same ids).
    assert set(Flag.objects.filter(region_id=B).values_list("pk", flat=True)) == before_b
    assert in_b.pk in Flag.objects.values_list("household_id", flat=True)


def test_accepted_flag_does_not_come_back(personas, as_user):
    flagged = HouseholdFactory(region_id=A, desil_kesejahteraan=1)
    flags_refresh(villages=[A])
    flag = Flag.objects.get(rule_id="desil_bawah_tanpa_bansos", household=flagged)
    url = f"/api/v1/quality/flags/{flag.pk}/accept/"
    # Another village's operator does not see it; an official sees it but may not accept.
    assert as_user(personas["operator_b"]).post(url, {"note": "x"}).status_code == 404
    assert as_user(personas["official"]).post(url, {"note": "x"}).status_code == 403
    client = as_user(personas["operator_a"])
    assert client.post(url, {"note": ""}).status_code == 400
    answer = client.post(url, {"note": "Penerima bantuan daerah, tercatat di luar sistem"})
    assert answer.status_code == 200, answer.content
    acceptance = Acceptance.objects.get()
    assert acceptance.accepted_by == personas["operator_a"]
    assert acceptance.note.startswith("Penerima bantuan daerah")
    flags_refresh(villages=[A])
    assert not Flag.objects.filter(rule_id="desil_bawah_tanpa_bansos", household=flagged).exists()
    page = client.get(f"/kualitas/desa/{A}/").content.decode()
    assert "1 diterima" in page


def test_flags_api_keeps_to_the_callers_areas(personas, as_user):
    HouseholdFactory(region_id=A, desil_kesejahteraan=1)
    HouseholdFactory(region_id=B, desil_kesejahteraan=1)
    flags_refresh()
    regions = {
        name: {
            row["region"]
            for row in as_user(personas[name]).get("/api/v1/quality/flags/").json()["results"]
        }
        for name in ("operator_a", "operator_b", "official", "analyst_waru")
    }
    assert regions == {
        "operator_a": {A},
        "operator_b": {B},
        "official": {A, B},
        "analyst_waru": set(),
    }
    assert as_user(None).get("/api/v1/quality/flags/").status_code in (401, 403)
    assert as_user(personas["operator_b"]).get(f"/api/v1/quality/villages/{A}/").status_code == 404


def messy_file():
    """Valid rows (the import accepts them) that a quality rule should still question."""
    shared = point_in_village(A, 21)
    households, members = [], []

    heads = ["Abdul Rahman", "Bambang Sutrisno", "Cahya Purnama", "Dedi Kurniawan",
             "Eko Prasetyo", "Fajar Nugroho", "Gunawan Wibowo", "Hendra Saputra",
             "Irwan Hakim", "Joko Susilo", "Kurnia Sandi", "Lukman Harun"]  # fmt: skip

    def family(n, *, head_birth=None, point=None, **answers):
        head_birth = head_birth or dt.date(1960 + n, n, 10 + n)
        kk = f"64090101012{n:05d}"
        extra = {}
        if point is not None:
            extra = {"lintang": f"{point.y:.6f}", "bujur": f"{point.x:.6f}"}
        households.append(household(kk, seed=100 + n, **extra, **answers))
        members.append(member(kk, serial=n * 10, birth=head_birth, nama=heads[n - 1]))
        return kk

    for n in range(1, 6):  # five households on one point
        family(n, point=shared)
    family(6, desil_kesejahteraan="10", penerima_pkh="1")  # inclusion error
    family(7, desil_kesejahteraan="1", penerima_pbi_jk="0")  # exclusion error
    young = family(8, head_birth=dt.date(2012, 1, 1))  # a head aged 13
    members[-1]["partisipasi_sekolah"] = "2"
    older = family(9, head_birth=dt.date(1990, 1, 1))
    members.append(member(older, serial=91, birth=dt.date(1992, 4, 4), head=False))
    small = family(10)
    members.append(
        member(small, serial=101, birth=dt.date(2020, 8, 8), head=False, nama="Anak Kecil")
    )
    # The same person in two families, once with a spelling variant.
    for n, name in ((11, "Muhammad Rizki"), (12, "Muhamad Rizky")):
        kk = family(n)
        members.append(
            member(kk, serial=n * 10 + 1, birth=dt.date(1999, 9, 9), head=False, nama=name)
        )
    return households, members, young


def test_a_messy_but_valid_file_shows_up_rule_by_rule(
    personas, as_user, django_capture_on_commit_callbacks
):
    households, members, _young = messy_file()
    with django_capture_on_commit_callbacks(execute=True):
        result = run(households, members, user=personas["operator_a"])
    assert not result.errors, [str(e.message) for e in result.errors]
    assert Household.objects.filter(region_id=A).count() == 12
    worker_runs_queued_flags()
    page = as_user(personas["operator_a"]).get(f"/kualitas/desa/{A}/")
    assert page.status_code == 200
    counts = counts_on_page(page.content.decode())
    assert counts["titik_bertumpuk"] == 5
    assert counts["bansos_desil_atas"] == 1
    assert counts["desil_bawah_tanpa_bansos"] == 1
    assert counts["kepala_di_bawah_umur"] == 1
    assert counts["anak_lebih_tua"] == 1
    assert counts["putus_sekolah_usia"] == 1
    assert counts["duplikat_orang"] == 2
    assert counts["titik_luar_desa"] == 0
    # The operator gets each flagged record linked to its edit form.
    assert "/rumah-tangga/" in page.content.decode() and "/ubah/" in page.content.decode()


def test_officials_see_counts_and_no_records(personas, as_user):
    HouseholdFactory(region_id=A, desil_kesejahteraan=1, head__nama="Nama Rahasia")
    flags_refresh(villages=[A])
    page = as_user(personas["official"]).get(f"/kualitas/desa/{A}/").content.decode()
    assert counts_on_page(page)["desil_bawah_tanpa_bansos"] == 1
    assert "Nama Rahasia" not in page and "/rumah-tangga/" not in page
    overview = as_user(personas["official"]).get("/kualitas/").content.decode()
    assert "Tanjung Tengah" in overview
    assert as_user(personas["norole"]).get("/kualitas/").status_code == 404


def test_the_person_duplicate_check_runs_without_nested_loops_and_restores_the_planner():
    # Its self-join of a materialized CTE is estimated at one row: by nested loop it took
    # 406 s at a village of 174,655 people, by hash join 1.5 s (docs/benchmark.md).
    from django.db import connection, transaction  # noqa: PLC0415

    from quality.checks import planned  # noqa: PLC0415

    def setting(cursor):
        cursor.execute("SELECT current_setting('enable_nestloop')")
        return cursor.fetchone()[0]

    with transaction.atomic(), connection.cursor() as cursor:
        with planned(cursor, "duplikat_orang"):
            assert setting(cursor) == "off"
        assert setting(cursor) == "on"
        with planned(cursor, "titik_bertumpuk"):
            assert setting(cursor) == "on"


def test_an_imports_flags_follow_in_the_worker(django_capture_on_commit_callbacks):
    """A census import is done when its figures are; the flags of its villages are queued
    for the background worker (a kecamatan's flags take longer than its rollup)."""
    rows = household(
        "6409010101250001",
        desil_kesejahteraan="1",
        **dict.fromkeys(
            ["penerima_pkh", "penerima_bpnt", "penerima_blt_dd", "penerima_pbi_jk"], "0"
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = run([rows], [member("6409010101250001", 1)])
    assert result.committed
    assert not Flag.objects.filter(rule_id="desil_bawah_tanpa_bansos").exists()
    (queued,) = DBTaskResult.objects.filter(task_path="quality.services.flags_refresh_task")
    assert queued.args_kwargs["kwargs"] == {"villages": [A]}
    # The worker's run of it writes them.
    worker_runs_queued_flags()
    assert Flag.objects.filter(rule_id="desil_bawah_tanpa_bansos", region_id=A).count() == 1
