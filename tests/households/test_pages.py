import pytest
from django.contrib.auth import get_user_model

from tests.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


def test_home_shows_kecamatan_totals(client):
    HouseholdFactory.create_batch(3)
    response = client.get("/")
    assert response.status_code == 200
    assert "Penajam" in response.text
    assert "Rumah tangga per kecamatan" in response.text


def test_home_labels_synthetic_data(client):
    HouseholdFactory(sumber_data="sintetis")
    assert "Data demo sintetis" in client.get("/").text


def test_home_speaks_english_when_asked(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.get("/").status_code == 200


@pytest.fixture
def admin_client_local(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "x-test-pass-1")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/villages/region/?level__exact=desa&q=64.09",
        "/admin/villages/region/64.09.01.1001/change/",
        "/admin/households/household/",
        "/admin/households/household/?q=Warga",
        "/admin/households/member/",
    ],
)
def test_admin_pages_render(admin_client_local, url):
    household = HouseholdFactory()
    assert admin_client_local.get(url).status_code == 200
    assert (
        admin_client_local.get(f"/admin/households/household/{household.pk}/change/").status_code
        == 200
    )


def test_admin_lists_54_ppu_villages(admin_client_local):
    response = admin_client_local.get("/admin/villages/region/?level__exact=desa&q=64.09.")
    assert response.context["cl"].result_count == 54
