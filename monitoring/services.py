"""Writing lab results: validate, convert to the canonical unit, store with the lab's range."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from aih_tracker.roles import Action, Role, actions_for

from .catalogue import UnitNotAccepted
from .evaluation import enqueue_evaluation
from .models import (
    Alert,
    AlertAction,
    AlertActionKind,
    AlertStatus,
    Analyte,
    ContactMethod,
    ContactOutcome,
    LabResult,
    LabSource,
    LapseReason,
    RecallContact,
    Resolution,
    ResultStatus,
)
from .parameters import parameters_for_clinic


@dataclass(frozen=True)
class LabValue:
    """A value as the lab reported it: number, unit and optional reference range in that unit."""

    analyte: Analyte
    value: float
    unit: str
    collected_at: datetime
    ref_low: float | None = None
    ref_high: float | None = None


def convert_lab_value(lab: LabValue) -> tuple[float, float | None, float | None]:
    """(value, ref_low, ref_high) in the analyte's canonical unit, or ValidationError saying why not."""
    analyte = lab.analyte
    try:
        value = analyte.to_canonical(lab.value, lab.unit)
        low = analyte.to_canonical(lab.ref_low, lab.unit) if lab.ref_low is not None else None
        high = analyte.to_canonical(lab.ref_high, lab.unit) if lab.ref_high is not None else None
    except UnitNotAccepted as error:
        raise ValidationError({"unit": str(error)}) from None
    if value < 0:
        raise ValidationError({"value": f"{analyte.name} cannot be negative."})
    if not analyte.plausible_min <= value <= analyte.plausible_max:
        raise ValidationError(
            {
                "value": f"{analyte.name} {value:g} {analyte.canonical_unit} is outside the plausible range "
                f"{analyte.plausible_min:g}–{analyte.plausible_max:g} {analyte.canonical_unit}."
            }
        )
    if low is not None and high is not None and high < low:
        raise ValidationError({"ref_high": "The upper reference limit is below the lower one."})
    if lab.collected_at > timezone.now():
        raise ValidationError({"collected_at": "The collection time is in the future."})
    return value, low, high


def record_lab_result(
    *,
    patient,
    lab: LabValue,
    source: str = LabSource.MANUAL,
    source_id: str = "",
    status: str = ResultStatus.FINAL,
    entered_by=None,
    visit=None,
) -> LabResult:
    """Store one result in canonical units. Raises ValidationError and stores nothing on bad input."""
    value, low, high = convert_lab_value(lab)
    with transaction.atomic():
        enqueue_evaluation(patient.pk)
        return LabResult.objects.create(
            patient=patient,
            analyte=lab.analyte,
            value=value,
            value_as_reported=f"{lab.value:g}",
            unit_as_reported=lab.unit,
            ref_low=low,
            ref_high=high,
            collected_at=lab.collected_at,
            status=status,
            source=source,
            source_id=source_id,
            entered_by=entered_by,
            visit=visit,
        )


@dataclass(frozen=True)
class NewLabResult:
    """One result for record_lab_results: whose, the value as reported, and its identity in the source."""

    patient: object
    lab: LabValue
    source: str = LabSource.MANUAL
    source_id: str = ""
    status: str = ResultStatus.FINAL


def record_lab_results(results: Sequence[NewLabResult], *, entered_by=None) -> list[LabResult]:
    """Store many results at once (imported messages): each is converted and validated as by
    record_lab_result, then one INSERT, one audit-history INSERT and one evaluation per patient
    on commit. Raises ValidationError and stores nothing if any result is bad."""
    rows = []
    for result in results:
        value, low, high = convert_lab_value(result.lab)
        rows.append(
            LabResult(
                patient=result.patient,
                analyte=result.lab.analyte,
                value=value,
                value_as_reported=f"{result.lab.value:g}",
                unit_as_reported=result.lab.unit,
                ref_low=low,
                ref_high=high,
                collected_at=result.lab.collected_at,
                status=result.status,
                source=result.source,
                source_id=result.source_id,
                entered_by=entered_by,
            )
        )
    if not rows:
        return []
    # No savepoint of its own: inside an importer's transaction a failure rolls back the whole import.
    with transaction.atomic(savepoint=False):
        for patient_id in {row.patient_id for row in rows}:
            enqueue_evaluation(patient_id)
        created = LabResult.objects.bulk_create(rows)
        # bulk_create sends no post_save, so the audit history is written here, as for one row.
        _copy_into_history(LabResult, [row.pk for row in created], user=entered_by or _history_user(created[0]))
        return created


def _history_user(instance):
    """Who simple_history records for a change made in this context (the request's user, if any)."""
    return type(instance).history.model.get_default_history_user(instance)


def _copy_into_history(model, pks: list[int], *, user) -> None:
    """The "created" audit-history row of each of these rows, as simple_history's
    bulk_history_create writes it (every tracked field, type "+", the user, no change reason),
    but copied inside the database by one INSERT ... SELECT: building a historical object per
    row in Python took a third of an HL7 import's time."""
    from django.conf import settings
    from django.db import connections

    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True) or not pks:
        return
    history = model.history.model
    tracked = [field.attname for field in history.tracked_fields]
    rows = model._base_manager.filter(pk__in=pks).order_by().values_list(*tracked)
    connection = connections[rows.db]
    select, params = rows.query.get_compiler(connection=connection).as_sql()
    columns = [history._meta.get_field(name).column for name in tracked]
    columns += ["history_date", "history_type", "history_change_reason", "history_user_id"]
    constants = [connection.ops.adapt_datetimefield_value(timezone.now()), "+", "", getattr(user, "pk", None)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(history._meta.db_table)} "
            f"({', '.join(connection.ops.quote_name(column) for column in columns)}) "
            f"SELECT copied.*, %s, %s, %s, %s FROM ({select}) AS copied",
            [*constants, *params],
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
    from aih_tracker.models import User

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
