"""The loader builds timelines for many patients with a fixed number of queries."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from monitoring.loader import load_timelines
from monitoring.models import ReferenceInterval, ResultStatus
from patients.models import Sex
from regimens.models import DoseChange
from tests.factories import CourseFactory, LabResultFactory, PatientFactory, analyte, default_clinic

pytestmark = pytest.mark.django_db


def patient_with_history():
    patient = PatientFactory()
    course = CourseFactory(patient=patient)
    DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=40)
    for month in range(1, 4):
        LabResultFactory(patient=patient, collected_at=datetime(2025, month, 5, 9, tzinfo=UTC), value=80 - month)
    return patient


def count_queries(ids) -> int:
    with CaptureQueriesContext(connection) as queries:
        load_timelines(ids)
    return len(queries)


def test_query_count_is_the_same_for_10_and_200_patients():
    ids = [patient_with_history().pk for _ in range(200)]
    assert count_queries(ids[:10]) == count_queries(ids)


def test_timeline_holds_labs_courses_and_doses_in_order():
    patient = patient_with_history()
    timeline = load_timelines([patient.pk])[patient.pk]
    assert [lab.value for lab in timeline.labs["alt"]] == [79, 78, 77]
    assert timeline.labs["alt"][0].on == date(2025, 1, 5)
    assert timeline.courses[0].drug == "prednisolone"
    assert timeline.courses[0].dose_on(date(2025, 2, 1)) == 40


def test_preliminary_results_are_left_out():
    patient = PatientFactory()
    LabResultFactory(patient=patient, status=ResultStatus.PRELIMINARY)
    assert load_timelines([patient.pk])[patient.pk].labs == {}


def test_a_result_without_limits_takes_the_clinics_interval_for_the_patients_sex():
    # clinical-rules.md §0A A-12: reported ULN, else the clinic's interval (by sex), else typical
    patient = PatientFactory(sex=Sex.MALE)
    ReferenceInterval.objects.create(clinic=default_clinic(), analyte=analyte("alt"), sex="male", high=33)
    ReferenceInterval.objects.create(clinic=default_clinic(), analyte=analyte("alt"), sex="female", high=25)
    LabResultFactory(patient=patient, ref_high=None, ref_low=None)
    lab = load_timelines([patient.pk])[patient.pk].labs["alt"][0]
    assert (lab.uln, lab.range_source) == (33, "clinic")


def test_without_any_interval_the_typical_value_is_used_and_marked():
    patient = PatientFactory(sex=Sex.FEMALE)
    LabResultFactory(patient=patient, analyte=analyte("ggt"), ref_high=None, ref_low=None)
    lab = load_timelines([patient.pk])[patient.pk].labs["ggt"][0]
    assert (lab.uln, lab.range_source) == (40, "typical")  # §4.1: GGT ~40 (F)


def test_the_reported_range_wins():
    patient = PatientFactory()
    ReferenceInterval.objects.create(clinic=default_clinic(), analyte=analyte("alt"), high=33)
    LabResultFactory(patient=patient, ref_high=45)
    lab = load_timelines([patient.pk])[patient.pk].labs["alt"][0]
    assert (lab.uln, lab.range_source) == (45, "reported")
