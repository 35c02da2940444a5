"""Evaluate patients: load timelines, run the rules, reconcile alerts. What the tasks and the command run.

The nightly sweep is incremental: it evaluates the active patients whose evaluation may no longer
hold (`due_patient_chunks`): their data changed since (every change bumps a version in its own
transaction: changes.py `mark_changed`), the first day on which their findings could differ has come
(engine/horizon.py),
the rules, the clinic's parameters or reference ranges changed, a snooze ended, or the last evaluation
is about `max_hold_days()` old (a safety net, `hold_days_for`). `sweep(full=True)` and
`manage.py evaluate` evaluate everyone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from monitoring.alerts.reconcile import ReconcileResult, reconcile
from monitoring.changes import SWEEP_CHUNK_SIZE, forget_marks
from monitoring.engine.cache import current_basis
from monitoring.engine.context import EVALUATION_FAILED, Finding, Severity
from monitoring.engine.evaluate import Evaluation, evaluate
from monitoring.engine.loader import load_for_evaluation
from monitoring.models import Alert, AlertStatus, EvaluationState
from patients.models import Patient

logger = logging.getLogger(__name__)


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
    evaluations, failed = [], []
    for t in timelines.values():
        try:
            evaluations.append(evaluate(t, as_of, params[t.clinic_id], horizon_days=hold_days_for(t.patient_id, as_of)))
        except Exception:  # noqa: BLE001 - one patient's bad data must not silence the others
            # Ids only: the traceback names the code, never the patient's data.
            logger.exception("Evaluation failed for patient id %s; the others of the batch go on.", t.patient_id)
            failed.append(t.patient_id)
    findings = {e.patient_id: e.findings for e in evaluations}
    findings |= {patient_id: (evaluation_failed(as_of),) for patient_id in failed}
    with transaction.atomic():  # one transaction for the alerts and the state: fewer round trips
        # A failed patient's other alerts stay as they are: nothing is known about their findings.
        result = reconcile(findings, today=as_of, keep_unseen=set(failed))
        _record_states(evaluations, versions, as_of, {t.patient_id: digests[t.clinic_id] for t in timelines.values()})
    # A failed patient keeps no state and no cleared mark: they stay due, and are tried again.
    forget_marks(e.patient_id for e in evaluations)
    return evaluations, result


def evaluation_failed(as_of: date) -> Finding:
    """What the nurses' queue shows for a patient whose evaluation raised: the safety net is visible."""
    return Finding(
        rule_id=EVALUATION_FAILED,
        severity=Severity.HIGH,
        message="The monitoring rules could not be run for this patient: their alerts and schedule may be out of date.",
        evidence={"evaluation_failed_on": as_of.isoformat()},
        action=(
            "Review the latest results and treatment by hand until this clears. The error was logged for the "
            "support team; the patient is evaluated again when their data changes and every night."
        ),
        source="AIH Tracker safety net: an evaluation that fails is reported, never silent.",
        parameters={},
    )


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
