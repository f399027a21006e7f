"""The village page's table of indicators per dusun, RW and RT (server-rendered, no
script needed; links to a unit's households for roles with names) and the operator's
page of the village's units /desa/<code>/wilayah/ (add, rename, head, outline, delete)."""

from __future__ import annotations

import json
import re

import pytest

from households.indicators.rollup import indicators_refresh
from households.models import Household
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory, village_units
from villages.models import VillageUnit

pytestmark = pytest.mark.django_db

TREE = {"Lingkungan I": {"001": ["001", "002"]}, "Lingkungan II": {"002": ["001"]}}
PAGE = f"/desa/{PENAJAM_KELURAHAN}/"
UNITS = f"/desa/{PENAJAM_KELURAHAN}/wilayah/"


@pytest.fixture
def village(personas):
    units = village_units(PENAJAM_KELURAHAN, TREE)
    for _ in range(5):
        HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan I", rw="001", rt="001",
                         fasilitas_bab=6, jenis_kloset=None, pembuangan_tinja=None)  # fmt: skip
    HouseholdFactory(region_id=PENAJAM_KELURAHAN, dusun="Lingkungan II", rw="002", rt="001")
    indicators_refresh()
    return {"units": units, "personas": personas}


def rows(body: str) -> dict[str, str]:
    """Unit name -> the row's cells as text."""
    table = re.search(r'<table class="indicator-table unit-table".*?</table>', body, re.S).group(0)
    result = {}
    for row in re.findall(r"<tr class=\"unit-depth-\d\".*?</tr>", table, re.S):
        text = re.sub(r"<[^>]+>", " ", row)
        text = re.sub(r"\s+", " ", text).strip()
        name = re.search(r'data-unit="(\d+)"', row).group(1)
        result[name] = text
    return result


def test_the_breakdown_shows_each_unit_with_its_figure(village, as_user):
    body = as_user(village["personas"]["official"]).get(PAGE).content.decode()
    units = village["units"]
    table = rows(body)
    assert len(table) == 7
    # 5 of 6 households of Lingkungan I have no latrine: 100 %; its RT 001: 5 / 5.
    assert "100,0" in table[str(units["Lingkungan I"].pk)]
    assert "5 / 5" in table[str(units["Lingkungan I/001/001"].pk)]
    assert "0 / 1" in table[str(units["Lingkungan II"].pk)]
    # An official has no names: no links to households.
    assert "?unit=" not in body
    assert '<select name="indikator" id="id_indikator">' in body
    assert '<label for="id_indikator">' in body


def test_every_indicator_at_once(village, as_user):
    body = as_user(village["personas"]["official"]).get(PAGE + "?indikator=semua").content.decode()
    head = re.search(r'unit-table".*?</thead>', body, re.S).group(0)
    assert head.count('scope="col"') > 15


def test_the_public_sees_small_units_hidden(village, client):
    body = client.get(PAGE).content.decode()
    table = rows(body)
    assert "disembunyikan" in table[str(village["units"]["Lingkungan II"].pk)]
    assert "0 / 1" not in body


def test_roles_with_names_follow_a_unit_to_its_households(village, as_user):
    client = as_user(village["personas"]["operator_a"])
    rt = village["units"]["Lingkungan I/001/001"]
    body = client.get(PAGE).content.decode()
    assert f'href="?unit={rt.pk}&amp;indikator=tanpa_jamban#targets-title"' in body
    page = client.get(f"{PAGE}?unit={rt.pk}").content.decode()
    config = json.loads(
        re.search(r'id="dashboard-config" type="application/json">(.*?)</script>', page).group(1)
    )
    assert config["households"]["unit"] == rt.pk
    assert "Lingkungan I / 001 / 001" in re.search(r'id="unit-filter">(.*?)</p>', page).group(1)
    assert 'href="/desa/64.09.01.1001/wilayah/"' in page  # the operator keeps the list


def test_a_unit_filter_is_ignored_without_names(village, as_user):
    rt = village["units"]["Lingkungan I/001/001"]
    page = as_user(village["personas"]["official"]).get(f"{PAGE}?unit={rt.pk}").content.decode()
    config = json.loads(
        re.search(r'id="dashboard-config" type="application/json">(.*?)</script>', page).group(1)
    )
    assert 'id="unit-filter"' not in page and "unit" not in config["households"]
    assert "/wilayah/" not in page


