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


def test_results_stored_in_bulk_get_the_history_rows_simple_history_would_write(make_user):
    from datetime import UTC, datetime

    from monitoring.labs.services import LabValue, NewLabResult, record_lab_results
    from monitoring.models import Analyte, LabResult, LabSource
    from tests.factories import PatientFactory

    nurse, patient = make_user(Role.NURSE), PatientFactory()
    alt, albumin = Analyte.objects.get(code="alt"), Analyte.objects.get(code="albumin")
    when = datetime(2025, 3, 4, 8, 30, tzinfo=UTC)
    created = record_lab_results(
        [
            NewLabResult(patient, LabValue(alt, 54, "U/L", when, 0, 40), LabSource.HL7, "L|O1|LN^1742-6|1"),
            NewLabResult(patient, LabValue(albumin, 4.1, "g/dL", when), LabSource.HL7, "L|O1|LN^1751-7|2"),
        ],
        entered_by=nurse,
    )

    tracked = [field.attname for field in LabResult.history.model.tracked_fields]
    extra = ["history_type", "history_change_reason", "history_user_id"]
    written = sorted(LabResult.history.values_list(*tracked, *extra))
    LabResult.history.all().delete()
    LabResult.history.bulk_history_create(created, default_user=nurse)  # what simple_history writes
    assert written == sorted(LabResult.history.values_list(*tracked, *extra))
    assert [row[-3:] for row in written] == [("+", "", nurse.pk)] * 2
