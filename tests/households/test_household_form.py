"""The operator's form /rumah-tangga/<id>/ubah/: every editable answer with its label,
saving through the edit service (history records the operator), the service's verdicts
next to their fields, a save over a newer version (the conflict panel and applying on
top), and who may open it."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.utils.text import capfirst

from desapresisi.models import ChangeRecord
from households import codebook as cb
from households import schema
from households.models import Household
from households.services import household_update
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def homes(personas):
    return {
        "a": HouseholdFactory(region_id=PENAJAM_KELURAHAN),
        "b": HouseholdFactory(region_id=BABULU_DESA),
        "personas": personas,
    }


def url(household) -> str:
    return f"/rumah-tangga/{household.pk}/ubah/"


class FormData(HTMLParser):
    """What a browser would submit from the page's form #household-form (no script)."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self.inside = False
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == "household-form"
        if not self.inside or "disabled" in attrs:
            return
        if tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("radio", "checkbox"):
                if "checked" in attrs:
                    self.data[attrs["name"]] = attrs.get("value", "on")
            else:
                self.data[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self.select = attrs.get("name")
            self.data.setdefault(self.select, "")
        elif tag == "option" and self.select and "selected" in attrs:
            self.data[self.select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.inside = False


def form_data(body: str) -> dict[str, str]:
    parser = FormData()
    parser.feed(body)
    return parser.data


def error_of(body: str, field: str) -> str:
    """The error shown next to a field (inside its own wrapper), '' if none."""
    end = r'(?=data-field="|<div class="hf-actions")'
    match = re.search(rf'data-field="{field}".*?{end}', body, re.S)
    assert match, f"no field {field}"
    error = re.search(r'<p class="hf-error" id="([^"]+)">(.*?)</p>', match.group(0), re.S)
    return html.unescape(error.group(2)).strip() if error else ""


def test_form_shows_every_editable_answer_with_its_label(homes, as_user):
    body = as_user(homes["personas"]["operator_a"]).get(url(homes["a"])).content.decode()
    editable = schema.editable(schema.HOUSEHOLD)
    assert len(editable) > 20
    for name in editable:
        entry = schema.field(schema.HOUSEHOLD, name)
        label = html.escape(capfirst(str(entry.field.verbose_name)))
        if name == "lokasi":
            assert re.search(r'<label for="id_lintang">Lintang</label>', body)
            assert re.search(r'<label for="id_bujur">Bujur</label>', body)
            continue
        assert f'data-field="{name}"' in body, name
        assert label in body, name
        if entry.category == schema.CODED:
            # A select with the codebook's Indonesian labels, the stored code chosen.
            assert f'<select name="{name}"' in body and f'<label for="id_{name}">' in body
            for code in cb.codes(entry.variable, exclude=entry.exclude):
                assert html.escape(cb.label(entry.variable, code, "id")) in body, (name, code)
    assert 'type="date" name="tanggal_survei" value="2025-10-15"' in body
    for value in ("true", "false"):
        assert f'name="penerima_pkh" value="{value}"' in body
    assert 'name="csrfmiddlewaretoken"' in body and 'name="versi"' in body
    # Skip rule from the model's constraint, for the script.
    assert 'data-asked-when="fasilitas_bab" data-asked-codes="1 2 3"' in body
    assert "<script>" not in body and "style=" not in body  # CSP: no inline script or style


def test_save_changes_the_answer_and_the_history_names_the_operator(homes, as_user):
    client = as_user(homes["personas"]["operator_a"])
    household = homes["a"]
    data = form_data(client.get(url(household)).content.decode())
    assert data["lantai"] == "2" and data["versi"] == "1"
    data.update(lantai="8", penerima_pkh="true")
    response = client.post(url(household), data)
    assert response.status_code == 302
    assert response["Location"] == f"/rumah-tangga/{household.pk}/"
    household.refresh_from_db()
    assert household.lantai == 8 and household.penerima_pkh is True and household.versi == 2
    assert household.rumah_tidak_layak_huni is True  # derived in step
    record = ChangeRecord.objects.filter(household_id=household.pk, action="update").get()
    assert record.actor.startswith(f"{homes['personas']['operator_a'].pk}:operator-a@")
    # Only what the operator changed is written.
    assert set(record.changes) - {"diubah"} == {"lantai", "penerima_pkh"}
    page = client.get(response["Location"]).content.decode()
    assert "Perubahan disimpan." in page and "operator-a" in page


def test_bad_code_is_named_next_to_its_field_and_nothing_is_written(homes, as_user):
    client = as_user(homes["personas"]["operator_a"])
    household = homes["a"]
    data = form_data(client.get(url(household)).content.decode())
    data.update(lantai="99", dusun="Baru")
    response = client.post(url(household), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "99" in error_of(body, "lantai")
    assert error_of(body, "dusun") == ""
    assert 'aria-describedby="id_lantai-error"' in body and 'aria-invalid="true"' in body
    household.refresh_from_db()
    assert household.lantai == 2 and household.dusun == "Lingkungan I" and household.versi == 1


def test_point_outside_the_village_is_named_next_to_the_location(homes, as_user):
    client = as_user(homes["personas"]["operator_a"])
    household = homes["a"]
    before = household.lokasi
    data = form_data(client.get(url(household)).content.decode())
    outside = homes["b"].lokasi  # a point of Babulu, far from Penajam
    data.update(lintang=str(outside.y), bujur=str(outside.x), dusun="Baru")
    response = client.post(url(household), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "di luar desa/kelurahannya" in error_of(body, "lokasi")
    assert 'aria-describedby="id_lokasi-error"' in body
    household.refresh_from_db()
    assert household.lokasi.equals_exact(before, 1e-9) and household.dusun == "Lingkungan I"
    assert household.versi == 1


def test_skip_rule_is_named_next_to_the_skipped_question(homes, as_user):
    client = as_user(homes["personas"]["operator_a"])
    household = homes["a"]
    data = form_data(client.get(url(household)).content.decode())
    data.update(fasilitas_bab="6")  # no facility, yet the toilet type still answered
    body = client.post(url(household), data).content.decode()
    assert "Fasilitas buang air besar (309a)" in error_of(body, "jenis_kloset")
    household.refresh_from_db()
    assert household.fasilitas_bab == 1
    # With the toilet type skipped (as the script does), the save goes through.
    data["jenis_kloset"] = ""
    assert client.post(url(household), data).status_code == 302
    household.refresh_from_db()
    assert household.fasilitas_bab == 6 and household.jenis_kloset is None


def test_stale_version_shows_the_other_change_and_applies_on_top(homes, as_user):
    client = as_user(homes["personas"]["operator_a"])
    household = homes["a"]
    data = form_data(client.get(url(household)).content.decode())
    # Someone else saves first: the roof and the address (the history names them).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('desapresisi.actor', %s, true)", ["7:kasi-pemerintahan@10.0.0.9"]
        )
    household_update(
        queryset=Household.objects.all(),
        pk=household.pk,
        changes={"atap": 7, "alamat": "Jl. Lain 1"},
        expected_version=1,
    )
    # The test runs in one transaction, whose clock (the history's `at`) stopped at its
    # start: the form must look opened before the other save, as it was.
    assert data["dibuka"]
    data.update(lantai="8", dibuka="2025-01-01T00:00:00+00:00")
    response = client.post(url(household), data)
    assert response.status_code == 409
    body = response.content.decode()
    panel = re.search(r'<section class="panel hf-conflict".*?</section>', body, re.S).group(0)
    # Who was faster, by username (the address stays in the history, not on the page).
    by = html.unescape(re.search(r'id="conflict-by">(.*?)</p>', panel, re.S).group(1))
    assert "kasi-pemerintahan" in by and "10.0.0.9" not in by
    theirs = html.unescape(re.search(r'id="conflict-theirs">(.*?)</ul>', panel, re.S).group(1))
    assert "Jenis atap terluas (305)" in theirs and "Seng" in theirs
    assert "Jerami/ijuk/daun/rumbia" in theirs and "Jl. Lain 1" in theirs
    mine = html.unescape(re.search(r'id="conflict-mine">(.*?)</ul>', panel, re.S).group(1))
    assert "Jenis lantai terluas (303)" in mine and "Tanah" in mine
    household.refresh_from_db()
    assert household.lantai == 2 and household.versi == 2  # nothing of the operator's yet
    # The form now holds the newer version with the operator's change on top.
    again = form_data(body)
    assert again["versi"] == "2" and again["lantai"] == "8" and again["atap"] == "7"
    assert client.post(url(household), again).status_code == 302
    household.refresh_from_db()
    assert (household.lantai, household.atap, household.alamat) == (8, 7, "Jl. Lain 1")
    assert household.versi == 3


@pytest.mark.parametrize("role", ["official", "operator_b", "analyst", "analyst_waru", "norole"])
def test_who_may_not_edit_gets_404(homes, as_user, role):
    client = as_user(homes["personas"][role])
    household = homes["a"]
    data = form_data(as_user(homes["personas"]["admin"]).get(url(household)).content.decode())
    client = as_user(homes["personas"][role])
    assert client.get(url(household)).status_code == 404
    data["lantai"] = "8"
    assert client.post(url(household), data).status_code == 404
    household.refresh_from_db()
    assert household.lantai == 2


def test_anonymous_is_sent_to_login(homes, client):
    response = client.get(url(homes["a"]))
    assert response.status_code == 302 and response["Location"].startswith("/masuk/")


@pytest.mark.parametrize("role,shown", [("operator_a", True), ("admin", True), ("analyst", False)])
def test_household_page_links_to_the_form_for_those_who_may_edit(homes, as_user, role, shown):
    body = as_user(homes["personas"][role]).get(f"/rumah-tangga/{homes['a'].pk}/").content.decode()
    assert (f'href="{url(homes["a"])}"' in body) is shown