# --- /desa/<code>/wilayah/ ----------------------------------------------------------------


def error_next_to(body: str, field: str) -> str:
    match = re.search(
        rf'data-field="{field}".*?(?=data-field="|<div class="hf-actions")', body, re.S
    )
    error = re.search(r'<p class="hf-error" id="id_[a-z]+-error">(.*?)</p>', match.group(0), re.S)
    return error.group(1).strip() if error else ""


def test_operator_adds_a_unit_and_a_duplicate_is_named_next_to_its_field(village, as_user):
    client = as_user(village["personas"]["operator_a"])
    dusun = village["units"]["Lingkungan II"]
    response = client.post(UNITS, {"kind": "rw", "parent": dusun.pk, "name": "003"})
    assert response.status_code == 302
    assert VillageUnit.objects.filter(parent=dusun, kind="rw", name="003").exists()
    page = client.get(UNITS).content.decode()
    assert "ditambahkan" in page and "003" in page
    again = client.post(UNITS, {"kind": "rw", "parent": dusun.pk, "name": "003"})
    assert again.status_code == 400
    assert "sudah ada" in error_next_to(again.content.decode(), "name")
    assert 'aria-invalid="true"' in again.content.decode()


def test_a_parent_of_another_village_is_not_offered(village, as_user):
    other = VillageUnit.objects.create(region_id="64.09.03.2001", kind="dusun", name="Lain")
    client = as_user(village["personas"]["operator_a"])
    response = client.post(UNITS, {"kind": "rw", "parent": other.pk, "name": "003"})
    assert response.status_code == 400 and "parent" in response.content.decode()
    assert not VillageUnit.objects.filter(name="003").exists()


def test_rename_and_head_follow_into_households_and_a_bad_outline_is_named(village, as_user):
    client = as_user(village["personas"]["operator_a"])
    dusun = village["units"]["Lingkungan I"]
    edit = f"{UNITS}{dusun.pk}/"
    bad = client.post(edit, {"name": "Lingkungan Satu", "kepala": "", "batas": "{bukan json"})
    assert bad.status_code == 400 and "GeoJSON" in error_next_to(bad.content.decode(), "batas")
    square = {"type": "Polygon", "coordinates": [[[116.7, -1.26], [116.71, -1.26],
              [116.71, -1.25], [116.7, -1.25], [116.7, -1.26]]]}  # fmt: skip
    response = client.post(
        edit, {"name": "Lingkungan Satu", "kepala": "Pak Ketua", "batas": json.dumps(square)}
    )
    assert response.status_code == 302
    dusun.refresh_from_db()
    assert (dusun.name, dusun.kepala, dusun.batas.geom_type) == (
        "Lingkungan Satu", "Pak Ketua", "MultiPolygon"
    )  # fmt: skip
    assert Household.objects.filter(dusun="Lingkungan Satu").count() == 5


def test_deleting_a_unit_in_use_says_how_many_households_use_it(village, as_user):
    client = as_user(village["personas"]["operator_a"])
    rt = village["units"]["Lingkungan I/001/001"]
    response = client.post(f"{UNITS}{rt.pk}/hapus/", follow=True)
    assert "5 rumah tangga" in response.content.decode()
    assert VillageUnit.objects.filter(pk=rt.pk).exists()
    unused = village["units"]["Lingkungan I/001/002"]
    client.post(f"{UNITS}{unused.pk}/hapus/")
    assert not VillageUnit.objects.filter(pk=unused.pk).exists()


def test_the_unit_pages_need_no_script_and_keep_the_csp(village, as_user):
    client = as_user(village["personas"]["operator_a"])
    for url in (UNITS, f"{UNITS}{village['units']['Lingkungan I'].pk}/"):
        body = client.get(url).content.decode()
        assert "<script>" not in body and "style=" not in body
        assert 'name="csrfmiddlewaretoken"' in body
        assert re.search(r'<label for="id_name">', body)
