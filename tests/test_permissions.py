"""The permission matrix (aih_tracker/roles.py, README) holds for every role and kind of action."""

from pathlib import Path

import pytest

from aih_tracker.management.commands.permission_matrix import permission_matrix_markdown
from aih_tracker.roles import PERMISSION_MATRIX, Action, Role
from monitoring.models import Alert, Severity
from tests.factories import ClinicFactory, PatientFactory

pytestmark = pytest.mark.django_db

STAFF, NURSE, PHYSICIAN, ADMIN = Role.STAFF, Role.NURSE, Role.PHYSICIAN, Role.ADMIN

# (action, role, allowed) - the README's table, row by row.
MATRIX_ROWS = [
    (Action.VIEW_PATIENTS, STAFF, True),
    (Action.VIEW_PATIENTS, NURSE, True),
    (Action.VIEW_PATIENTS, PHYSICIAN, True),
    (Action.VIEW_PATIENTS, ADMIN, True),
    (Action.EDIT_PATIENTS, STAFF, True),
    (Action.EDIT_PATIENTS, NURSE, True),
    (Action.EDIT_PATIENTS, PHYSICIAN, True),
    (Action.EDIT_PATIENTS, ADMIN, False),
    (Action.LOG_VISITS, STAFF, True),
    (Action.LOG_VISITS, NURSE, True),
    (Action.LOG_VISITS, PHYSICIAN, True),
    (Action.LOG_VISITS, ADMIN, False),
    (Action.PRESCRIBE, STAFF, False),
    (Action.PRESCRIBE, NURSE, False),
    (Action.PRESCRIBE, PHYSICIAN, True),
    (Action.PRESCRIBE, ADMIN, False),
    (Action.WORK_ALERTS, STAFF, False),
    (Action.WORK_ALERTS, NURSE, True),
    (Action.WORK_ALERTS, PHYSICIAN, True),
    (Action.WORK_ALERTS, ADMIN, False),
    (Action.CHANGE_PARAMETERS, STAFF, False),
    (Action.CHANGE_PARAMETERS, NURSE, False),
    (Action.CHANGE_PARAMETERS, PHYSICIAN, False),
    (Action.CHANGE_PARAMETERS, ADMIN, True),
    (Action.MANAGE_USERS, STAFF, False),
    (Action.MANAGE_USERS, NURSE, False),
    (Action.MANAGE_USERS, PHYSICIAN, False),
    (Action.MANAGE_USERS, ADMIN, True),
    (Action.EXPORT_DATA, STAFF, False),
    (Action.EXPORT_DATA, NURSE, False),
    (Action.EXPORT_DATA, PHYSICIAN, True),
    (Action.EXPORT_DATA, ADMIN, True),
    (Action.VIEW_AUDIT, STAFF, False),
    (Action.VIEW_AUDIT, NURSE, False),
    (Action.VIEW_AUDIT, PHYSICIAN, True),
    (Action.VIEW_AUDIT, ADMIN, True),
]


def test_the_table_covers_every_role_and_action():
    assert {(a, r) for a, r, _ in MATRIX_ROWS} == {(a, r) for a in Action for r in Role}


@pytest.mark.parametrize(("action", "role", "allowed"), MATRIX_ROWS)
def test_role_may_do_action(make_user, action, role, allowed):
    assert make_user(role).can(action) is allowed
    assert (role in PERMISSION_MATRIX[action]) is allowed


def test_an_inactive_user_may_do_nothing(make_user):
    user = make_user(PHYSICIAN, is_active=False)
    assert not any(user.can(action) for action in Action)


# Each kind of action, as a real request: (action, method, url builder).
def _alert_acknowledge_url(patient):
    alert = Alert.objects.create(patient=patient, rule_id="MON-01", severity=Severity.HIGH, message="Bloods overdue")
    return f"/alerts/{alert.pk}/acknowledge/"


ENDPOINTS = [
    (Action.VIEW_PATIENTS, "get", lambda p: f"/patients/{p.pk}/"),
    (Action.EDIT_PATIENTS, "get", lambda p: "/admin/patients/patient/add/"),
    (Action.LOG_VISITS, "get", lambda p: "/admin/monitoring/labresult/add/"),
    (Action.LOG_VISITS, "get", lambda p: "/admin/patients/visit/add/"),
    (Action.PRESCRIBE, "get", lambda p: f"/patients/{p.pk}/regimen/start/"),
    (Action.WORK_ALERTS, "post", _alert_acknowledge_url),
    (Action.CHANGE_PARAMETERS, "get", lambda p: "/admin/monitoring/clinicalparameter/add/"),
    (Action.MANAGE_USERS, "get", lambda p: "/admin/aih_tracker/user/add/"),
    (Action.EXPORT_DATA, "get", lambda p: "/recall/export.csv"),
    (Action.EXPORT_DATA, "get", lambda p: f"/patients/{p.pk}/fhir.json"),
    (Action.VIEW_AUDIT, "get", lambda p: f"/admin/patients/patient/{p.pk}/history/"),
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("action", "method", "url_for"), ENDPOINTS)
def test_pages_enforce_the_matrix(client, make_user, role, action, method, url_for):
    client.force_login(make_user(role))
    url = url_for(PatientFactory())
    response = client.get(url) if method == "get" else client.post(url, {})
    if role in PERMISSION_MATRIX[action]:
        assert response.status_code in (200, 302), f"{role} should be able to {action}"
    else:
        assert response.status_code == 403, f"{role} should not be able to {action}"


def test_a_patient_of_another_clinic_is_not_found(client, make_user):
    client.force_login(make_user(PHYSICIAN))
    stranger = PatientFactory(clinic=ClinicFactory())
    assert client.get(f"/patients/{stranger.pk}/").status_code == 404


def test_admin_lists_only_the_users_clinic(client, make_user):
    client.force_login(make_user(STAFF))
    PatientFactory(mrn="OURS-1")
    PatientFactory(mrn="THEIRS-1", clinic=ClinicFactory())
    page = client.get("/admin/patients/patient/").content.decode()
    assert "OURS-1" in page
    assert "THEIRS-1" not in page


def test_pages_need_a_login(client):
    response = client.get("/patients/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_readme_shows_the_matrix_the_code_enforces():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert permission_matrix_markdown() in readme


@pytest.mark.parametrize("role", list(Role))
def test_every_role_opens_the_admin_and_its_patient_list(client, make_user, role):
    client.force_login(make_user(role))
    PatientFactory(mrn="ADM-1")
    assert client.get("/admin/").status_code == 200
    page = client.get("/admin/patients/patient/")
    assert page.status_code == 200
    assert "ADM-1" in page.content.decode()
