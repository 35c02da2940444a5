"""Registration and the visit log follow the role matrix on every page and htmx endpoint."""

import pytest

from aih_tracker.roles import PERMISSION_MATRIX, Action, Role
from patients.models import Patient, Visit
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db


class PatientStub:
    pk = "{pk}"


ENDPOINTS = [
    (Action.EDIT_PATIENTS, "get", lambda p: "/patients/new/"),
    (Action.EDIT_PATIENTS, "post", lambda p: "/patients/new/"),
    (Action.EDIT_PATIENTS, "get", lambda p: "/patients/new/rows/antibodies/?antibodies-TOTAL_FORMS=1"),
    (Action.EDIT_PATIENTS, "get", lambda p: f"/patients/{p.pk}/edit/"),
    (Action.EDIT_PATIENTS, "post", lambda p: f"/patients/{p.pk}/edit/"),
    (Action.LOG_VISITS, "get", lambda p: f"/patients/{p.pk}/visits/new/"),
    (Action.LOG_VISITS, "post", lambda p: f"/patients/{p.pk}/visits/new/"),
    (Action.LOG_VISITS, "post", lambda p: f"/patients/{p.pk}/visits/new/lab-row/?x=1"),
    (Action.LOG_VISITS, "get", lambda p: f"/patients/{p.pk}/visits/new/add-lab/?add_analyte=alt&labs-TOTAL_FORMS=18"),
    (Action.LOG_VISITS, "get", lambda p: f"/patients/{p.pk}/visits/new/add-event/?events-TOTAL_FORMS=1"),
    (Action.LOG_VISITS, "post", lambda p: f"/patients/{p.pk}/visits/new/medicines/"),
]


def request(client, method, url):
    if method == "get":
        return client.get(url, headers={"HX-Request": "true"})
    data = {"row": "labs-0", "labs-0-analyte": "alt", "labs-0-unit": "U/L"} if "lab-row" in url else {}
    return client.post(url.split("?")[0], data)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("action", "method", "url_for"), ENDPOINTS)
def test_every_page_and_fragment_follows_the_matrix(client, make_user, role, action, method, url_for):
    client.force_login(make_user(role))
    patient = PatientFactory()
    response = request(client, method, url_for(patient))
    if role in PERMISSION_MATRIX[action]:
        assert response.status_code == 200, f"{role} should be able to {action}"
    else:
        assert response.status_code == 403, f"{role} should not be able to {action}"
    assert Patient.objects.count() == 1 and not Visit.objects.exists()  # empty posts never save


PATIENT_SCOPED = [(method, url_for) for _, method, url_for in ENDPOINTS if "{pk}" in url_for(PatientStub)]


@pytest.mark.parametrize(("method", "url_for"), PATIENT_SCOPED)
def test_another_clinics_patient_is_not_found(client, make_user, method, url_for):
    client.force_login(make_user(Role.PHYSICIAN))
    stranger = PatientFactory(clinic=ClinicFactory())
    assert request(client, method, url_for(stranger)).status_code == 404


def test_the_links_show_only_to_roles_that_may_use_them(client, make_user):
    patient = PatientFactory()
    client.force_login(make_user(Role.ADMIN))
    assert 'href="/patients/new/"' not in client.get("/patients/").content.decode()
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert f"/patients/{patient.pk}/edit/" not in page and f"/patients/{patient.pk}/visits/new/" not in page
    assert "No visits logged yet." in page


def test_pages_need_a_login(client):
    patient = PatientFactory()
    for url in ("/patients/new/", f"/patients/{patient.pk}/visits/new/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
