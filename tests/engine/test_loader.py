"""The loader builds timelines for many patients with a fixed number of queries."""

from collections import defaultdict
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring.engine.loader import TIMELINE_TABLES, load_timelines
from monitoring.engine.timeline import Course, Dose, Lab, Timeline
from monitoring.models import LabResult, ReferenceInterval, ResultStatus
from patients.demo_cohort import SCENARIOS, seed_demo_cohort
from patients.models import (
    AcuteSevereEpisode,
    Autoantibody,
    ContraceptionRecord,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Malignancy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyTest,
    Relapse,
    Sex,
    Vaccination,
    Visit,
    WeightMeasurement,
)
from regimens.models import AdherenceRecord, AdverseEvent, DoseChange, MedicationCourse, PrescribingOverride
from tests.factories import CourseFactory, LabResultFactory, PatientFactory, UserFactory, analyte, default_clinic, drug

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


# -- the combined query against the tables read one by one ----------------------------------------


def reference_timelines(ids) -> dict:
    """What the loader must return, built the plain way: one ORM query per table, courses and doses apart."""
    doses = defaultdict(list)
    for course_id, on, mg in (
        DoseChange.objects.filter(course__patient_id__in=ids)
        .order_by("course_id", "effective_on", "pk")
        .values_list("course_id", "effective_on", "dose_mg_per_day")
    ):
        doses[course_id].append(Dose(on, mg))
    overridden = defaultdict(set)
    for course_id, rule_id in PrescribingOverride.objects.filter(patient_id__in=ids).values_list(
        "course_id", "rule_id"
    ):
        overridden[course_id].add(rule_id)
    courses = defaultdict(list)
    for pid, pk, code, drug_class, start, stop, reason, equivalent, in_app in (
        MedicationCourse.objects.filter(patient_id__in=ids)
        .order_by("started_on", "pk")
        .values_list(
            "patient_id",
            "pk",
            "drug__code",
            "drug__drug_class",
            "started_on",
            "stopped_on",
            "stop_reason",
            "drug__prednisolone_equivalent",
            "prescribed_in_app",
        )
    ):
        courses[pid].append(
            Course(
                pk,
                code,
                drug_class,
                start,
                stop,
                reason,
                tuple(doses[pk]),
                equivalent,
                prescribed_in_app=in_app,
                overridden_rules=frozenset(overridden[pk]),
            )
        )
    events = {}
    for table in TIMELINE_TABLES:
        events[table.name] = defaultdict(list)
        for pid, *columns in table.queryset(ids):
            events[table.name][pid].append(table.make(*columns))
    timelines = {}
    for patient in Patient.objects.filter(pk__in=ids).select_related():
        labs = defaultdict(list)
        for result in (
            LabResult.objects.filter(patient=patient)
            .exclude(status=ResultStatus.PRELIMINARY)
            .order_by("analyte_id", "collected_at")
        ):
            labs[result.analyte.code].append(reference_lab(patient, result))
        timelines[patient.pk] = Timeline(
            patient_id=patient.pk,
            clinic_id=patient.clinic_id,
            mrn=patient.mrn,
            sex=patient.sex,
            date_of_birth=patient.date_of_birth,
            status=patient.status,
            aih_type=patient.aih_type,
            diagnosis_date=patient.diagnosis_date,
            cirrhosis_on=patient.cirrhosis_diagnosed_on,
            portosystemic_shunt=patient.portosystemic_shunt,
            advanced_fibrosis=patient.advanced_fibrosis,
            reproductive_potential=patient.reproductive_potential,
            viral_hepatitis_excluded=patient.viral_hepatitis_excluded,
            transplanted_on=patient.liver_transplant_on,
            labs={code: tuple(series) for code, series in labs.items()},
            courses=tuple(courses[patient.pk]),
            **{field: tuple(by_patient[patient.pk]) for field, by_patient in events.items()},
        )
    return timelines


