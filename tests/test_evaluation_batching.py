"""One evaluation task per patient per transaction, however many rows the transaction wrote."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from monitoring.changes import enqueue_evaluation
from monitoring.labs.services import LabValue, record_lab_result
from tests.factories import PatientFactory, analyte

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr("monitoring.changes._send_evaluation", calls.append)
    monkeypatch.setattr("monitoring.changes._send_evaluation_chunk", lambda ids: calls.append(tuple(ids)))
    return calls


def test_a_lab_panel_in_one_transaction_queues_one_evaluation(sent, django_capture_on_commit_callbacks):
    patient, other = PatientFactory(), PatientFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for code, value, unit in [("alt", 50, "U/L"), ("ast", 40, "U/L"), ("bilirubin", 12, "umol/L")]:
            lab = LabValue(analyte(code), value, unit, datetime(2025, 3, 3, 9, tzinfo=UTC))
            record_lab_result(patient=patient, lab=lab)
        enqueue_evaluation(other.pk)
    assert sent == [tuple(sorted([patient.pk, other.pk]))]  # one task for both, ids only


def test_a_rolled_back_savepoint_does_not_swallow_later_evaluations(sent, django_capture_on_commit_callbacks):
    patient, other = PatientFactory(), PatientFactory()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                enqueue_evaluation(patient.pk)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        enqueue_evaluation(other.pk)
    assert sent == [other.pk]


def test_many_patients_in_one_transaction_are_sent_in_chunks_of_ids(sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for patient_id in range(1, 1202):
            enqueue_evaluation(patient_id)
    assert [len(chunk) for chunk in sent] == [500, 500, 201]
