"""The one area-code rule: shape of a code, and what lies within an area."""

import pytest

from villages.codes import below_q, is_area_code, subtree_q
from villages.models import Region

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["64", "64.09", "64.09.01", "64.09.01.2001"])
def test_codes_of_every_level_have_the_kemendagri_shape(code):
    assert is_area_code(code)


@pytest.mark.parametrize(
    "code", ["", "6", "64.9", "64.09.", "64.09.01.201", "64.09.01.2001.1", "64%"]
)
def test_anything_else_is_not_an_area_code(code):
    assert not is_area_code(code)


def test_a_subtree_is_the_area_and_everything_below_it():
    codes = set(Region.objects.filter(subtree_q("64.09.01")).values_list("code", flat=True))
    assert "64.09.01" in codes and "64.09.01.1001" in codes
    assert all(code == "64.09.01" or code.startswith("64.09.01.") for code in codes)
    assert "64.09.02" not in codes and "64.09" not in codes


def test_below_leaves_the_area_itself_out():
    codes = set(Region.objects.filter(below_q("64.09")).values_list("code", flat=True))
    assert "64.09" not in codes and "64.09.01" in codes


def test_no_codes_select_nothing_and_several_select_their_union():
    assert not Region.objects.filter(subtree_q([])).exists()
    both = Region.objects.filter(subtree_q(["64.09.01", "64.09.02"]))
    assert {code[:8] for code in both.values_list("code", flat=True)} == {"64.09.01", "64.09.02"}
