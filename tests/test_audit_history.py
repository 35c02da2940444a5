"""Every change to clinical data is recorded: who, when, old and new values."""

import pytest

from aih_tracker.roles import Role
from patients.models import Patient

pytestmark = pytest.mark.django_db


def test_a_change_made_in_the_admin_records_who_and_what(client, make_user):
    staff = make_user(Role.STAFF)
    client.force_login(staff)
    response = client.post(
        "/admin/patients/patient/add/",
        {
            "mrn": "H-100",
            "family_name": "Smith",
            "given_name": "Ann",
            "date_of_birth": "1970-02-03",
            "sex": "female",
            "status": "active",
            "aih_type": "type1",
            "reproductive_potential": "no",
            "portosystemic_shunt": "none",
            "autoantibody_set-TOTAL_FORMS": "0",
            "autoantibody_set-INITIAL_FORMS": "0",
            "pharmacogenetictest_set-TOTAL_FORMS": "0",
            "pharmacogenetictest_set-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    patient = Patient.objects.get(mrn="H-100")
    assert patient.clinic == staff.clinic

    patient.family_name = "Smith-Jones"
    patient._history_user = staff
    patient.save()

    newest, created = patient.history.all()[:2]
    assert created.history_type == "+"
    assert created.history_user == staff
    diff = newest.diff_against(created)
    assert [(c.field, c.old, c.new) for c in diff.changes] == [("family_name", "Smith", "Smith-Jones")]


def test_history_is_visible_in_the_admin_to_a_physician(client, make_user):
    from tests.factories import PatientFactory

    patient = PatientFactory(family_name="Before")
    patient.family_name = "After"
    patient.save()
    client.force_login(make_user(Role.PHYSICIAN))
    page = client.get(f"/admin/patients/patient/{patient.pk}/history/").content.decode()
    assert "Before" in page or "After" in page
    assert "Changed" in page or "family name" in page.lower()
