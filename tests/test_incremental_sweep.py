"""The nightly sweep evaluates exactly the patients whose findings may have changed (issue 3, speed).

Due: never evaluated; data changed since (any path: service, admin, plain ORM save or delete); the
horizon of the last evaluation reached (a date-driven rule may flip); the rules, the clinic's parameters
or reference ranges changed; a snoozed alert's snooze ended; the safety-net maximum age reached.
And the proof that skipping is safe: after every nightly sweep, the stored alerts are what a full
evaluation of every patient gives that day.
"""

from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import F

from aih_tracker.models import Clinic
from monitoring.alerts.reconcile import _content
from monitoring.changes import mark_changed
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.engine.evaluate import evaluate
from monitoring.engine.loader import load_timelines
from monitoring.evaluation import due_patient_ids, evaluate_patients, sweep
from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import Alert, AlertStatus, ClinicalParameter, EvaluationState, LabResult, ReferenceInterval
from patients.demo_cohort import SCENARIOS, seed_demo_cohort
from patients.models import DexaScan, Patient, WeightMeasurement
from regimens.models import DoseChange
from tests.factories import PatientFactory, analyte
from tests.test_evaluation import insufficient_responder

pytestmark = pytest.mark.django_db

DAY = date(2025, 8, 1)


def evaluated(patient, on=DAY):
    evaluate_patients([patient.pk], on)
    return EvaluationState.objects.get(pk=patient.pk)


def test_a_patient_never_evaluated_is_due_and_an_evaluated_one_is_not():
    patient = insufficient_responder()
    assert due_patient_ids(DAY) == [patient.pk]
    state = evaluated(patient)
    assert state.evaluated_on == DAY and state.holds_until > DAY
    assert due_patient_ids(DAY) == []


def test_due_again_on_the_day_the_horizon_ends_not_before():
    patient = PatientFactory(mrn="QUIET")  # no data: nothing can change but the safety net
    state = evaluated(patient)
    assert 21 <= (state.holds_until - DAY).days <= 28  # settings.AIH_EVALUATION_MAX_HOLD_DAYS, spread
    assert due_patient_ids(state.holds_until - timedelta(days=1)) == []
    assert due_patient_ids(state.holds_until) == [patient.pk]


def test_the_safety_net_is_spread_so_a_full_sweep_does_not_come_due_in_one_night():
    from monitoring.evaluation import hold_days_for

    days = {hold_days_for(patient_id, DAY) for patient_id in range(1, 200)}
    assert days == set(range(21, 29))  # every length in the last quarter of the 28 days


def test_a_date_driven_rule_sets_the_horizon_to_its_day():
    # RESP-02 fires at the 6-month checkpoint, 2025-07-06: evaluated the day before, it holds one day.
    patient = insufficient_responder()
    state = evaluated(patient, date(2025, 7, 5))
    assert state.holds_until == date(2025, 7, 6)
    assert due_patient_ids(date(2025, 7, 6)) == [patient.pk]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda p: record_lab_result(
                patient=p, lab=LabValue(analyte("alt"), 50, "U/L", datetime(2025, 7, 30, 9, tzinfo=UTC))
            ),
            id="lab recorded through the service",
        ),
        pytest.param(
            lambda p: WeightMeasurement.objects.create(patient=p, measured_on=date(2025, 7, 30), weight_kg=70),
            id="weight saved through the ORM only",
        ),
        pytest.param(lambda p: LabResult.objects.filter(patient=p).first().delete(), id="lab deleted"),
        pytest.param(
            lambda p: DoseChange.objects.filter(course__patient=p).first().save(),
            id="dose change saved through the ORM (via its course)",
        ),
        pytest.param(lambda p: Patient.objects.get(pk=p.pk).save(), id="patient record saved"),
    ],
)
def test_any_change_to_the_data_makes_the_patient_due(change):
    patient = insufficient_responder()
    evaluated(patient)
    with transaction.atomic():
        change(patient)
    assert due_patient_ids(DAY) == [patient.pk]
    evaluated(patient)
    assert due_patient_ids(DAY) == []


