"""Outlier flags (a value far from the kecamatan's villages, a jump between rounds) are
shown beside the village's figures: on the village page and in the dashboard's quality
feed, for roles with an account; the public, who reads suppressed figures, gets none."""

from __future__ import annotations

import pytest

from quality.models import Flag
from tests.factories import PENAJAM_KELURAHAN, HouseholdFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def outliers():
    HouseholdFactory()
    Flag.objects.create(
        rule_id="pencilan_wilayah",
        region_id=PENAJAM_KELURAHAN,
        indicator_id="tanpa_jamban",
        period="2025",
        record_key=f"area:{PENAJAM_KELURAHAN}:tanpa_jamban:2025",
        details={"nilai": 61.5, "median": 12.0, "z": 5.2},
    )
    Flag.objects.create(
        rule_id="lonjakan_putaran",
        region_id=PENAJAM_KELURAHAN,
        indicator_id="tanpa_jamban",
        period="2025",
        record_key=f"area:{PENAJAM_KELURAHAN}:tanpa_jamban:2025:jump",
        details={"nilai": 61.5, "sebelumnya": 20.0, "periode_sebelumnya": "2024"},
    )


def test_the_village_page_lists_them_for_roles_with_an_account(client, as_user, personas, outliers):
    page = as_user(personas["official"]).get(f"/desa/{PENAJAM_KELURAHAN}/").content.decode()
    assert 'id="outlier-flags"' in page
    assert 'data-rule="pencilan_wilayah"' in page and "median kecamatan 12,0, z 5,2" in page
    assert 'data-rule="lonjakan_putaran"' in page and "20,0 (2024) menjadi 61,5" in page
    client.logout()
    public = client.get(f"/desa/{PENAJAM_KELURAHAN}/").content.decode()
    assert 'id="outlier-flags"' not in public and "61,5" not in public


def test_the_dashboards_feed_carries_them_per_village(as_user, personas, outliers):
    answer = as_user(personas["official"]).get("/api/v1/quality/villages/?parent=64.09.01")
    village = next(f for f in answer.json()["features"] if f["id"] == PENAJAM_KELURAHAN)
    rules = [flag["rule"] for flag in village["properties"]["outliers"]]
    assert rules == ["pencilan_wilayah", "lonjakan_putaran"]
    assert village["properties"]["outliers"][0]["indicator_name"] == "Rumah tangga tanpa jamban"
    other = as_user(personas["operator_b"]).get("/api/v1/quality/villages/?parent=64.09.01")
    assert all(f["id"] != PENAJAM_KELURAHAN for f in other.json()["features"])
