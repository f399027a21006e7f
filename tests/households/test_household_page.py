"""The household page /rumah-tangga/<id>/: who may open it, what it shows (answers with
their codebook labels, derived values, members with masked numbers, the indicators that
count the household, its change history), unmasking and its audit trail."""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

from desapresisi.masking import mask_number
from desapresisi.models import AuditAction, AuditEntry
from households import codebook as cb
from households import schema
from households.models import Household
from tests.factories import BABULU_DESA, PENAJAM_KELURAHAN, HouseholdFactory, MemberFactory

pytestmark = pytest.mark.django_db

NONE = "\u2013"  # how the page shows an empty answer (an en dash)

# Who opens the page of a household of desa A (Penajam) and of desa B (Babulu).
CAN_OPEN = {
    "admin": {"a", "b"},
    "analyst": {"a", "b"},  # SKPD analyst of the whole kabupaten
    "operator_a": {"a"},
    "operator_b": {"b"},
    "analyst_waru": set(),  # an analyst of another kecamatan
    "official": set(),  # dashboards and points, never a named record
    "norole": set(),
}


@pytest.fixture
def homes(personas):
    """A household of each village: A without a latrine, in decile 2, with a child of 10
    out of school; B an ordinary one."""
    a = HouseholdFactory(
        region_id=PENAJAM_KELURAHAN,
        fasilitas_bab=6,
        jenis_kloset=None,
        pembuangan_tinja=None,
        desil_kesejahteraan=2,
        lantai=8,
        head__nama="Kepala Rahasia",
    )
    child = MemberFactory(
        household=a,
        nama="Anak Putus Sekolah",
        tanggal_lahir=dt.date(2015, 1, 1),
        partisipasi_sekolah=3,
        jenjang_pendidikan=3,
        ijazah_tertinggi=None,
    )
    b = HouseholdFactory(region_id=BABULU_DESA, head__nama="Tetangga Rahasia")
    return {"a": a, "b": b, "child": child, "personas": personas}


def page(client, household, query=""):
    return client.get(f"/rumah-tangga/{household.pk}/{query}")


def field_text(body: str, name: str) -> str:
    """The shown text of a `data-field` entry (answers, derived values, member cells)."""
    match = re.search(
        rf'data-field="{name}"[^>]*>(?:<dt>.*?</dt><dd>)?(.*?)</(?:dd|td)>', body, re.S
    )
    assert match, f"no field {name}"
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


def changes_of(record: str) -> dict[str, tuple[str, str]]:
    """{field label: (old, new)} of one update in the timeline."""
    pattern = r'<span class="hh-field">(.*?)</span>: <del>(.*?)</del>.*?<ins>(.*?)</ins>'
    return {
        html.unescape(label): (html.unescape(old), html.unescape(new))
        for label, old, new in re.findall(pattern, record, re.S)
    }


@pytest.mark.parametrize("role", [*CAN_OPEN, "anonymous"])
def test_each_role_opens_only_households_of_its_own_villages(homes, as_user, role):
    client = as_user(None if role == "anonymous" else homes["personas"][role])
    for village in ("a", "b"):
        household = homes[village]
        response = page(client, household)
        if role == "anonymous":
            assert response.status_code == 302
            assert response["Location"].startswith("/masuk/")
        elif village in CAN_OPEN[role]:
            assert response.status_code == 200, (role, village)
        else:
            # Not a 403: nothing may tell that the household exists.
            assert response.status_code == 404, (role, village, response.status_code)
            body = response.content.decode()
            for secret in (household.no_kk, mask_number(household.no_kk), "Rahasia"):
                assert secret not in body


def test_unknown_household_is_404(homes, as_user):
    client = as_user(homes["personas"]["admin"])
    assert client.get("/rumah-tangga/999999999/").status_code == 404