def test_a_change_committed_while_the_evaluation_ran_leaves_the_patient_due():
    patient = insufficient_responder()
    evaluated(patient)
    from monitoring import evaluation

    real_load = evaluation.load_for_evaluation

    def load_then_change(*args):
        loaded = real_load(*args)
        # Another connection commits new data (and its mark) after the evaluation read the timeline.
        EvaluationState.objects.filter(pk=patient.pk).update(data_version=F("data_version") + 1)
        return loaded

    with mock.patch.object(evaluation, "load_for_evaluation", load_then_change):
        evaluate_patients([patient.pk], DAY)
    assert due_patient_ids(DAY) == [patient.pk]


def test_a_mark_rolled_back_with_its_savepoint_is_made_again():
    patient = insufficient_responder()
    evaluated(patient)
    with transaction.atomic():
        with suppress(RuntimeError), transaction.atomic():
            mark_changed([patient.pk])
            raise RuntimeError("this message failed")
        mark_changed([patient.pk])  # the next message for the same patient succeeds
    assert due_patient_ids(DAY) == [patient.pk]


def test_a_parameter_change_makes_the_clinics_patients_due():
    patient = insufficient_responder()
    evaluated(patient)
    ClinicalParameter.objects.create(clinic=patient.clinic, key="cbr_deadline_months", value=9)
    assert due_patient_ids(DAY) == [patient.pk]


def open_rules(patient):
    return set(Alert.objects.filter(patient=patient, status=AlertStatus.OPEN).values_list("rule_id", flat=True))


def test_a_parameter_saved_in_this_process_is_used_by_the_next_evaluation():
    patient = insufficient_responder()
    evaluated(patient)
    assert "RESP-02" in open_rules(patient)  # no complete response by month 6
    ClinicalParameter.objects.create(clinic=patient.clinic, key="cbr_deadline_months", value=9, reason="trial")
    evaluated(patient)  # within the minute the basis is otherwise remembered for
    assert "RESP-02" not in open_rules(patient)  # month 7 of 9
    assert due_patient_ids(DAY) == []


def test_a_parameter_saved_by_another_process_leaves_the_patients_due_until_evaluated_with_it():
    # Evaluations remember the basis for a minute; one that used the old parameters records the old
    # digest, so the sweep evaluates the patient again.
    patient = insufficient_responder()
    evaluated(patient)
    ClinicalParameter.objects.bulk_create(  # no signals: as seen from another process
        [ClinicalParameter(clinic=patient.clinic, key="cbr_deadline_months", value=9, reason="trial")]
    )
    evaluated(patient)
    assert "RESP-02" in open_rules(patient)  # this process still used 6 months
    assert due_patient_ids(DAY) == [patient.pk]
    sweep(as_of=DAY)
    assert "RESP-02" not in open_rules(patient)
    assert due_patient_ids(DAY) == []


def test_a_patient_of_a_clinic_newer_than_the_remembered_basis_is_evaluated_and_left_due():
    evaluated(PatientFactory(mrn="FIRST"))  # the basis is now remembered
    (clinic,) = Clinic.objects.bulk_create([Clinic(slug="new", name="New clinic")])  # no signals
    patient = insufficient_responder(mrn="NEW-1")
    Patient.objects.filter(pk=patient.pk).update(clinic=clinic)
    state = evaluated(patient)
    assert state.basis == ""  # its clinic's basis was read after its data: not recorded as current
    assert "RESP-02" in open_rules(patient)
    assert due_patient_ids(DAY) == [patient.pk]
    evaluated(patient)
    assert due_patient_ids(DAY) == []


def test_in_a_batch_with_a_new_clinic_the_others_keep_the_basis_read_before_their_data():
    known = insufficient_responder()
    evaluated(known)  # the basis is now remembered
    ClinicalParameter.objects.bulk_create(  # another process changes the known clinic's parameters...
        [ClinicalParameter(clinic=known.clinic, key="cbr_deadline_months", value=9, reason="trial")]
    )
    (clinic,) = Clinic.objects.bulk_create([Clinic(slug="new", name="New clinic")])  # ...and adds a clinic
    newcomer = insufficient_responder(mrn="NEW-1")
    Patient.objects.filter(pk=newcomer.pk).update(clinic=clinic)
    evaluate_patients([known.pk, newcomer.pk], DAY)  # reads the basis again for the new clinic
    assert "RESP-02" in open_rules(known)  # evaluated with the remembered 6 months...
    assert due_patient_ids(DAY) == [known.pk, newcomer.pk]  # ...so not recorded as current
    sweep(as_of=DAY)
    assert "RESP-02" not in open_rules(known)
    assert due_patient_ids(DAY) == []


