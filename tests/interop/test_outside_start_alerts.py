"""An outside prescriber's course reaches the nurses' queue with the pre-start checks it missed (issue 14).

clinical-rules.md §2.3 AZA-04 (seed 000, 001: do not start azathioprine with bilirubin >= 6 mg/dL): an
azathioprine course imported from FHIR that started on 3 Nov 2026 with bilirubin 7 mg/dL is an alert
"Azathioprine started on 3 Nov 2026 despite ...". The same course prescribed on the prescribing page
was checked there (and overridden where critical): the queue does not say it again.
"""

from datetime import UTC, date, datetime

import pytest

from aih_tracker.roles import Role
from monitoring.alerts.queue import QueueFilters, queue_alerts
from monitoring.evaluation import evaluate_patients
from monitoring.interop.fhir import import_fhir_text
from monitoring.models import InboundStatus
from patients.models import Patient
from regimens import services
from tests import fhir_builders as fb
from tests.factories import LabResultFactory, PatientFactory, UserFactory, analyte, default_clinic, drug

pytestmark = pytest.mark.django_db

STARTED = date(2026, 11, 3)
AS_OF = date(2026, 11, 10)


def imported_patient() -> Patient:
    """Bilirubin 7 mg/dL on 1 Nov, then an outside prescriber's azathioprine 100 mg/day from 3 Nov (FHIR)."""
    text = fb.bundle(
        fb.observation("1975-2", 7, "mg/dL", when="2026-11-01T08:00:00Z"),
        fb.statement(rxnorm="1256", dosages=[fb.dosage(50, frequency=2)], start=STARTED.isoformat()),
    )
    message = import_fhir_text(text, clinic=default_clinic(), origin="outside.json")
    assert message.status == InboundStatus.ACCEPTED
    return Patient.objects.get(mrn="MAP-1")


def prescribed_patient() -> Patient:
    """The same bilirubin, and azathioprine prescribed on the prescribing page on 3 Nov."""
    patient = PatientFactory()
    LabResultFactory(
        patient=patient,
        analyte=analyte("bilirubin"),
        value=119.7,
        ref_high=21,
        collected_at=datetime(2026, 11, 1, 8, tzinfo=UTC),
    )
    services.start_course(
        patient=patient,
        drug=drug("azathioprine"),
        started_on=STARTED,
        dose_mg_per_day=100,
        prescriber=UserFactory(role=Role.PHYSICIAN),
        override_reason="TPMT sent; discussed with the patient",
    )
    return patient


def nurse_queue(patient: Patient) -> list:
    evaluate_patients([patient.pk], AS_OF)
    nurse = UserFactory(role=Role.NURSE)
    return [a for a in queue_alerts(nurse, QueueFilters()) if a.patient_id == patient.pk]


@pytest.mark.parametrize(
    ("make", "told"),
    [
        pytest.param(imported_patient, True, id="clinical-rules.md AZA-04: FHIR import, started despite"),
        pytest.param(prescribed_patient, False, id="clinical-rules.md AZA-04: prescribed in the app, not again"),
    ],
)
def test_an_outside_start_reaches_the_nurses_queue(make, told):
    alerts = [a for a in nurse_queue(make()) if a.rule_id == "AZA-04"]
    assert [
        a.message.startswith("Azathioprine started on 3 Nov 2026 despite: Bilirubin 119.7 µmol/L") for a in alerts
    ] == ([True] if told else [])