def test_every_answer_is_shown_with_its_codebook_label(homes, as_user):
    household = Household.objects.get(pk=homes["a"].pk)
    body = page(as_user(homes["personas"]["operator_a"]), household).content.decode()
    coded = schema.coded(schema.HOUSEHOLD)
    assert len(coded) >= 10
    for name in coded:
        value = getattr(household, name)
        text = field_text(body, name)
        if value is None:
            assert NONE in text, name
        else:
            entry = schema.field(schema.HOUSEHOLD, name)
            assert cb.label(entry.variable, value) in text and f"kode {value}" in text, name
    # Every other answer of the catalogue too, in the model's order.
    answers = schema.names(schema.HOUSEHOLD, category=schema.ANSWER)
    assert all(f'data-field="{name}"' in body for name in answers)
    assert field_text(body, "dusun").strip() == household.dusun
    assert "Tidak ada fasilitas" in field_text(body, "fasilitas_bab")


def test_derived_fields_are_shown_in_words(homes, as_user):
    household = Household.objects.get(pk=homes["a"].pk)
    assert (household.tangga_sanitasi, household.jumlah_anggota, household.jumlah_ats) == (0, 2, 1)
    body = page(as_user(homes["personas"]["operator_a"]), household).content.decode()
    assert "BABS (buang air besar sembarangan)" in field_text(body, "tangga_sanitasi")
    assert field_text(body, "rumah_tidak_layak_huni").strip() == "Ya"  # earth floor
    assert field_text(body, "air_minum_layak").strip() == "Ya"
    assert field_text(body, "jumlah_anggota").strip() == "2"
    assert field_text(body, "jumlah_ats").strip() == "1"


def test_members_are_listed_by_name_with_masked_nik(homes, as_user):
    household = homes["a"]
    body = page(as_user(homes["personas"]["analyst"]), household).content.decode()
    members = list(household.members.order_by("hubungan_keluarga"))
    assert len(members) == 2
    for member in members:
        assert member.nama in body
        assert mask_number(member.nik) in body
        # Nowhere in full: the members table, the history of their insertion, the title.
        assert member.nik not in body
    assert household.no_kk not in body and mask_number(household.no_kk) in body
    assert "Kepala keluarga" in body  # hubungan_keluarga by its label
    assert "Kepala rumah tangga: <strong>Kepala Rahasia</strong>" in body


def test_page_names_the_indicators_that_count_the_household(homes, as_user):
    body = page(as_user(homes["personas"]["operator_a"]), homes["a"]).content.decode()
    counted = set(re.findall(r'data-indicator="([^"]+)"', body))
    assert {"tanpa_jamban", "babs", "desil_1_4", "miskin_tanpa_jamban", "rtlh"} <= counted
    assert {"ats_7_12", "ats_7_18"} <= counted
    # Not counted: good sanitation, decile 1, older children; nor the plain counts.
    assert not counted & {"sanitasi_layak", "desil_1", "ats_13_15", "jumlah_rumah_tangga"}
    # A member indicator says which members it counts.
    item = re.search(r'data-indicator="ats_7_12">(.*?)</li>', body, re.S).group(1)
    assert "Anak Putus Sekolah" in item and "Kepala Rahasia" not in item
    # The ordinary household of B is counted by none of those.
    other = page(as_user(homes["personas"]["operator_b"]), homes["b"]).content.decode()
    assert "tanpa_jamban" not in set(re.findall(r'data-indicator="([^"]+)"', other))


