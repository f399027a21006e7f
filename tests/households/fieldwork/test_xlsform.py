"""The census and visit XLSForms: generated from the catalogue and codebook, converted by
pyxform with no error and no warning, scoped to the caller's villages."""

from __future__ import annotations

import shutil

import pytest
from defusedxml import ElementTree as ET
from pyxform.xls2xform import convert

from desapresisi.errors import NotAllowed
from desapresisi.models import AccessProfile
from households import codebook as cb
from households import rules, schema
from households.fieldwork import xlsform
from households.models import Household, Member
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN

pytestmark = pytest.mark.django_db

XF = "{http://www.w3.org/2002/xforms}"
H = "{http://www.w3.org/1999/xhtml}"


def converted(data: bytes):
    warnings: list[str] = []
    result = convert(data, warnings=warnings, file_type=".xlsx")
    return result, warnings


def test_census_form_converts_with_no_warnings(personas):
    result, warnings = converted(xlsform.census_xlsform(personas["admin"]))
    assert warnings == []
    root = ET.fromstring(result.xform)
    instance = root.find(f"{H}head/{XF}model/{XF}instance")
    data = next(iter(instance))
    assert data.get("id") == xlsform.CENSUS_FORM_ID
    assert data.get("version")
    # A household group and a repeat of members, with the meta instance ID.
    assert data.find(f"{XF}rumah_tangga/{XF}no_kk") is not None
    assert data.find(f"{XF}anggota/{XF}nik") is not None
    assert data.find(f"{XF}meta/{XF}instanceID") is not None
    root_name = data.tag.removeprefix(XF)
    assert root.find(f".//{H}body//{XF}repeat[@nodeset='/{root_name}/anggota']") is not None


def test_every_coded_field_is_in_the_form_with_the_codebook_choices(personas):
    sheets = xlsform.census_form_rows(personas["admin"])
    questions = {row["name"]: row for row in sheets["survey"] if "name" in row}
    choices: dict[str, dict[str, dict]] = {}
    for row in sheets["choices"]:
        choices.setdefault(row["list_name"], {})[row["name"]] = row
    coded = [
        column
        for unit in (schema.HOUSEHOLD, schema.MEMBER)
        for column in schema.sheet_columns(unit)
        if column.kind == "coded"
    ]
    assert {c.name for c in coded} == set(schema.coded(schema.HOUSEHOLD)) | (
        set(schema.coded(schema.MEMBER)) - {"status_anggota"}
    )
    for column in coded:
        list_name = xlsform.list_name(column)
        assert questions[column.name]["type"] == f"select_one {list_name}"
        expected = {
            str(entry.code): (entry.label_id, entry.label_en)
            for entry in cb.codebook()[column.variable]
            if entry.code not in column.exclude
        }
        got = {
            name: (row["label::Indonesian (id)"], row["label::English (en)"])
            for name, row in choices[list_name].items()
        }
        assert got == expected, column.name
    # Item 413 never offers code 23 (not applicable), as the model excludes it.
    assert (
        "23"
        not in choices[xlsform.list_name(schema.Column("x", "coded", "jenjang_pendidikan", (23,)))]
    )
    result, _warnings = converted(xlsform.workbook_bytes(sheets))
    for column in coded:
        assert f"/{column.name}" in result.xform


