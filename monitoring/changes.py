"""A change to a patient's data makes their evaluation due: marked in the change's own transaction, and
a task queued once it commits (patient ids only: no patient data in the broker).

Below the engine on purpose: every path that writes a patient's data (lab entry, the visit log,
prescribing, imports, the admin) calls these, and the engine, the alerts and the tasks sit above them.
The tasks are reached through Celery's registry by name (`task_by_name`), the way Celery decouples
callers from the module that defines a task: `monitoring/tasks.py` imports the evaluation, so the
evaluation's callers must not import it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.db.models import F

from aih_tracker.celery import app as celery_app

from .models import EvaluationState

logger = logging.getLogger(__name__)

SWEEP_CHUNK_SIZE = 500  # patient ids per task, for the nightly sweep and for an import of many patients

# The tasks' names (monitoring/tasks.py defines them under these names; a test checks they exist).
EVALUATE_PATIENT = "monitoring.tasks.evaluate_patient"
EVALUATE_CHUNK = "monitoring.tasks.evaluate_chunk"
IMPORT_BATCH = "monitoring.tasks.import_batch"
REFRESH_COHORT_SNAPSHOTS = "monitoring.tasks.refresh_cohort_snapshots"


def task_by_name(name: str):
    """The registered Celery task (the same object `monitoring.tasks` defines, so eager mode and a
    test's patch of its `apply_async` apply)."""
    return celery_app.tasks[name]


def mark_changed(patient_ids: Iterable[int]) -> None:
    """Record, in the current transaction, that these patients' data changed: their evaluation is due.

    Once per patient per transaction, unless the savepoint that marked them was rolled back (then the
    mark went with it and is made again). A patient never evaluated has no state row and is due anyway.
    """
    connection = transaction.get_connection()
    ids = set(patient_ids)
    live = _live_marks()
    for marks in live:
        ids -= marks.patient_ids
    if not ids:
        return
    EvaluationState.objects.filter(patient_id__in=ids).update(data_version=F("data_version") + 1)
    if connection.in_atomic_block:
        savepoints = tuple(connection.savepoint_ids)
        marks = live[-1] if live and live[-1].savepoints == savepoints else None
        if marks is None:
            marks = _Marks(savepoints)
            transaction.on_commit(marks.committed)
        marks.patient_ids |= ids


def _live_marks() -> list[_Marks]:
    """This transaction's marks; those whose savepoint was rolled back lost their on-commit entry with it."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return []
    return [owner for owner in _on_commit_owners() if isinstance(owner, _Marks)]


def _on_commit_owners() -> Iterator[object]:
    """The objects whose methods wait for this transaction's commit; a savepoint rollback drops its own."""
    return (getattr(entry[1], "__self__", None) for entry in transaction.get_connection().run_on_commit)


def forget_marks(patient_ids: Iterable[int]) -> None:
    """An evaluation inside the transaction read these patients' data: a later change must mark them again."""
    evaluated = set(patient_ids)
    for marks in _live_marks():
        marks.patient_ids -= evaluated


class _Marks:
    """Patients marked changed under one savepoint of the current transaction."""

    def __init__(self, savepoints: tuple):
        self.savepoints = savepoints
        self.patient_ids: set[int] = set()

    def committed(self) -> None:
        """Nothing to do: registered only so that a savepoint rollback discards it with the mark."""


def enqueue_evaluation(patient_id: int) -> None:
    """Mark the patient changed, and after the current transaction commits ask a worker to evaluate
    them (id only). Many calls in one transaction (a lab panel, an imported message) send one task
    per patient.
    """
    mark_changed([patient_id])
    pending = _pending_for_transaction()
    if pending is None:
        transaction.on_commit(lambda: _send_evaluation(patient_id))  # autocommit: sent right away
        return
    pending.patient_ids.add(patient_id)


def _pending_for_transaction() -> _PendingEvaluations | None:
    """What this transaction has marked and will send on commit; None outside a transaction."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    pending = getattr(connection, "aih_pending_evaluations", None)
    if pending is None or not any(owner is pending for owner in _on_commit_owners()):
        # None registered in this transaction yet (or the savepoint that registered it rolled back).
        pending = _PendingEvaluations()
        connection.aih_pending_evaluations = pending
        transaction.on_commit(pending.send)
    return pending


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
    try:
        task_by_name(EVALUATE_PATIENT).apply_async((patient_id,), retry=True, retry_policy=QUICK_RETRY)
    except Exception:  # noqa: BLE001 - a broker outage must never fail a clinician's save
        # The data are committed; tonight's sweep evaluates every active patient anyway.
        logger.warning("Could not queue evaluation of patient %s; the nightly sweep will catch up.", patient_id)


def _send_evaluation_chunk(patient_ids: list[int]) -> None:
    try:
        task_by_name(EVALUATE_CHUNK).apply_async((patient_ids,), retry=True, retry_policy=QUICK_RETRY)
    except Exception:  # noqa: BLE001 - as for one patient: the data are committed, the sweep catches up
        logger.warning("Could not queue evaluation of %s patients; the nightly sweep will catch up.", len(patient_ids))


# Give up on an unreachable broker within about a second rather than holding the request.
QUICK_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.3, "interval_max": 0.5}
