"""Working the alert queue and the recall list: a nurse's actions, each audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from aih_tracker.models import User
from aih_tracker.roles import Action, Role, actions_for
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.models import (
    Alert,
    AlertAction,
    AlertActionKind,
    AlertStatus,
    ContactMethod,
    ContactOutcome,
    LapseReason,
    RecallContact,
    Resolution,
)

# -- working the alert queue ---------------------------------------------------------------------
#
# Every action is a conditional update on the version the user saw (`filter(pk, version=v)`): if
# someone (or the engine) changed the alert in between, nothing is written and the caller learns
# who did what when. Each action leaves an AlertAction (who / when / why) and an audit-history row.


class AlertAlreadyHandled(Exception):
    """The alert changed since the user loaded it; nothing was written."""

    def __init__(self, alert: Alert, last_action: AlertAction | None):
        self.alert = alert
        self.last_action = last_action
        super().__init__(self.message)

    @property
    def who(self) -> str:
        if self.last_action is None:
            return "someone"
        return self.last_action.by.display_name if self.last_action.by else "the monitoring engine"

    @property
    def message(self) -> str:
        if self.last_action is None:
            return "This alert was already changed by someone else; reload to see it."
        when = timezone.localtime(self.last_action.at).strftime("%d %b %Y %H:%M")
        what = self.last_action.get_kind_display().lower()
        return f"Already handled by {self.who} at {when} ({what}). Nothing you entered was saved over it."


def _conflict(alert: Alert) -> AlertAlreadyHandled:
    fresh = Alert.objects.select_related("patient", "assignee").get(pk=alert.pk)
    last = AlertAction.objects.filter(alert=fresh).select_related("by").order_by("-at", "-id").first()
    return AlertAlreadyHandled(fresh, last)


def _ensure_current(alert: Alert, version: int) -> None:
    """Refuse early when the user's copy is already stale (the conditional update still guards races)."""
    if alert.version != version:
        raise _conflict(alert)


def _conditional_update(
    *, alert: Alert, version: int, user, kind: str, note: str = "", detail: dict | None = None, **fields
) -> Alert:
    """Write `fields` only if the alert is still at `version` and unresolved; record the action."""
    now = timezone.now()
    updated = (
        Alert.objects.filter(pk=alert.pk, version=version)
        .unresolved()
        .update(version=F("version") + 1, updated_at=now, **fields)
    )
    if not updated:
        raise _conflict(alert)
    fresh = Alert.objects.select_related("patient", "assignee").get(pk=alert.pk)
    Alert.history.bulk_history_create([fresh], update=True, default_user=user, default_date=now)
    AlertAction.objects.create(alert=fresh, kind=kind, by=user, note=note, detail=detail or {})
    return fresh


def acknowledge_alert(*, alert: Alert, version: int, user) -> Alert:
    """The user has seen it and owns the next step (it stays in the queue until resolved)."""
    _ensure_current(alert, version)
    if alert.status != AlertStatus.OPEN:
        raise ValidationError(f"Only an open alert can be acknowledged (this one is {alert.get_status_display()}).")
    with transaction.atomic():
        return _conditional_update(
            alert=alert, version=version, user=user, kind=AlertActionKind.ACKNOWLEDGED, status=AlertStatus.ACKNOWLEDGED
        )


def colleagues_for(user) -> QuerySet:
    """Who an alert may be assigned to: active nurses and physicians of the user's clinic."""
    roles = [role for role in Role if Action.WORK_ALERTS in actions_for(role)]
    people = User.objects.filter(is_active=True, role__in=roles)
    if not user.is_superuser:
        people = people.filter(clinic_id=user.clinic_id)
    return people.order_by("last_name", "first_name", "username")


def assign_alert(*, alert: Alert, version: int, user, assignee) -> Alert:
    _ensure_current(alert, version)
    if assignee is None:
        raise ValidationError({"assignee": "Choose who takes this alert."})
    if not colleagues_for(user).filter(pk=assignee.pk).exists() or assignee.clinic_id != alert.patient.clinic_id:
        raise ValidationError({"assignee": "Alerts go to a nurse or physician of the patient's clinic."})
    with transaction.atomic():
        return _conditional_update(
            alert=alert,
            version=version,
            user=user,
            kind=AlertActionKind.ASSIGNED,
            detail={"to": assignee.pk, "to_name": assignee.display_name},
            note=f"Assigned to {assignee.display_name}.",
            assignee=assignee,
        )


