"""Reconcile findings with stored alerts. Idempotent: reconciling the same findings twice writes nothing.

- A finding with no unresolved alert opens one, as the next episode of (patient, rule).
- A finding with an unresolved alert refreshes its message and evidence; a severity change is
  recorded (never silent), and a rise wakes a snoozed alert.
- A snoozed alert stays quiet until its snooze ends; then it reopens if the finding still holds.
- An unresolved alert whose finding no longer holds is resolved "by data", history kept.
- A nurse's action is never overwritten: every write is checked against the version the pass read
  (see `_apply`), and an alert changed in between is re-read and re-planned.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from monitoring.engine.context import Finding
from monitoring.models import Alert, AlertAction, AlertActionKind, AlertStatus, Resolution

logger = logging.getLogger(__name__)

# A pass that finds alerts changed under it re-plans just those patients; after this many passes the
# rest waits for the next evaluation (nothing is overwritten either way).
MAX_PASSES = 3
_CONTENT_FIELDS = ("severity", "message", "evidence", "suggested_action", "source", "parameters")


@dataclass
class ReconcileResult:
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    woken: int = 0
    replanned: int = 0  # patients whose alerts changed during the pass (re-read, never overwritten)

    def __iadd__(self, other: ReconcileResult) -> ReconcileResult:
        self.opened += other.opened
        self.updated += other.updated
        self.resolved += other.resolved
        self.woken += other.woken
        self.replanned += other.replanned
        return self


def _jsonable(value):
    """What the value looks like after a trip through a JSON column (tuples become lists...)."""
    return json.loads(json.dumps(value, default=str))


def _content(finding: Finding) -> dict:
    return {
        "severity": int(finding.severity),
        "message": finding.message[:300],
        "evidence": _jsonable(finding.evidence),
        "suggested_action": finding.action,
        "source": finding.source,
        "parameters": _jsonable(finding.parameters),
    }


@dataclass
class _Plan:
    """What one reconcile pass means to write, and the version of each alert it read."""

    opened: int = 0
    to_create: list[Alert] = field(default_factory=list)
    to_update: dict[int, Alert] = field(default_factory=dict)
    read_version: dict[int, int] = field(default_factory=dict)
    counts: dict[int, set[str]] = field(default_factory=dict)  # pk -> {"updated", "woken", "resolved"}
    actions: list[AlertAction] = field(default_factory=list)

    def change(self, alert: Alert, version: int, *counts: str) -> None:
        self.to_update[alert.pk] = alert
        self.read_version.setdefault(alert.pk, version)
        self.counts.setdefault(alert.pk, set()).update(counts)


def _plan(findings_by_patient: dict[int, Iterable[Finding]], today: date, now, keep_unseen: set[int]) -> _Plan:
    patient_ids = list(findings_by_patient)
    plan = _Plan()
    unresolved = {
        (a.patient_id, a.rule_id): a
        for a in Alert.objects.filter(patient_id__in=patient_ids).exclude(status=AlertStatus.RESOLVED).order_by()
    }
    read_version = {alert.pk: alert.version for alert in unresolved.values()}
    seen: set[tuple[int, str]] = set()

    for patient_id, findings in findings_by_patient.items():
        for finding in findings:
            key = (patient_id, finding.rule_id)
            seen.add(key)
            content = _content(finding)
            alert = unresolved.get(key)
            if alert is None:
                plan.to_create.append(
                    Alert(patient_id=patient_id, rule_id=finding.rule_id, status=AlertStatus.OPEN, **content)
                )
                plan.opened += 1
                continue
            changed = [name for name in _CONTENT_FIELDS if getattr(alert, name) != content[name]]
            if "severity" in changed:
                raised = content["severity"] > alert.severity
                plan.actions.append(
                    AlertAction(
                        alert=alert,
                        kind=AlertActionKind.SEVERITY_RAISED if raised else AlertActionKind.SEVERITY_LOWERED,
                        detail={"from": alert.severity, "to": content["severity"], "evidence": content["evidence"]},
                    )
                )
            else:
                raised = False
            snooze_over = alert.status == AlertStatus.SNOOZED and alert.snoozed_until <= today
            if alert.status == AlertStatus.SNOOZED and (snooze_over or raised):
                # Quiet until the snooze ends, unless things got worse meanwhile.
                alert.status = AlertStatus.OPEN
                alert.version += 1
                changed.append("status")
                plan.actions.append(
                    AlertAction(
                        alert=alert,
                        kind=AlertActionKind.WOKE,
                        note="Snooze ended and the finding still holds." if snooze_over else "Severity rose.",
                        detail={"snoozed_until": alert.snoozed_until.isoformat()},
                    )
                )
                plan.change(alert, read_version[alert.pk], "woken")
            if changed:
                for name in _CONTENT_FIELDS:
                    setattr(alert, name, content[name])
                plan.change(alert, read_version[alert.pk], "updated")

    for key, alert in unresolved.items():
        if key in seen or alert.patient_id in keep_unseen:
            continue
        alert.status = AlertStatus.RESOLVED
        alert.resolution = Resolution.BY_DATA
        alert.resolved_at = now
        alert.version += 1
        plan.change(alert, read_version[alert.pk], "resolved")
        plan.actions.append(
            AlertAction(
                alert=alert,
                kind=AlertActionKind.RESOLVED_BY_DATA,
                note="The finding no longer holds.",
                detail={"last_evidence": alert.evidence},
            )
        )
    _number_episodes(plan.to_create)
    return plan


def _number_episodes(new_alerts: list[Alert]) -> None:
    """Each new alert is the next episode of its (patient, rule). Read only when there is one to number:
    re-evaluating a patient whose findings are unchanged opens none."""
    if not new_alerts:
        return
    last_episode = {
        (row["patient_id"], row["rule_id"]): row["last"]
        for row in Alert.objects.filter(patient_id__in={alert.patient_id for alert in new_alerts})
        .values("patient_id", "rule_id")
        .annotate(last=Max("episode"))
    }
    for alert in new_alerts:
        alert.episode = last_episode.get((alert.patient_id, alert.rule_id), 0) + 1


def _apply(plan: _Plan, now, result: ReconcileResult) -> set[int]:
    """Write the plan, except for alerts someone changed since the plan read them (a nurse's
    acknowledgement, snooze, assignment or resolution, or another evaluation). Those are left as
    they are; the ids of their patients come back so that the caller re-plans them from fresh rows.

    The version check and the writes run in one transaction, and on PostgreSQL the check locks the
    rows (SELECT ... FOR UPDATE): a nurse's conditional update waits for this commit, then sees the
    new version (if the engine changed the status) and reports "already handled". On SQLite (WAL)
    a write from a transaction whose snapshot went stale is refused with "database is locked",
    never applied over the newer row.
    """
    stale: set[int] = set()
    if plan.to_update:
        current = dict(
            Alert.objects.select_for_update().filter(pk__in=list(plan.to_update)).values_list("pk", "version")
        )
        stale = {pk for pk in plan.to_update if current.get(pk) != plan.read_version[pk]}
    updates = [alert for pk, alert in plan.to_update.items() if pk not in stale]
    actions = [action for action in plan.actions if action.alert.pk is None or action.alert.pk not in stale]

    if plan.to_create:
        created = bulk_create_with_history(plan.to_create, Alert, default_date=now)
        actions.extend(
            AlertAction(alert=a, kind=AlertActionKind.OPENED, detail={"severity": a.severity}) for a in created
        )
        result.opened += plan.opened
    if updates:
        fields = [*_CONTENT_FIELDS, "status", "resolution", "resolved_at", "version", "updated_at"]
        for alert in updates:
            alert.updated_at = now
        bulk_update_with_history(updates, Alert, fields, default_date=now)
        for alert in updates:
            counts = plan.counts[alert.pk]
            result.updated += "updated" in counts
            result.woken += "woken" in counts
            result.resolved += "resolved" in counts
    if actions:
        AlertAction.objects.bulk_create(actions)
    return {plan.to_update[pk].patient_id for pk in stale}


def reconcile(
    findings_by_patient: dict[int, Iterable[Finding]], today: date | None = None, keep_unseen: set[int] = frozenset()
) -> ReconcileResult:
    """Bring the stored alerts of these patients in line with their findings. A fixed number of queries
    per pass; a patient whose alerts a nurse changed during the pass is re-planned (at most a few times).
    For the patients in `keep_unseen` (their evaluation failed) the findings given are added or updated,
    but no alert is resolved for lack of a finding.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    result = ReconcileResult()
    pending = findings_by_patient
    for _ in range(MAX_PASSES):
        # No savepoint inside a caller's transaction: an error leaves reconcile, and that transaction, anyway.
        with transaction.atomic(savepoint=False):
            retry = _apply(_plan(pending, today, now, keep_unseen), now, result)
        if not retry:
            return result
        result.replanned += len(retry)
        pending = {patient_id: findings_by_patient[patient_id] for patient_id in retry}
    logger.warning(
        "Alerts of patients %s kept changing under reconcile; the next evaluation catches up.", sorted(pending)
    )
    return result