def reference_lab(patient, result) -> Lab:
    """§0A A-12: the reported range, else the clinic's interval (the patient's sex, else any), else typical."""
    on = timezone.localtime(result.collected_at).date()
    if result.ref_low is not None or result.ref_high is not None:
        return Lab(on, result.value, result.ref_high, result.ref_low, "reported")
    for sex in (patient.sex, "any"):
        interval = ReferenceInterval.objects.filter(clinic=patient.clinic, analyte=result.analyte, sex=sex).first()
        if interval:
            return Lab(on, result.value, interval.high, interval.low, "clinic")
    high = result.analyte.typical_uln(patient.sex)
    return Lab(on, result.value, high, result.analyte.typical_low, "typical" if high is not None else "none")


def patient_with_a_row_in_every_table() -> Patient:
    """Nulls and flags both ways, same-day ties, a float that 15 digits do not hold, a course without doses."""
    patient = PatientFactory(
        sex=Sex.MALE,
        cirrhosis_diagnosed_on=date(2020, 1, 1),
        cirrhosis_basis="histology",
        viral_hepatitis_excluded=None,
        liver_transplant_on=date(2024, 11, 4),
    )
    course = CourseFactory(
        patient=patient, started_on=date(2024, 1, 1), stopped_on=date(2024, 6, 1), stop_reason="switch"
    )
    DoseChange.objects.create(course=course, effective_on=date(2024, 2, 1), dose_mg_per_day=20)
    DoseChange.objects.create(course=course, effective_on=date(2024, 1, 1), dose_mg_per_day=40)
    aza = CourseFactory(patient=patient, drug=drug("azathioprine"), started_on=date(2024, 1, 1), prescribed_in_app=True)
    for rule_id in ("AZA-01", "AZA-04"):
        PrescribingOverride.objects.create(
            patient=patient,
            course=aza,
            rule_id=rule_id,
            severity="critical",
            finding_message="...",
            reason="discussed",
            overridden_by=UserFactory(),
        )
    ReferenceInterval.objects.create(clinic=default_clinic(), analyte=analyte("alt"), sex="male", high=33)
    LabResultFactory(patient=patient, collected_at=datetime(2025, 1, 5, 23, 30, tzinfo=UTC), ref_high=None)
    LabResultFactory(patient=patient, analyte=analyte("ggt"), ref_high=None, ref_low=None)
    LabResultFactory(patient=patient, analyte=analyte("igg"), ref_low=7, ref_high=16, value=1 / 3)
    day = date(2024, 3, 1)
    WeightMeasurement.objects.create(patient=patient, measured_on=day, weight_kg=70 + 1 / 3)
    WeightMeasurement.objects.create(patient=patient, measured_on=day - timedelta(days=9), weight_kg=71)
    PharmacogeneticTest.objects.create(
        patient=patient, gene="tpmt", phenotype="normal", tested_on=day, activity=12.5, activity_unit="U/mL RBC"
    )
    PharmacogeneticTest.objects.create(patient=patient, gene="nudt15", phenotype="normal", tested_on=day)
    PregnancyEpisode.objects.create(patient=patient, started_on=day, ended_on=day + timedelta(days=200))
    PregnancyEpisode.objects.create(patient=patient, kind="planned", started_on=day + timedelta(days=400))
    ContraceptionRecord.objects.create(patient=patient, method="iud", started_on=day)
    PregnancyTest.objects.create(patient=patient, tested_on=day, result="negative")
    HepatitisImmunity.objects.create(patient=patient, virus="hbv", status="immune_vaccinated", tested_on=day)
    HepatitisImmunity.objects.create(patient=patient, virus="hav", status="immune_natural", tested_on=day)
    Vaccination.objects.create(patient=patient, vaccine="hbv", given_on=day)
    DexaScan.objects.create(patient=patient, scanned_on=day)
    LiverBiopsy.objects.create(patient=patient, performed_on=day, hai=9, fibrosis_stage=3, histology="typical")
    LiverBiopsy.objects.create(patient=patient, performed_on=day + timedelta(days=1))
    AcuteSevereEpisode.objects.create(patient=patient, presented_on=day, steroid_day0=day, hepatic_encephalopathy=True)
    AcuteSevereEpisode.objects.create(
        patient=patient, presented_on=day + timedelta(days=90), ended_on=day + timedelta(days=99)
    )
    Visit.objects.create(
        patient=patient, visit_date=day, ascites="mild", encephalopathy_grade=2, jaundice=True, varices=False
    )
    Visit.objects.create(patient=patient, visit_date=day, splenomegaly=True)
    Malignancy.objects.create(patient=patient, kind="skin", diagnosed_on=day)
    Relapse.objects.create(patient=patient, diagnosed_on=day, after_withdrawal=True)
    Relapse.objects.create(patient=patient, diagnosed_on=day + timedelta(days=5))
    AdverseEvent.objects.create(patient=patient, course=course, onset_on=day, kind="nausea", description="after doses")
    AdverseEvent.objects.create(patient=patient, onset_on=day, kind="rash")
    Autoantibody.objects.create(patient=patient, antibody="sma", positive=True, titre=160, tested_on=day)
    Autoantibody.objects.create(patient=patient, antibody="ana", positive=False, tested_on=day)
    AdherenceRecord.objects.create(patient=patient, recorded_on=day, method="pill_count", missed_doses=3)
    AdherenceRecord.objects.create(patient=patient, recorded_on=day, method="self_report", lapse_reason="moved")
    return patient