def test_a_reference_range_change_makes_the_clinics_patients_due():
    patient = insufficient_responder()
    evaluated(patient)
    ReferenceInterval.objects.create(clinic=patient.clinic, analyte=analyte("alt"), high=35)
    assert due_patient_ids(DAY) == [patient.pk]


def test_a_rules_change_makes_everyone_due():
    patient = insufficient_responder()
    evaluated(patient)
    with mock.patch("monitoring.engine.basis.rules_fingerprint", return_value="new release"):
        assert due_patient_ids(DAY) == [patient.pk]


def test_an_ended_snooze_makes_the_patient_due():
    patient = insufficient_responder()
    DexaScan.objects.create(patient=patient, scanned_on=date(2025, 1, 20))  # no daily "N days without DEXA"
    state = evaluated(patient, date(2025, 7, 7))
    assert (state.holds_until - state.evaluated_on).days > 2  # nothing else makes the patient due meanwhile
    snooze_end = state.evaluated_on + timedelta(days=2)
    alert = Alert.objects.get(patient=patient, rule_id="RESP-02")
    Alert.objects.filter(pk=alert.pk).update(
        status=AlertStatus.SNOOZED, snoozed_until=snooze_end, snooze_reason="repeat bloods booked"
    )
    assert due_patient_ids(snooze_end - timedelta(days=1)) == []
    assert due_patient_ids(snooze_end) == [patient.pk]
    sweep(as_of=snooze_end)
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN  # woke up: the finding still holds


def test_an_as_of_before_the_last_evaluation_is_due():
    patient = insufficient_responder()
    evaluated(patient)
    assert due_patient_ids(DAY - timedelta(days=1)) == [patient.pk]


def test_discharged_patients_are_not_swept():
    PatientFactory(mrn="GONE", status="discharged")
    assert due_patient_ids(DAY) == []


SEEDED_ON = date(2026, 9, 1)


def stored(patient_ids):
    alerts = Alert.objects.filter(patient_id__in=patient_ids).exclude(status=AlertStatus.RESOLVED)
    return {(a.patient_id, a.rule_id): (a.severity, a.message, a.evidence) for a in alerts}


def full_evaluation(patient_ids, on):
    timelines = load_timelines(patient_ids)
    findings = {}
    for timeline in timelines.values():
        params = parameters_for_clinic(timeline.clinic_id)
        for finding in evaluate(timeline, on, params).findings:
            content = _content(finding)
            findings[(timeline.patient_id, finding.rule_id)] = (
                content["severity"],
                content["message"],
                content["evidence"],
            )
    return findings


def test_after_every_nightly_sweep_the_alerts_are_what_a_full_evaluation_gives():
    """Two months of nights over the demo scenarios and a random mix, with new results arriving on
    some days: the incremental sweep skips most patients most nights and still misses nothing."""
    seed_demo_cohort(patients=len(SCENARIOS) + 14, seed=3, as_of=SEEDED_ON)
    ids = list(Patient.objects.active().values_list("pk", flat=True))
    alt = analyte("alt")
    skipped = 0
    for night in range(60):
        today = SEEDED_ON + timedelta(days=night)
        if night % 9 == 4:  # a result arrives for a few patients (the queued evaluation is lost)
            for pid in ids[night % 5 :: 7]:
                record_lab_result(
                    patient=Patient.objects.get(pk=pid),
                    lab=LabValue(alt, 40 + night, "U/L", datetime.combine(today, datetime.min.time(), UTC)),
                )
        skipped += len(ids) - len(due_patient_ids(today))
        sweep(as_of=today)
        assert stored(ids) == full_evaluation(ids, today), f"night {night} ({today})"
    assert skipped > len(ids) * 60 // 2  # most patients were skipped most nights
