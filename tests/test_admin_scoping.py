"""The admin's history pages and drop-downs are held to the clinic scope, and history is never written
back (issue: the admin's history pages let any physician or clinic admin read and change another
clinic's records and promote themselves)."""

import pytest

from aih_tracker.roles import Role
from monitoring.models import Alert, AlertStatus, Severity
from regimens.models import AdherenceRecord, DoseChange, Drug, MedicationCourse
from tests.factories import ClinicFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_a_patient():
    return PatientFactory(clinic=ClinicFactory(slug="clinic-a"), family_name="Original")


def _history_id(obj) -> int:
    return obj.history.latest("history_date").history_id


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.ADMIN])
def test_another_clinics_patient_history_is_not_found(client, clinic_a_patient, role):
    client.force_login(UserFactory(role=role, clinic=ClinicFactory(slug="clinic-b")))
    base = f"/admin/patients/patient/{clinic_a_patient.pk}/history/"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}{_history_id(clinic_a_patient)}/").status_code == 404


@pytest.mark.parametrize("role", [Role.PHYSICIAN, Role.ADMIN])
def test_a_history_form_posted_back_changes_nothing(client, clinic_a_patient, role):
    """Neither another clinic's user nor one of the patient's own clinic can write a history page back."""
    for clinic in (ClinicFactory(slug="clinic-b"), clinic_a_patient.clinic):
        client.force_login(UserFactory(role=role, clinic=clinic))
        url = f"/admin/patients/patient/{clinic_a_patient.pk}/history/{_history_id(clinic_a_patient)}/"
        response = client.post(url, {"family_name": "Overwritten", "mrn": clinic_a_patient.mrn})
        assert response.status_code == 405
    clinic_a_patient.refresh_from_db()
    assert clinic_a_patient.family_name == "Original"


def test_another_clinics_alert_cannot_be_snoozed_through_its_history(client, clinic_a_patient):
    alert = Alert.objects.create(patient=clinic_a_patient, rule_id="MON-01", severity=Severity.HIGH, message="Due")
    client.force_login(UserFactory(role=Role.NURSE, clinic=ClinicFactory(slug="clinic-b")))
    url = f"/admin/monitoring/alert/{alert.pk}/history/{_history_id(alert)}/"
    assert client.get(url).status_code in (403, 404)
    response = client.post(url, {"status": AlertStatus.SNOOZED, "snoozed_until": "2099-01-01"})
    assert response.status_code == 405
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and alert.snoozed_until is None


def test_a_physician_cannot_promote_themselves_through_their_own_history(client):
    physician = UserFactory(role=Role.PHYSICIAN)
    client.force_login(physician)
    url = f"/admin/aih_tracker/user/{physician.pk}/history/{_history_id(physician)}/"
    response = client.post(url, {"username": physician.username, "role": Role.ADMIN, "clinic": physician.clinic_id})
    assert response.status_code == 405
    physician.refresh_from_db()
    assert physician.role == Role.PHYSICIAN


def test_the_own_clinics_history_is_still_readable(client):
    patient = PatientFactory()
    client.force_login(UserFactory(role=Role.PHYSICIAN))
    assert client.get(f"/admin/patients/patient/{patient.pk}/history/").status_code == 200
    assert client.get(f"/admin/patients/patient/{patient.pk}/history/{_history_id(patient)}/").status_code == 200


def test_admin_drop_downs_list_only_the_users_clinic(client, clinic_a_patient):
    drug = Drug.objects.get(code="azathioprine")
    theirs = MedicationCourse.objects.create(patient=clinic_a_patient, drug=drug, started_on="2026-01-05")
    own_patient = PatientFactory()
    ours = MedicationCourse.objects.create(patient=own_patient, drug=drug, started_on="2026-01-05")
    client.force_login(UserFactory(role=Role.NURSE))
    form = client.get("/admin/regimens/adherencerecord/add/").context["adminform"].form
    choices = {str(choice.value) for choice, _ in form.fields["course"].choices if choice}
    assert choices == {str(ours.pk)}
    client.post(
        "/admin/regimens/adherencerecord/add/",
        {"patient": own_patient.pk, "course": theirs.pk, "recorded_on": "2026-02-01", "method": "self_report"},
    )
    assert not AdherenceRecord.objects.filter(course=theirs).exists()


# Clinical decisions are written only through the app's services, where the checks run.
DECISION_ADD_PAGES = [
    "/admin/regimens/medicationcourse/add/",
    "/admin/regimens/dosechange/add/",
    "/admin/regimens/taperplan/add/",
    "/admin/regimens/taperstep/add/",
    "/admin/regimens/prescribingoverride/add/",
    "/admin/monitoring/alert/add/",
]


@pytest.mark.parametrize("url", DECISION_ADD_PAGES)
@pytest.mark.parametrize("superuser", [False, True])
def test_no_one_adds_a_clinical_decision_in_the_admin(client, url, superuser):
    user = UserFactory(role=Role.PHYSICIAN, is_superuser=superuser, is_staff=True)
    client.force_login(user)
    assert client.get(url).status_code == 403


def test_a_physician_cannot_change_a_dose_in_the_admin(client):
    course = MedicationCourse.objects.create(
        patient=PatientFactory(), drug=Drug.objects.get(code="azathioprine"), started_on="2026-01-05"
    )
    dose = DoseChange.objects.create(course=course, effective_on="2026-01-05", dose_mg_per_day=50)
    client.force_login(UserFactory(role=Role.PHYSICIAN))
    url = f"/admin/regimens/dosechange/{dose.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'type="submit" value="Save"' not in page.content.decode()
    client.post(url, {"course": course.pk, "effective_on": "2026-01-05", "dose_mg_per_day": "250"})
    dose.refresh_from_db()
    assert dose.dose_mg_per_day == 50


def test_a_nurse_cannot_snooze_an_alert_past_the_limit_in_the_admin(client):
    """The alert queue's snooze keeps to the clinic's limit and logs an action; the admin does neither."""
    alert = Alert.objects.create(patient=PatientFactory(), rule_id="MON-01", severity=Severity.HIGH, message="Due")
    client.force_login(UserFactory(role=Role.NURSE))
    url = f"/admin/monitoring/alert/{alert.pk}/change/"
    assert client.get(url).status_code == 200  # read, with its actions and history
    response = client.post(url, {"status": AlertStatus.SNOOZED, "snoozed_until": "2099-01-01"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert (alert.status, alert.snoozed_until, alert.version) == (AlertStatus.OPEN, None, 1)
