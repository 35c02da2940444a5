"""Evaluate patients: load timelines, run the rules, reconcile alerts. What the tasks and the command run."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date

from django.db import transaction
from django.utils import timezone

from patients.models import Patient

from .alerts import ReconcileResult, reconcile
from .engine import Evaluation, evaluate
from .loader import load_timelines
from .parameters import parameters_for_clinic

logger = logging.getLogger(__name__)

SWEEP_CHUNK_SIZE = 500


def evaluate_patients(
    patient_ids: Sequence[int], as_of: date | None = None
) -> tuple[list[Evaluation], ReconcileResult]:
    """Evaluate these patients as of a date (default today) and reconcile their alerts."""
    as_of = as_of or timezone.localdate()
    timelines = load_timelines(patient_ids)
    params_by_clinic = {
        clinic_id: parameters_for_clinic(clinic_id) for clinic_id in {t.clinic_id for t in timelines.values()}
    }
    evaluations = [evaluate(t, as_of, params_by_clinic[t.clinic_id]) for t in timelines.values()]
    with transaction.atomic():
        result = reconcile({e.patient_id: e.findings for e in evaluations}, today=as_of)
    return evaluations, result


def active_patient_chunks(chunk_size: int = SWEEP_CHUNK_SIZE) -> Iterator[list[int]]:
    """Ids of every patient under follow-up, in chunks (so several workers can share a sweep)."""
    ids = list(Patient.objects.active().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk_size):
        yield ids[start : start + chunk_size]


def sweep(as_of: date | None = None, chunk_size: int = SWEEP_CHUNK_SIZE) -> ReconcileResult:
    """Evaluate every active patient in this process (the command's path; beat fans out to workers)."""
    total = ReconcileResult()
    for chunk in active_patient_chunks(chunk_size):
        _, result = evaluate_patients(chunk, as_of)
        total += result
    return total


def enqueue_evaluation(patient_id: int) -> None:
    """After the current transaction commits, ask a worker to evaluate this patient (id only).

    Many calls in one transaction (a lab panel, an imported message) send one task per patient.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        transaction.on_commit(lambda: _send_evaluation(patient_id))  # autocommit: sent right away
        return
    pending = getattr(connection, "aih_pending_evaluations", None)
    if pending is None or not any(getattr(entry[1], "__self__", None) is pending for entry in connection.run_on_commit):
        # None registered in this transaction yet (or the savepoint that registered it rolled back).
        pending = _PendingEvaluations()
        connection.aih_pending_evaluations = pending
        transaction.on_commit(pending.send)
    pending.patient_ids.add(patient_id)


class _PendingEvaluations:
    def __init__(self):
        self.patient_ids: set[int] = set()

    def send(self) -> None:
        ids = sorted(self.patient_ids)
        if len(ids) == 1:
            _send_evaluation(ids[0])
            return
        # An import that touched many patients: their ids in chunks, as the nightly sweep sends them.
        for start in range(0, len(ids), SWEEP_CHUNK_SIZE):
            _send_evaluation_chunk(ids[start : start + SWEEP_CHUNK_SIZE])


def _send_evaluation(patient_id: int) -> None:
    from .tasks import evaluate_patient

    try:
        evaluate_patient.apply_async((patient_id,), retry=True, retry_policy=_QUICK_RETRY)
    except Exception:  # noqa: BLE001 - a broker outage must never fail a clinician's save
        # The data are committed; tonight's sweep evaluates every active patient anyway.
        logger.warning("Could not queue evaluation of patient %s; the nightly sweep will catch up.", patient_id)


def _send_evaluation_chunk(patient_ids: list[int]) -> None:
    from .tasks import evaluate_chunk

    try:
        evaluate_chunk.apply_async((patient_ids,), retry=True, retry_policy=_QUICK_RETRY)
    except Exception:  # noqa: BLE001 - as for one patient: the data are committed, the sweep catches up
        logger.warning("Could not queue evaluation of %s patients; the nightly sweep will catch up.", len(patient_ids))


# Give up on an unreachable broker within about a second rather than holding the request.
_QUICK_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