def test_timeline_shows_an_edit_with_who_when_and_labelled_old_and_new(homes, as_user):
    household = homes["a"]
    client = as_user(homes["personas"]["operator_a"])
    response = client.patch(
        f"/api/v1/households/{household.pk}/",
        {"fasilitas_bab": 1, "jenis_kloset": 1, "pembuangan_tinja": 2, "versi": 1},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = page(client, household).content.decode()
    history = re.search(r'<ol class="hh-timeline" id="history">(.*?)</ol>', body, re.S).group(1)
    latest = re.search(
        r'<li data-action="update">(.*?)</li>\s*(?=<li data-action|$)', history, re.S
    )
    assert latest, history[:2000]
    record = latest.group(1)
    assert re.search(
        r'<p class="hh-when"><time datetime="[^"]+">[^<]+</time> &middot; operator-a</p>', record
    )
    assert '<p class="hh-what">Rumah tangga diubah</p>' in record
    assert changes_of(record) == {
        "Fasilitas buang air besar (309a)": (
            cb.label("fasilitas_bab", 6),
            cb.label("fasilitas_bab", 1),
        ),
        "Jenis kloset (309b)": (NONE, cb.label("jenis_kloset", 1)),
        "Pembuangan akhir tinja (310)": (NONE, cb.label("pembuangan_tinja", 2)),
    }
    # The derived ladder follows the edit; the insertions are in the timeline too.
    assert "Aman" in field_text(body, "tangga_sanitasi")
    assert history.count('data-action="insert"') == 3  # the household and its two members


def test_unmasking_shows_full_numbers_and_is_audited(homes, as_user):
    household = homes["a"]
    client = as_user(homes["personas"]["analyst"])  # may unmask
    masked = page(client, household).content.decode()
    assert f'href="/rumah-tangga/{household.pk}/?unmask=1"' in masked
    # A plain view is audited as a view of three named records (the data protection
    # officer's report), as the API's household detail is.
    viewed = AuditEntry.objects.get()
    assert (viewed.action, viewed.rows, viewed.username) == (AuditAction.VIEW, 3, "analis-uji")
    body = page(client, household, "?unmask=1").content.decode()
    assert household.no_kk in body
    assert all(member.nik in body for member in household.members.all())
    entry = AuditEntry.objects.exclude(pk=viewed.pk).get()
    assert entry.action == AuditAction.UNMASK and entry.rows == 3
    assert entry.username == "analis-uji" and entry.path.endswith("?unmask=1")


def test_unmasking_without_the_right_is_refused_and_audited(homes, as_user):
    household = homes["a"]
    response = page(as_user(homes["personas"]["operator_a"]), household, "?unmask=1")
    assert response.status_code == 403
    assert household.no_kk not in response.content.decode()
    assert AuditEntry.objects.get().action == AuditAction.ACCESS_DENIED
    # The official may not see the page at all: still a 404, and the attempt recorded.
    response = page(as_user(homes["personas"]["official"]), household, "?unmask=1")
    assert response.status_code == 404
    assert AuditEntry.objects.filter(action=AuditAction.ACCESS_DENIED).count() == 2
    assert not AuditEntry.objects.filter(action=AuditAction.UNMASK).exists()


def test_page_carries_its_map_data_as_json_and_no_inline_script(homes, as_user):
    household = homes["a"]
    body = page(as_user(homes["personas"]["operator_a"]), household).content.decode()
    config = json.loads(
        re.search(
            r'<script id="household-config" type="application/json">(.*?)</script>', body
        ).group(1)
    )
    assert config["point"] == [round(household.lokasi.x, 6), round(household.lokasi.y, 6)]
    assert config["outline"].startswith(f"/api/v1/regions/{PENAJAM_KELURAHAN}/")
    assert '<script type="module" src="/static/js/household.js">' in body
    for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body):
        assert "nonce=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\sstyle=\"", body)


def test_page_speaks_english_when_asked(homes, as_user):
    client = as_user(homes["personas"]["operator_a"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    body = page(client, homes["a"]).content.decode()
    assert "Household members" in body and "Change history" in body
    assert f"<h1>Household KK {mask_number(homes['a'].no_kk)}</h1>" in body
    assert '<p class="hh-what">Member added: Anak Putus Sekolah</p>' in body
    assert "No facility" in field_text(body, "fasilitas_bab")


@pytest.mark.parametrize(("role", "linked"), [("operator_a", True), ("official", False)])
def test_village_page_hands_its_script_the_household_page_address(homes, as_user, role, linked):
    client = as_user(homes["personas"][role])
    body = client.get(f"/desa/{PENAJAM_KELURAHAN}/").content.decode()
    config = json.loads(
        re.search(
            r'<script id="dashboard-config" type="application/json">(.*?)</script>', body
        ).group(1)
    )
    assert config["households"]["page"] == ("/rumah-tangga/{id}/" if linked else "")
