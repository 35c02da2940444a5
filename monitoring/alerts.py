"""Reconcile findings with stored alerts. Idempotent: reconciling the same findings twice writes nothing.

- A finding with no unresolved alert opens one, as the next episode of (patient, rule).
- A finding with an unresolved alert refreshes its message and evidence; a severity change is
  recorded (never silent), and a rise wakes a snoozed alert.
- A snoozed alert stays quiet until its snooze ends; then it reopens if the finding still holds.
- An unresolved alert whose finding no longer holds is resolved "by data", history kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .models import Alert, AlertAction, AlertActionKind, AlertStatus, Resolution
from .rules.base import Finding

_CONTENT_FIELDS = ("severity", "message", "evidence", "suggested_action", "source", "parameters")


@dataclass
class ReconcileResult:
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    woken: int = 0

    def __iadd__(self, other: ReconcileResult) -> ReconcileResult:
        self.opened += other.opened
        self.updated += other.updated
        self.resolved += other.resolved
        self.woken += other.woken
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


def reconcile(findings_by_patient: dict[int, Iterable[Finding]], today: date | None = None) -> ReconcileResult:
    """Bring the stored alerts of these patients in line with their findings. A fixed number of queries."""
    today = today or timezone.localdate()
    now = timezone.now()
    patient_ids = list(findings_by_patient)
    result = ReconcileResult()
    unresolved = {
        (a.patient_id, a.rule_id): a
        for a in Alert.objects.filter(patient_id__in=patient_ids).exclude(status=AlertStatus.RESOLVED)
    }
    last_episode = {
        (row["patient_id"], row["rule_id"]): row["last"]
        for row in Alert.objects.filter(patient_id__in=patient_ids)
        .values("patient_id", "rule_id")
        .annotate(last=Max("episode"))
    }
    to_create: list[Alert] = []
    to_update: dict[int, Alert] = {}
    actions: list[AlertAction] = []
    seen: set[tuple[int, str]] = set()

    for patient_id, findings in findings_by_patient.items():
        for finding in findings:
            key = (patient_id, finding.rule_id)
            seen.add(key)
            content = _content(finding)
            alert = unresolved.get(key)
            if alert is None:
                alert = Alert(
                    patient_id=patient_id,
                    rule_id=finding.rule_id,
                    episode=last_episode.get(key, 0) + 1,
                    status=AlertStatus.OPEN,
                    **content,
                )
                to_create.append(alert)
                result.opened += 1
                continue
            changed = [name for name in _CONTENT_FIELDS if getattr(alert, name) != content[name]]
            if "severity" in changed:
                raised = content["severity"] > alert.severity
                actions.append(
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
                actions.append(
                    AlertAction(
                        alert=alert,
                        kind=AlertActionKind.WOKE,
                        note="Snooze ended and the finding still holds." if snooze_over else "Severity rose.",
                        detail={"snoozed_until": alert.snoozed_until.isoformat()},
                    )
                )
                result.woken += 1
            if changed:
                for name in _CONTENT_FIELDS:
                    setattr(alert, name, content[name])
                to_update[alert.pk] = alert
                result.updated += 1

    for key, alert in unresolved.items():
        if key in seen:
            continue
        alert.status = AlertStatus.RESOLVED
        alert.resolution = Resolution.BY_DATA
        alert.resolved_at = now
        alert.version += 1
        to_update[alert.pk] = alert
        actions.append(
            AlertAction(
                alert=alert,
                kind=AlertActionKind.RESOLVED_BY_DATA,
                note="The finding no longer holds.",
                detail={"last_evidence": alert.evidence},
            )
        )
        result.resolved += 1

    if to_create:
        created = bulk_create_with_history(to_create, Alert, default_date=now)
        actions.extend(
            AlertAction(alert=a, kind=AlertActionKind.OPENED, detail={"severity": a.severity}) for a in created
        )
    if to_update:
        fields = [*_CONTENT_FIELDS, "status", "resolution", "resolved_at", "version", "updated_at"]
        for alert in to_update.values():
            alert.updated_at = now
        bulk_update_with_history(list(to_update.values()), Alert, fields, default_date=now)
    if actions:
        AlertAction.objects.bulk_create(actions)
    return result
