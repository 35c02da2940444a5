"""Bad rows are refused by the database itself, not only by forms."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction

from monitoring.models import Alert, AlertStatus, ReferenceInterval, Resolution, Severity
from patients.models import LiverBiopsy, Patient, Visit, WeightMeasurement
from regimens.models import DoseChange, StopReason
from tests.factories import CourseFactory, LabResultFactory, PatientFactory, analyte, default_clinic

pytestmark = pytest.mark.django_db


def refused(make_row) -> bool:
    try:
        with transaction.atomic():
            make_row()
    except IntegrityError:
        return True
    return False


def test_mrn_is_unique_within_a_clinic():
    PatientFactory(mrn="A1")
    assert refused(lambda: PatientFactory(mrn="A1"))


def test_same_mrn_is_allowed_in_another_clinic():
    from tests.factories import ClinicFactory

    PatientFactory(mrn="A1")
    other = PatientFactory(mrn="A1", clinic=ClinicFactory())
    assert other.pk


def test_cirrhosis_needs_both_date_and_basis():
    assert refused(lambda: PatientFactory(cirrhosis_diagnosed_on=date(2024, 1, 1)))
    assert refused(lambda: PatientFactory(cirrhosis_basis="histology"))
    assert PatientFactory(cirrhosis_diagnosed_on=date(2024, 1, 1), cirrhosis_basis="histology").has_cirrhosis


def test_diagnosis_cannot_precede_birth():
    assert refused(lambda: PatientFactory(date_of_birth=date(1990, 1, 1), diagnosis_date=date(1989, 1, 1)))


def test_course_cannot_stop_before_it_starts():
    assert refused(
        lambda: CourseFactory(started_on=date(2025, 3, 1), stopped_on=date(2025, 2, 1), stop_reason=StopReason.OTHER)
    )


def test_stopped_course_needs_a_reason_and_a_reason_needs_a_stop():
    assert refused(lambda: CourseFactory(stopped_on=date(2025, 6, 1)))
    assert refused(lambda: CourseFactory(stop_reason=StopReason.REMISSION))


def test_stopping_for_intolerance_names_the_adverse_event():
    assert refused(lambda: CourseFactory(stopped_on=date(2025, 6, 1), stop_reason=StopReason.INTOLERANCE))


def test_dose_cannot_be_negative_and_one_change_per_day():
    course = CourseFactory()
    assert refused(lambda: DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=-5))
    DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=40)
    assert refused(lambda: DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=30))


def test_lab_value_cannot_be_negative():
    assert refused(lambda: LabResultFactory(value=-1))


def test_reference_range_cannot_be_inverted():
    assert refused(lambda: LabResultFactory(ref_low=50, ref_high=40))
    assert refused(
        lambda: ReferenceInterval.objects.create(clinic=default_clinic(), analyte=analyte("alt"), low=40, high=10)
    )


def test_the_same_source_result_is_stored_once():
    LabResultFactory(source="hl7", source_id="MSG1-OBX1")
    patient = Patient.objects.get()
    assert refused(lambda: LabResultFactory(patient=patient, source="hl7", source_id="MSG1-OBX1"))


def test_weight_must_be_plausible():
    patient = PatientFactory()
    assert refused(lambda: WeightMeasurement.objects.create(patient=patient, measured_on=date.today(), weight_kg=0))
    assert refused(lambda: WeightMeasurement.objects.create(patient=patient, measured_on=date.today(), weight_kg=900))


def test_encephalopathy_grade_stops_at_four():
    patient = PatientFactory()
    assert refused(lambda: Visit.objects.create(patient=patient, visit_date=date.today(), encephalopathy_grade=5))


def test_biopsy_hai_is_out_of_18():
    patient = PatientFactory()
    assert refused(lambda: LiverBiopsy.objects.create(patient=patient, performed_on=date.today(), hai=19))


def test_only_one_unresolved_alert_per_patient_and_rule():
    patient = PatientFactory()
    Alert.objects.create(patient=patient, rule_id="MON-01", episode=1, severity=Severity.HIGH, message="Bloods overdue")
    assert refused(
        lambda: Alert.objects.create(
            patient=patient, rule_id="MON-01", episode=2, severity=Severity.HIGH, message="Bloods overdue"
        )
    )


def test_snoozing_needs_a_date_and_a_reason():
    patient = PatientFactory()
    assert refused(
        lambda: Alert.objects.create(
            patient=patient,
            rule_id="MON-01",
            severity=Severity.HIGH,
            message="Bloods overdue",
            status=AlertStatus.SNOOZED,
            snoozed_until=date.today() + timedelta(days=7),
        )
    )


def test_a_clinician_resolution_needs_a_note():
    from django.utils import timezone

    patient = PatientFactory()
    assert refused(
        lambda: Alert.objects.create(
            patient=patient,
            rule_id="MON-01",
            severity=Severity.HIGH,
            message="Bloods overdue",
            status=AlertStatus.RESOLVED,
            resolution=Resolution.BY_USER,
            resolved_at=timezone.now(),
        )
    )
