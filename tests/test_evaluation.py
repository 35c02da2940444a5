"""Saving data queues an evaluation on commit (patient id only); the sweep and command catch everyone up."""

import json
from datetime import UTC, date, datetime
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command

from monitoring.evaluation import evaluate_patients, sweep
from monitoring.labs.services import LabValue, record_lab_result
from monitoring.models import Alert, AlertStatus, LabResult
from regimens.models import DoseChange
from tests.factories import CourseFactory, LabResultFactory, PatientFactory, analyte

pytestmark = pytest.mark.django_db


def insufficient_responder(mrn="IR-1"):
    """Prednisolone from 2025-01-06; ALT and IgG still high at month 6 (RESP-02)."""
    patient = PatientFactory(mrn=mrn)
    course = CourseFactory(patient=patient, started_on=date(2025, 1, 6))
    DoseChange.objects.create(course=course, effective_on=course.started_on, dose_mg_per_day=40)
    LabResultFactory(patient=patient, value=300, collected_at=datetime(2025, 1, 5, 9, tzinfo=UTC))
    LabResultFactory(patient=patient, value=90, collected_at=datetime(2025, 7, 1, 9, tzinfo=UTC))
    LabResultFactory(
        patient=patient, analyte=analyte("igg"), value=21, ref_high=16, collected_at=datetime(2025, 7, 1, 9, tzinfo=UTC)
    )
    return patient


def test_saving_a_lab_result_queues_the_patient_id_only_after_commit(django_capture_on_commit_callbacks):
    patient = PatientFactory()
    with mock.patch("monitoring.tasks.evaluate_patient.apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            record_lab_result(
                patient=patient, lab=LabValue(analyte("alt"), 50, "U/L", datetime(2025, 3, 3, 9, tzinfo=UTC))
            )
        send.assert_not_called()  # nothing leaves before the commit
        for callback in callbacks:
            callback()
    send.assert_called_once()
    assert send.call_args.args[0] == (patient.pk,)  # the message carries the id and nothing else


@pytest.fixture
def unreachable_broker():
    """Point Celery at a Redis port where nothing listens, for real: every publish fails."""
    from aih_tracker.celery import app

    original = app.conf.broker_url

    def forget_connections():
        # Both the connection pool and the producer pool hold the broker URL they were made with.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.broker_url = "redis://127.0.0.1:9/0"
    forget_connections()
    yield
    app.conf.broker_url = original
    forget_connections()


def test_a_save_succeeds_when_the_broker_is_down_and_the_sweep_catches_up(
    unreachable_broker, django_capture_on_commit_callbacks, caplog
):
    patient = insufficient_responder()
    with django_capture_on_commit_callbacks(execute=True):
        record_lab_result(patient=patient, lab=LabValue(analyte("alt"), 95, "U/L", datetime(2025, 7, 8, 9, tzinfo=UTC)))
    assert LabResult.objects.filter(patient=patient, value=95).exists()
    assert "nightly sweep will catch up" in caplog.text
    assert not Alert.objects.exists()  # the evaluation message was lost...
    sweep(as_of=date(2025, 7, 10))
    assert Alert.objects.filter(patient=patient, rule_id="RESP-02", status=AlertStatus.OPEN).exists()  # ...caught up


def test_evaluating_twice_changes_nothing():
    patient = insufficient_responder()
    evaluate_patients([patient.pk], date(2025, 7, 10))
    snapshot = list(Alert.objects.values())
    _, result = evaluate_patients([patient.pk], date(2025, 7, 10))
    assert (result.opened, result.updated, result.resolved) == (0, 0, 0)
    assert list(Alert.objects.values()) == snapshot


def test_the_evaluate_command_prints_one_json_object_per_finding():
    insufficient_responder(mrn="IR-9")
    out = StringIO()
    call_command("evaluate", "--mrn", "IR-9", "--as-of", "2025-07-10", "--json", stdout=out)
    findings = [json.loads(line) for line in out.getvalue().splitlines()]
    resp02 = next(f for f in findings if f["rule"] == "RESP-02")
    assert resp02["mrn"] == "IR-9"
    assert resp02["severity"] == "high"
    assert resp02["evidence"]["results"]
    assert "IAIHG" in resp02["source"]
    assert Alert.objects.filter(rule_id="RESP-02").exists()  # it reconciles, like the task


def test_as_of_makes_date_driven_rules_reproducible():
    insufficient_responder(mrn="IR-2")
    out = StringIO()
    call_command("evaluate", "--mrn", "IR-2", "--as-of", "2025-07-05", "--json", stdout=out)
    assert "RESP-02" not in out.getvalue()  # the 6-month checkpoint is 2025-07-06


def test_an_unknown_mrn_is_an_error():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="NOPE"):
        call_command("evaluate", "--mrn", "NOPE", stdout=StringIO())


def test_the_sweep_task_splits_active_patients_into_chunks():
    from monitoring import tasks
    from monitoring.evaluation import active_patient_chunks, due_patient_chunks

    active = {PatientFactory(mrn=f"SW-{index}").pk for index in range(5)}
    PatientFactory(mrn="GONE", status="discharged")
    with (
        mock.patch.object(tasks, "active_patient_chunks", lambda: active_patient_chunks(2)),
        mock.patch.object(tasks, "due_patient_chunks", lambda: due_patient_chunks(chunk_size=2)),
        mock.patch.object(tasks.evaluate_chunk, "delay") as delay,
    ):
        assert tasks.nightly_sweep() == 3  # never evaluated: all due
        assert tasks.nightly_sweep(full=True) == 3
    sent = [pk for call in delay.call_args_list for pk in call.args[0]]
    assert sorted(sent) == sorted([*active, *active])  # every active patient once a sweep, the discharged one never