def snooze_limit(clinic_id: int, today: date) -> date:
    return today + timedelta(days=parameters_for_clinic(clinic_id)["snooze_max_days"])


def snooze_alert(
    *, alert: Alert, version: int, user, until: date | None, reason: str, today: date | None = None
) -> Alert:
    """Quiet until `until` (≤ today + the clinic's snooze_max_days); a reason is required."""
    _ensure_current(alert, version)
    today = today or timezone.localdate()
    reason = reason.strip()
    errors = {}
    if not reason:
        errors["reason"] = "Say why the alert can wait."
    limit = snooze_limit(alert.patient.clinic_id, today)
    if until is None:
        errors["until"] = "Give the date the alert should come back."
    elif until <= today:
        errors["until"] = "The date must be after today."
    elif until > limit:
        errors["until"] = f"At most {(limit - today).days} days ahead (until {limit:%d %b %Y})."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return _conditional_update(
            alert=alert,
            version=version,
            user=user,
            kind=AlertActionKind.SNOOZED,
            note=reason,
            detail={"until": until.isoformat()},
            status=AlertStatus.SNOOZED,
            snoozed_until=until,
            snooze_reason=reason[:200],
        )


def resolve_alert(*, alert: Alert, version: int, user, note: str) -> Alert:
    """Closed by a clinician, who says what was done."""
    _ensure_current(alert, version)
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Say what was done (or why nothing needs doing)."})
    with transaction.atomic():
        return _conditional_update(
            alert=alert,
            version=version,
            user=user,
            kind=AlertActionKind.RESOLVED,
            note=note,
            status=AlertStatus.RESOLVED,
            resolution=Resolution.BY_USER,
            resolution_note=note,
            resolved_at=timezone.now(),
        )


@dataclass
class BulkResult:
    done: list[Alert] = field(default_factory=list)
    conflicts: list[AlertAlreadyHandled] = field(default_factory=list)
    skipped: list[tuple[Alert, str]] = field(default_factory=list)


def _bulk(alerts_and_versions: Iterable[tuple[Alert, int]], act) -> BulkResult:
    """Apply `act` to each alert on its own: one alert handled elsewhere does not stop the rest."""
    result = BulkResult()
    for alert, version in alerts_and_versions:
        try:
            result.done.append(act(alert, version))
        except AlertAlreadyHandled as conflict:
            result.conflicts.append(conflict)
        except ValidationError as error:
            result.skipped.append((alert, " ".join(error.messages)))
    return result


def bulk_acknowledge(*, alerts_and_versions: Iterable[tuple[Alert, int]], user) -> BulkResult:
    return _bulk(alerts_and_versions, lambda a, v: acknowledge_alert(alert=a, version=v, user=user))


def bulk_assign(*, alerts_and_versions: Iterable[tuple[Alert, int]], user, assignee) -> BulkResult:
    return _bulk(alerts_and_versions, lambda a, v: assign_alert(alert=a, version=v, user=user, assignee=assignee))


# -- the recall list -----------------------------------------------------------------------------


def record_recall_contact(
    *,
    patient,
    user,
    panel: str,
    contacted_on: date | None,
    method: str,
    outcome: str,
    lapse_reason: str = "",
    note: str = "",
    due_on: date | None = None,
    today: date | None = None,
) -> RecallContact:
    """Store one attempt to reach a patient about due bloods. ValidationError (by field) on bad input."""
    today = today or timezone.localdate()
    note = note.strip()
    errors = {}
    if contacted_on is None:
        errors["contacted_on"] = "Give the date of the contact."
    elif contacted_on > today:
        errors["contacted_on"] = "The contact date is in the future."
    if method not in ContactMethod.values:
        errors["method"] = "Choose phone, letter or portal."
    if outcome not in ContactOutcome.values:
        errors["outcome"] = "Choose what came of it."
    if lapse_reason and lapse_reason not in LapseReason.values:
        errors["lapse_reason"] = "Choose a reason from the list."
    if lapse_reason == LapseReason.OTHER and not note:
        errors["note"] = "Say what the other reason is."
    if not panel:
        errors["panel"] = "Which bloods was the contact about?"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return RecallContact.objects.create(
            patient=patient,
            panel=panel[:20],
            due_on=due_on,
            contacted_on=contacted_on,
            method=method,
            outcome=outcome,
            lapse_reason=lapse_reason,
            note=note,
            by=user,
        )