@pytest.fixture
def demo_and_rich_patients():
    seed_demo_cohort(patients=len(SCENARIOS), seed=1, as_of=date(2026, 11, 2))
    patient_with_a_row_in_every_table()
    return list(Patient.objects.order_by("pk").values_list("pk", flat=True))


def test_timelines_match_the_tables_read_one_by_one(demo_and_rich_patients):
    ids = demo_and_rich_patients
    loaded = load_timelines(ids)
    expected = reference_timelines(ids)
    assert list(loaded) == ids
    for pid in ids:
        assert repr(loaded[pid]) == repr(expected[pid])  # repr: equal values of the same types (7 is not 7.0)


def test_the_comparison_covers_every_timeline_field(demo_and_rich_patients):
    loaded = load_timelines(demo_and_rich_patients).values()
    empty = [f.name for f in fields(Timeline) if not any(getattr(timeline, f.name) for timeline in loaded)]
    assert empty == []


def test_same_day_rows_keep_the_order_they_were_entered_in():
    patient = patient_with_a_row_in_every_table()
    timeline = load_timelines([patient.pk])[patient.pk]
    assert [a.kind for a in timeline.autoantibodies] == ["sma", "ana"]
    assert [i.kind for i in timeline.immunity] == ["hbv", "hav"]


def test_one_patient_takes_three_queries_and_two_more_for_results_without_limits():
    # The patient's tables (one UNION ALL), the analyte codes, the labs; the clinic's intervals
    # and the analytes' typical values only because some of this patient's results report no limits.
    patient = patient_with_a_row_in_every_table()
    assert count_queries([patient.pk]) == 5
    LabResult.objects.filter(patient=patient, ref_low=None, ref_high=None).update(ref_high=40)
    assert count_queries([patient.pk]) == 3


def test_timelines_come_in_the_order_asked_for_and_unknown_ids_are_left_out():
    first, second = PatientFactory(), PatientFactory()
    assert list(load_timelines([second.pk, 0, first.pk, second.pk])) == [second.pk, first.pk]


def test_on_postgresql_the_statements_are_prepared_once_and_planned_once_for_any_patients():
    # Re-evaluating one patient after a new result runs the loader again and again: PostgreSQL parses
    # and plans its statements once per connection (settings: prepare_threshold, plan_cache_mode),
    # whatever the patients (their ids are one parameter). SQLite keeps no plans between statements.
    patients = [patient_with_history() for _ in range(3)]
    with CaptureQueriesContext(connection) as one:
        load_timelines([patients[0].pk])
    with CaptureQueriesContext(connection) as three:
        timelines = load_timelines([p.pk for p in patients])
    assert [len(t.labs["alt"]) for t in timelines.values()] == [3, 3, 3]
    if connection.vendor != "postgresql":
        return
    assert [q["sql"] for q in one.captured_queries] == [q["sql"] for q in three.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements WHERE NOT from_sql")
        plans = {("UNION ALL" in sql, "monitoring_labresult" in sql): (g, c) for sql, g, c in cursor.fetchall()}
    assert plans[(True, False)] == (2, 0)  # the patient tables: planned generically, not per patient
    assert plans[(False, True)] == (2, 0)  # the lab results
