"""Evaluate patients: load timelines, run the rules, reconcile alerts. What the tasks and the command run.

The nightly sweep is incremental: it evaluates the active patients whose evaluation may no longer
hold (`due_patient_chunks`): their data changed since (every change bumps a version in its own
transaction: `mark_changed`), the first day on which their findings could differ has come (horizon.py),
the rules, the clinic's parameters or reference ranges changed, a snooze ended, or the last evaluation
is about `max_hold_days()` old (a safety net, `hold_days_for`). `sweep(full=True)` and
`manage.py evaluate` evaluate everyone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from aih_tracker.models import Clinic
from patients.models import Patient

from .alerts import ReconcileResult, reconcile
from .engine import Evaluation, evaluate
from .loader import load_for_evaluation
from .models import Alert, AlertStatus, Analyte, EvaluationState, ReferenceInterval
from .parameters import all_clinic_parameters

logger = logging.getLogger(__name__)

SWEEP_CHUNK_SIZE = 500


def max_hold_days() -> int:
    """However long findings could hold, re-evaluate a patient at least this often (days)."""
    return settings.AIH_EVALUATION_MAX_HOLD_DAYS


def hold_days_for(patient_id: int, as_of: date) -> int:
    """The safety net for one evaluation, spread over its last quarter: patients evaluated on the same
    day (a full sweep, a deployment) do not all come due again on the same night."""
    full = max_hold_days()
    return full - (patient_id * 7919 + as_of.toordinal()) % (full // 4 + 1)


def evaluate_patients(
    patient_ids: Sequence[int], as_of: date | None = None
) -> tuple[list[Evaluation], ReconcileResult]:
    """Evaluate these patients as of a date (default today), reconcile their alerts and record until
    when each evaluation holds."""
    as_of = as_of or timezone.localdate()
    # The basis is read (or remembered) before the timelines: a change to it committed after this
    # leaves the patients due (their recorded digest is then older than the clinic's).
    basis = current_basis(fresh=False)
    timelines, versions = load_for_evaluation(patient_ids, basis.analyte_codes)
    params, digests = dict(basis.params), dict(basis.digests)
    # A clinic newer than the remembered basis: its parameters are read now, after the data, so its
    # patients' digest is not recorded (the sweep evaluates them again). The other patients keep the
    # basis read before their data.
    if unknown := {t.clinic_id for t in timelines.values()} - params.keys():
        fresh = current_basis(fresh=True)
        params |= {clinic_id: fresh.params[clinic_id] for clinic_id in unknown}
        digests |= dict.fromkeys(unknown, "")
    evaluations = [
        evaluate(t, as_of, params[t.clinic_id], horizon_days=hold_days_for(t.patient_id, as_of))
        for t in timelines.values()
    ]
    with transaction.atomic():  # one transaction for the alerts and the state: fewer round trips
        result = reconcile({e.patient_id: e.findings for e in evaluations}, today=as_of)
        _record_states(evaluations, versions, as_of, {t.patient_id: digests[t.clinic_id] for t in timelines.values()})
    _forget_marks(e.patient_id for e in evaluations)
    return evaluations, result


def _record_states(evaluations, versions: dict[int, int], as_of: date, basis: dict[int, str]) -> None:
    EvaluationState.objects.bulk_create(
        [
            EvaluationState(
                patient_id=e.patient_id,
                data_version=versions[e.patient_id],
                evaluated_version=versions[e.patient_id],
                evaluated_on=as_of,
                holds_until=e.holds_until,
                basis=basis[e.patient_id],
            )
            for e in evaluations
        ],
        update_conflicts=True,
        unique_fields=["patient"],
        update_fields=["evaluated_version", "evaluated_on", "holds_until", "basis"],
    )


# -- what an evaluation was computed from -----------------------------------------------------------

_RULE_SOURCES = ("engine.py", "horizon.py", "response.py", "schedule.py", "formulas.py", "timeline.py", "catalogue.py")


@cache
def rules_fingerprint() -> str:
    """A digest of the code that turns a timeline into findings: a deployment that changes it re-evaluates all."""
    here = Path(__file__).resolve().parent
    files = [here / name for name in _RULE_SOURCES] + sorted((here / "rules").glob("*.py"))
    files.append(here.parent / "regimens" / "catalogue.py")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Basis:
    """Everything besides the patients' own data that findings depend on, read together: each clinic's
    parameters, and a digest per clinic of the rules' code, those parameters, the analyte catalogue and
    the clinic's reference ranges (what EvaluationState.basis records)."""

    params: dict[int, dict]  # clinic id -> parameters
    digests: dict[int, str]  # clinic id -> digest
    analyte_codes: dict[int, str]  # analyte id -> code, as the digest saw them


