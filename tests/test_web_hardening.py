"""What a pentest of the running app checks beyond the permission matrix: caching of patient pages,
file permissions of the embedded database, login throttling behind a proxy, what access logs keep."""

import pytest

from aih_tracker.roles import Role
from tests.factories import PatientFactory

# --- Cache-Control: no-store on everything a signed-in user gets -------------------------------

SIGNED_IN_PAGES = [
    "/patients/",
    "/patients/{pk}/",
    "/patients/?q=Okafor",
    "/alerts/",
    "/alerts/badge/",
    "/recall/",
    "/recall/export.csv",
    "/dashboard/",
    "/imports/",
    "/quarantine/",
    "/patients/{pk}/fhir.json",
    "/admin/",
    "/admin/patients/patient/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_no_page_with_patient_data_may_be_kept_by_a_browser_or_proxy_cache(client, physician, url):
    patient = PatientFactory(family_name="Okafor")
    client.force_login(physician)
    response = client.get(url.format(pk=patient.pk))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


@pytest.mark.django_db
def test_a_refusal_to_a_signed_in_user_is_not_cached_either(client, make_user):
    client.force_login(make_user(Role.NURSE))
    response = client.get("/recall/export.csv")
    assert response.status_code == 403
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_the_login_page_is_not_cached(client):
    assert "no-store" in client.get("/login/")["Cache-Control"]
