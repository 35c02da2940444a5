"""One patient's bad data never silences the others (issue: a reference range of 0-0 raised in the
engine and took the whole nightly chunk of 500 patients with it). The failure is visible instead: an
alert in the nurses' queue for that patient, their other alerts left as they were, and the patient
kept due so that the next evaluation tries again."""

from datetime import UTC, date, datetime

import pytest

from monitoring import evaluation
from monitoring.evaluation import EVALUATION_FAILED, evaluate_patients
from monitoring.models import Alert, AlertStatus, EvaluationState, LabResult
from tests.factories import LabResultFactory
from tests.test_evaluation import insufficient_responder

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 7, 10)


def open_alerts(patient_ids) -> set[tuple[int, str, str]]:
    alerts = Alert.objects.filter(patient_id__in=patient_ids).exclude(status=AlertStatus.RESOLVED)
    return set(alerts.values_list("patient_id", "rule_id", "message"))


@pytest.fixture
def chunk():
    return [insufficient_responder(mrn=f"IR-{n}") for n in range(8)]


POISON_VALUE = 95.5  # marks the poisoned result


def poison(patient) -> LabResult:
    """A result the engine cannot evaluate. A range of 0-0 used to be one (the ULN the engine divided by was
    0); it is now refused on entry and treated as no ULN (tests/labs/test_impossible_ranges.py), so the
    failure is simulated: evaluating a patient who has this result raises, as a rule's bug would."""
    return LabResultFactory(patient=patient, value=POISON_VALUE, collected_at=datetime(2025, 7, 2, tzinfo=UTC))


@pytest.fixture(autouse=True)
def poisoned_results_raise(monkeypatch):
    real = evaluation.evaluate

    def evaluate(timeline, *args, **kwargs):
        if any(lab.value == POISON_VALUE for labs in timeline.labs.values() for lab in labs):
            raise ZeroDivisionError("float division by zero")
        return real(timeline, *args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", evaluate)


def test_one_failing_patient_leaves_the_others_evaluated_and_shows_in_the_queue(chunk, caplog):
    ids = [p.pk for p in chunk]
    evaluate_patients(ids, AS_OF)
    before = open_alerts(ids)
    poisoned = chunk[3]
    assert {rule for pid, rule, _ in before if pid == poisoned.pk}, "the poisoned patient had alerts to keep"
    state_before = EvaluationState.objects.get(patient=poisoned)
    poison(poisoned)

    evaluations, _ = evaluate_patients(ids, date(2025, 7, 11))

    assert {e.patient_id for e in evaluations} == set(ids) - {poisoned.pk}
    after = open_alerts(ids)
    others = set(ids) - {poisoned.pk}
    assert {a for a in after if a[0] in others} == {a for a in before if a[0] in others}
    # The poisoned patient's alerts are not resolved for lack of findings, and the failure is shown.
    assert {a for a in before if a[0] == poisoned.pk} <= after
    failure = Alert.objects.get(patient=poisoned, rule_id=EVALUATION_FAILED, status=AlertStatus.OPEN)
    assert "could not be run for this patient" in failure.message
    assert "Review the latest results and treatment by hand" in failure.suggested_action
    # Not recorded as evaluated: the patient stays due and is tried again.
    state = EvaluationState.objects.get(patient=poisoned)
    assert (state.evaluated_on, state.evaluated_version) == (state_before.evaluated_on, state_before.evaluated_version)
    # The log names the patient by id only.
    logged = " ".join(r.getMessage() for r in caplog.records if "Evaluation failed" in r.getMessage())
    assert f"patient id {poisoned.pk}" in logged
    assert poisoned.mrn not in logged and poisoned.family_name not in logged


def test_the_failure_alert_clears_once_the_patient_evaluates_again(chunk):
    poisoned = chunk[0]
    bad = poison(poisoned)
    evaluate_patients([p.pk for p in chunk], AS_OF)
    assert Alert.objects.filter(patient=poisoned, rule_id=EVALUATION_FAILED, status=AlertStatus.OPEN).exists()
    bad.delete()  # corrected
    evaluate_patients([poisoned.pk], AS_OF)
    failure = Alert.objects.get(patient=poisoned, rule_id=EVALUATION_FAILED)
    assert failure.status == AlertStatus.RESOLVED


def test_the_nurse_sees_the_failure_in_the_queue_in_words(chunk, client, nurse):
    poison(chunk[0])
    evaluate_patients([p.pk for p in chunk], AS_OF)
    client.force_login(nurse)
    page = client.get("/alerts/").content.decode()
    assert "Evaluation failed: the rules could not be run for this patient" in page
    assert "Review the latest results and treatment by hand" in page
