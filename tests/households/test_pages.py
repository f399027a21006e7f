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


def test_admin_edit_refreshes_the_indicators(
    admin_client_local, django_capture_on_commit_callbacks
):
    from households.indicators import indicators_refresh
    from households.models import IndicatorValue

    household = HouseholdFactory()
    indicators_refresh(full=True)
    url = f"/admin/households/household/{household.pk}/change/"
    form = admin_client_local.get(url).context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "region": household.region_id,
            "fasilitas_bab": 6,
            "jenis_kloset": "",
            "pembuangan_tinja": "",
            "lokasi": household.lokasi.geojson,
            "tanggal_survei": "2025-10-15",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        }
    )
    data = {key: ("" if value is None else value) for key, value in data.items()}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_local.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    value = IndicatorValue.objects.get(indicator_id="tanpa_jamban", region_id=household.region_id)
    assert value.numerator == 1