def current_basis(fresh: bool = True) -> Basis:
    """The basis of every clinic. `fresh=False` may reuse one read in this process within the last
    `BASIS_REUSE_SECONDS`: evaluations do, so that re-evaluating one patient reads only that patient's
    data. That is safe because the parameters an evaluation uses and the digest it records come from
    the same read, made before its data: after a change, its digest is older than the clinic's and the
    sweep evaluates the patient again. The sweep, which decides who is skipped, reads it fresh.
    Changes saved in this process are seen at once (signals.py); a worker sees a change saved by the
    web process within `BASIS_REUSE_SECONDS`.
    """
    global _recent
    now, generation = time.monotonic(), _generation
    if not fresh and _recent is not None and now - _recent[0] < BASIS_REUSE_SECONDS:
        return _recent[1]
    analytes = list(Analyte.objects.order_by("pk").values_list())
    clinic_ids = list(Clinic.objects.order_by("pk").values_list("pk", flat=True))
    params = all_clinic_parameters(clinic_ids)
    intervals: dict[int, list] = defaultdict(list)
    rows = ReferenceInterval.objects.order_by("pk")
    for row in rows.values_list("clinic_id", "analyte_id", "sex", "low", "high", "lab_name"):
        intervals[row[0]].append(row)
    digests = {
        clinic_id: hashlib.sha256(
            json.dumps(
                [rules_fingerprint(), params[clinic_id], analytes, intervals[clinic_id]], sort_keys=True, default=str
            ).encode()
        ).hexdigest()
        for clinic_id in clinic_ids
    }
    code_at = [field.attname for field in Analyte._meta.concrete_fields].index("code")
    basis = Basis(params, digests, {row[0]: row[code_at] for row in analytes})
    if generation == _generation:  # not forgotten while this was read (by another thread)
        _recent = (now, basis)
    return basis


BASIS_REUSE_SECONDS = 60
_recent: tuple[float, Basis] | None = None  # (when, what) this process last read
_generation = 0  # how many times this process was told to forget it


def forget_basis() -> None:
    """The next evaluation in this process reads the basis again (a parameter, range or analyte changed)."""
    global _recent, _generation
    _generation += 1
    _recent = None


# -- the sweep ----------------------------------------------------------------------------------------


def _chunks(ids: list[int], chunk_size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), chunk_size):
        yield ids[start : start + chunk_size]


def active_patient_chunks(chunk_size: int = SWEEP_CHUNK_SIZE) -> Iterator[list[int]]:
    """Ids of every patient under follow-up, in chunks (so several workers can share a sweep)."""
    return _chunks(list(Patient.objects.active().order_by("pk").values_list("pk", flat=True)), chunk_size)


def due_patient_ids(as_of: date | None = None) -> list[int]:
    """The active patients whose last evaluation may not hold on `as_of` (see the module docstring)."""
    as_of = as_of or timezone.localdate()
    active = Patient.objects.active()
    clinic_ids = set(active.order_by().values_list("clinic_id", flat=True).distinct())
    other_basis = Q()
    for clinic_id, digest in current_basis().digests.items():
        if clinic_id in clinic_ids:
            other_basis |= Q(clinic_id=clinic_id) & ~Q(evaluation_state__basis=digest)
    snooze_over = Alert.objects.filter(status=AlertStatus.SNOOZED, snoozed_until__lte=as_of).values("patient_id")
    due = active.filter(
        Q(evaluation_state__isnull=True)
        | Q(evaluation_state__evaluated_version__isnull=True)
        | ~Q(evaluation_state__data_version=F("evaluation_state__evaluated_version"))
        | Q(evaluation_state__holds_until__isnull=True)
        | Q(evaluation_state__holds_until__lte=as_of)
        | Q(evaluation_state__evaluated_on__gt=as_of)
        | other_basis
        | Q(pk__in=snooze_over)
    )
    return list(due.order_by("pk").values_list("pk", flat=True))


def due_patient_chunks(as_of: date | None = None, chunk_size: int = SWEEP_CHUNK_SIZE) -> Iterator[list[int]]:
    return _chunks(due_patient_ids(as_of), chunk_size)


def sweep(as_of: date | None = None, chunk_size: int = SWEEP_CHUNK_SIZE, full: bool = False) -> ReconcileResult:
    """The nightly sweep in this process (beat fans the same chunks out to workers): the patients due,
    or with `full` every active patient."""
    total = ReconcileResult()
    chunks = active_patient_chunks(chunk_size) if full else due_patient_chunks(as_of, chunk_size)
    for chunk in chunks:
        _, result = evaluate_patients(chunk, as_of)
        total += result
    return total


# -- after a change -------------------------------------------------------------------------------------


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


def _forget_marks(patient_ids: Iterable[int]) -> None:
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