def test_skip_rules_and_constraints_are_those_the_importer_checks(personas):
    questions = {
        row["name"]: row
        for row in xlsform.census_form_rows(personas["admin"])["survey"]
        if "name" in row
    }
    for model in (Household, Member):
        for answer, (question, codes) in rules.skip_rules(model).items():
            relevant = questions[answer]["relevant"]
            for code in codes:
                assert f"selected(${{{question}}}, '{code}')" in relevant
    assert questions["jenis_kloset"]["relevant"] == (
        "selected(${fasilitas_bab}, '1') or selected(${fasilitas_bab}, '2') or "
        "selected(${fasilitas_bab}, '3')"
    )
    assert "regex(., '^[0-9]{16}$')" in questions["no_kk"]["constraint"]
    assert questions["nik"]["constraint_message::Indonesian (id)"] == "Harus 16 digit angka."
    assert questions["nik"]["constraint_message::English (en)"] == "Must be 16 digits."
    assert questions["desil_sumber"]["required"] == "${desil_kesejahteraan} != ''"
    assert questions["tanggal_lahir"]["constraint"].endswith("<= ${tanggal_survei}")
    assert questions["lokasi"]["type"] == "geopoint"
    assert "capture-accuracy=10" in questions["lokasi"]["parameters"]
    assert "lintang" not in questions and "bujur" not in questions


def test_the_village_list_is_the_callers_area(personas):
    own = xlsform.census_form_rows(personas["operator_a"])["choices"]
    villages = [row["name"] for row in own if row["list_name"] == xlsform.VILLAGES]
    assert villages == [PENAJAM_KELURAHAN]
    everything = xlsform.census_form_rows(personas["admin"])["choices"]
    all_villages = {row["name"] for row in everything if row["list_name"] == xlsform.VILLAGES}
    assert {PENAJAM_KELURAHAN, BABULU_DESA} <= all_villages


def test_the_form_version_follows_its_content(personas):
    a = xlsform.census_form_rows(personas["operator_a"])["settings"][0]["version"]
    again = xlsform.census_form_rows(personas["operator_a"])["settings"][0]["version"]
    b = xlsform.census_form_rows(personas["operator_b"])["settings"][0]["version"]
    assert a == again != b


def test_visit_form_converts_with_entities_and_prefills(personas):
    result, warnings = converted(xlsform.visit_xlsform(personas["operator_a"]))
    assert warnings == []
    xform = result.xform
    assert "entities:entities-version" in xform or "entities-version" in xform
    assert "instance('rumah_tangga')/root/item[name=" in xform or "rumah_tangga" in xform
    root = ET.fromstring(xform)
    instance = next(iter(root.find(f"{H}head/{XF}model/{XF}instance")))
    assert instance.find(f"{XF}versi_awal") is not None
    # Pre-filled when the household is chosen: setvalue on the entity question's change.
    assert xform.count("xforms-value-changed") >= len(xlsform.visit_columns()) - 3


def test_the_kobo_visit_form_has_no_entities_sheet_and_still_converts(personas):
    sheets = xlsform.visit_form_rows(personas["operator_a"], entities=False)
    assert "entities" not in sheets
    result, warnings = converted(xlsform.workbook_bytes(sheets))
    assert warnings == []
    assert "<entity " not in result.xform
    assert "instance('rumah_tangga')/root/item[name= /data/rt_dikunjungi ]/lantai" in result.xform


def test_an_account_without_a_village_gets_no_census_form(personas):
    AccessProfile.objects.filter(user=personas["operator_a"]).update(areas=[])
    operator = type(personas["operator_a"]).objects.get(pk=personas["operator_a"].pk)
    with pytest.raises(NotAllowed):
        xlsform.census_form_rows(operator)


def test_odk_validate_accepts_every_generated_form(personas):
    """JavaRosa (the form engine of ODK Collect, run by pyxform's bundled ODK Validate)
    loads each form and parses every relevant, constraint and calculation."""
    if not shutil.which("java"):
        # A silent skip would let a broken setup pass: scripts/test installs it.
        pytest.fail("java not found: install openjdk-17-jre-headless (scripts/lib.sh).")
    forms = {
        "census": xlsform.census_xlsform(personas["operator_a"]),
        "visit": xlsform.visit_xlsform(personas["operator_a"]),
        "visit-kobo": xlsform.visit_xlsform(personas["operator_a"], entities=False),
    }
    for name, data in forms.items():
        warnings: list[str] = []
        convert(data, file_type=".xlsx", validate=True, warnings=warnings)
        assert warnings == [], name
