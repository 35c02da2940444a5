"""Writes for the physician's regimen work: start, change dose, stop, switch, taper plans, overrides.

Each is one transaction. Prescriptions re-run the safety check inside the transaction (the page
the physician confirmed may be minutes old) and refuse a critical finding without an override
reason; the override is stored with the course (audited by simple_history).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from monitoring.changes import enqueue_evaluation
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.engine.context import Context, Finding
from monitoring.engine.loader import load_timelines
from monitoring.engine.response import normalised_on
from monitoring.engine.timeline import Timeline
from patients.models import Patient, WeightMeasurement
from regimens.models import (
    AdverseEvent,
    DoseChange,
    Drug,
    MedicationCourse,
    PrescribingOverride,
    StopReason,
    TaperPlan,
    TaperStep,
)
from regimens.prescribing import NewCourse, Prescription, SafetyCheck, check_prescription
from regimens.protocols import BY_CODE as PROTOCOLS
from regimens.protocols import TAPER_STEP_GRACE_DAYS
from regimens.taper import StepStatus, step_status

# What a physician may give as the reason a course stops ("switch" is how the switch is noted).
STOP_REASONS = [(value, label) for value, label in StopReason.choices if value != StopReason.SWITCH]


class PrescribingBlocked(Exception):
    """A critical safety finding and no override reason."""

    def __init__(self, findings: Sequence[Finding]):
        self.findings = tuple(findings)
        super().__init__("; ".join(f"{f.rule_id}: {f.message}" for f in findings))


@dataclass(frozen=True)
class NewAdverseEvent:
    """An adverse event recorded with the stop it causes (same transaction)."""

    kind: str
    onset_on: date
    description: str = ""


@dataclass(frozen=True)
class StepInput:
    starts_on: date
    dose_mg_per_day: float
    note: str = ""
    after_normalisation: bool = False
    months_after_normalisation: int = 0
    weeks_after_normalisation: int = 0


# -- reading ---------------------------------------------------------------------------------------


def patient_timeline(patient: Patient) -> tuple[Timeline, dict]:
    return load_timelines([patient.pk])[patient.pk], parameters_for_clinic(patient.clinic_id)


def latest_weight(patient: Patient, on: date) -> WeightMeasurement | None:
    return patient.weightmeasurement_set.filter(measured_on__lte=on).order_by("-measured_on").first()


def safety_check(patient: Patient, prescription: Prescription) -> SafetyCheck:
    timeline, params = patient_timeline(patient)
    return check_prescription(timeline, prescription, params)


def new_course(drug: Drug, started_on: date, dose_mg_per_day: float | None) -> NewCourse:
    return NewCourse(drug.code, drug.drug_class, started_on, dose_mg_per_day, drug.prednisolone_equivalent)


# -- writing ---------------------------------------------------------------------------------------


def _require_override(check: SafetyCheck, reason: str, overridden_rules: Collection[str] | None) -> None:
    """A critical finding needs a reason, and (when the caller says which rules it showed) must be one of them.

    A reason given on a page that showed AZA-01 does not cover an AZA-08 that appeared since.
    """
    if not check.blocking:
        return
    unseen = [f for f in check.blocking if overridden_rules is not None and f.rule_id not in overridden_rules]
    if not reason.strip() or unseen:
        raise PrescribingBlocked(unseen or check.blocking)


def _record_overrides(check: SafetyCheck, *, patient: Patient, course: MedicationCourse, reason: str, user) -> None:
    for finding in check.blocking:
        PrescribingOverride.objects.create(
            patient=patient,
            course=course,
            rule_id=finding.rule_id,
            severity=finding.severity.label,
            finding_message=finding.message,
            evidence=finding.evidence,
            reason=reason.strip(),
            overridden_by=user,
        )


def _create_course(
    *,
    patient: Patient,
    drug: Drug,
    started_on: date,
    dose_mg_per_day: float,
    prescriber,
    line_of_therapy: int,
    schedule: str,
) -> MedicationCourse:
    course = MedicationCourse(
        patient=patient,
        drug=drug,
        started_on=started_on,
        line_of_therapy=line_of_therapy,
        prescriber=prescriber,
        prescribed_in_app=True,  # its safety check was just run (start_course, switch_course)
    )
    course.full_clean()
    course.save()
    DoseChange.objects.create(
        course=course,
        effective_on=started_on,
        dose_mg_per_day=dose_mg_per_day,
        schedule=schedule,
        entered_by=prescriber,
    )
    return course


@transaction.atomic
def start_course(
    *,
    patient: Patient,
    drug: Drug,
    started_on: date,
    dose_mg_per_day: float,
    prescriber,
    line_of_therapy: int = 1,
    schedule: str = "",
    protocol: str = "",
    taper_steps: Sequence[StepInput] = (),
    override_reason: str = "",
    overridden_rules: Collection[str] | None = None,
) -> MedicationCourse:
    """Start a course (with its first dose, and its taper plan if one is given)."""
    check = safety_check(patient, Prescription(started_on, start=new_course(drug, started_on, dose_mg_per_day)))
    _require_override(check, override_reason, overridden_rules)
    course = _create_course(
        patient=patient,
        drug=drug,
        started_on=started_on,
        dose_mg_per_day=dose_mg_per_day,
        prescriber=prescriber,
        line_of_therapy=line_of_therapy,
        schedule=schedule,
    )
    if taper_steps:
        save_taper_plan(course=course, protocol=protocol, steps=taper_steps, user=prescriber)
    _record_overrides(check, patient=patient, course=course, reason=override_reason, user=prescriber)
    enqueue_evaluation(patient.pk)
    return course


def _auto_link_step(course: MedicationCourse, effective_on: date, dose: float) -> TaperStep | None:
    """The unrecorded step of the active plan this dose carries out: same dose, due by then (or within the grace)."""
    grace = timedelta(days=TAPER_STEP_GRACE_DAYS)
    return (
        TaperStep.objects.filter(
            plan__course=course,
            plan__is_active=True,
            actual_doses__isnull=True,
            dose_mg_per_day=dose,
            starts_on__lte=effective_on + grace,
        )
        .order_by("sequence")
        .first()
    )


@transaction.atomic
def change_dose(
    *,
    course: MedicationCourse,
    effective_on: date,
    dose_mg_per_day: float,
    user,
    schedule: str = "",
    note: str = "",
    taper_step: TaperStep | None = None,
    override_reason: str = "",
    overridden_rules: Collection[str] | None = None,
) -> DoseChange:
    """A new dose from `effective_on`; linked to the taper step it carries out (given, or matched)."""
    if course.stopped_on is not None:
        raise ValidationError("This course has stopped: start a new course instead.")
    if effective_on < course.started_on:
        raise ValidationError({"effective_on": "A dose change cannot come before the course starts."})
    if course.dose_changes.filter(effective_on=effective_on).exists():
        raise ValidationError({"effective_on": "There is already a dose change on that day for this course."})
    if taper_step is not None and taper_step.plan.course_id != course.pk:
        raise ValidationError({"taper_step": "That step belongs to another course."})
    check = safety_check(
        course.patient,
        Prescription(effective_on, dose_change_course_id=course.pk, dose_mg_per_day=dose_mg_per_day),
    )
    _require_override(check, override_reason, overridden_rules)
    change = DoseChange.objects.create(
        course=course,
        effective_on=effective_on,
        dose_mg_per_day=dose_mg_per_day,
        schedule=schedule,
        note=note,
        entered_by=user,
        taper_step=taper_step or _auto_link_step(course, effective_on, dose_mg_per_day),
    )
    _record_overrides(check, patient=course.patient, course=course, reason=override_reason, user=user)
    enqueue_evaluation(course.patient_id)
    return change


def _stop(
    course: MedicationCourse,
    *,
    stopped_on: date,
    reason: str,
    adverse_event: AdverseEvent | NewAdverseEvent | None,
    note: str,
) -> MedicationCourse:
    if course.stopped_on is not None:
        raise ValidationError("This course has already stopped.")
    if reason not in StopReason.values:
        raise ValidationError({"stop_reason": "Give the reason the course stops."})
    if isinstance(adverse_event, NewAdverseEvent):
        adverse_event = record_adverse_event(
            patient=course.patient,
            course=course,
            kind=adverse_event.kind,
            onset_on=adverse_event.onset_on,
            description=adverse_event.description,
        )
    if adverse_event is not None and adverse_event.patient_id != course.patient_id:
        raise ValidationError({"stop_adverse_event": "That adverse event belongs to another patient."})
    course.stopped_on = stopped_on
    course.stop_reason = reason
    course.stop_adverse_event = adverse_event
    course.stop_note = note
    course.full_clean()
    course.save()
    # Steps after the stop will never be given: the plan ends with the course.
    course.taper_plans.filter(is_active=True).update(is_active=False)
    return course


@transaction.atomic
def stop_course(
    *,
    course: MedicationCourse,
    stopped_on: date,
    reason: str,
    user,
    adverse_event: AdverseEvent | NewAdverseEvent | None = None,
    note: str = "",
) -> MedicationCourse:
    """Stop a course. The reason is required; intolerance names the adverse event (an existing or a new one)."""
    _stop(course, stopped_on=stopped_on, reason=reason, adverse_event=adverse_event, note=note)
    enqueue_evaluation(course.patient_id)
    return course


@transaction.atomic
def switch_course(
    *,
    course: MedicationCourse,
    switched_on: date,
    stop_reason: str,
    drug: Drug,
    dose_mg_per_day: float,
    prescriber,
    adverse_event: AdverseEvent | NewAdverseEvent | None = None,
    stop_note: str = "",
    line_of_therapy: int | None = None,
    schedule: str = "",
    override_reason: str = "",
    overridden_rules: Collection[str] | None = None,
) -> MedicationCourse:
    """Stop one course and start another on the same day, all or nothing (e.g. AZA -> MMF for intolerance)."""
    patient = course.patient
    check = safety_check(
        patient,
        Prescription(
            switched_on,
            start=new_course(drug, switched_on, dose_mg_per_day),
            stop_course_id=course.pk,
            stop_reason=stop_reason,
        ),
    )
    _require_override(check, override_reason, overridden_rules)
    note = stop_note or f"Switched to {drug.name}."
    _stop(course, stopped_on=switched_on, reason=stop_reason, adverse_event=adverse_event, note=note)
    new = _create_course(
        patient=patient,
        drug=drug,
        started_on=switched_on,
        dose_mg_per_day=dose_mg_per_day,
        prescriber=prescriber,
        line_of_therapy=line_of_therapy or course.line_of_therapy + 1,
        schedule=schedule,
    )
    _record_overrides(check, patient=patient, course=new, reason=override_reason, user=prescriber)
    enqueue_evaluation(patient.pk)
    return new


@transaction.atomic
def record_adverse_event(
    *, patient: Patient, course: MedicationCourse | None, kind: str, onset_on: date, description: str = ""
) -> AdverseEvent:
    event = AdverseEvent(patient=patient, course=course, kind=kind, onset_on=onset_on, description=description)
    event.full_clean()
    event.save()
    return event


def validate_steps(earliest: date, steps: Sequence[StepInput]) -> None:
    """At least one step, none before `earliest` (the course start), dates increasing, doses not negative."""
    if not steps:
        raise ValidationError("A taper plan needs at least one step.")
    if steps[0].starts_on < earliest:
        raise ValidationError(f"No step can start before the course ({earliest:%d %b %Y}).")
    for earlier, later in zip(steps, steps[1:], strict=False):
        if later.starts_on <= earlier.starts_on:
            raise ValidationError(f"Step dates must increase: {later.starts_on} is not after {earlier.starts_on}.")
    if any(step.dose_mg_per_day < 0 for step in steps):
        raise ValidationError("A dose cannot be negative.")


@transaction.atomic
def save_taper_plan(*, course: MedicationCourse, protocol: str, steps: Sequence[StepInput], user) -> TaperPlan:
    """Store the edited steps as the course's active plan (an earlier plan is kept, inactive).

    Dose changes already recorded on a step's date are linked to it (planned vs actual).
    """
    if protocol and protocol not in PROTOCOLS:
        raise ValidationError({"protocol": "Unknown protocol."})
    validate_steps(course.started_on, steps)
    course.taper_plans.filter(is_active=True).update(is_active=False)
    plan = TaperPlan.objects.create(course=course, protocol=protocol or "custom", created_by=user)
    created = [
        TaperStep.objects.create(
            plan=plan,
            sequence=index,
            starts_on=step.starts_on,
            dose_mg_per_day=step.dose_mg_per_day,
            note=step.note,
            after_normalisation=step.after_normalisation,
            months_after_normalisation=step.months_after_normalisation,
            weeks_after_normalisation=step.weeks_after_normalisation,
        )
        for index, step in enumerate(steps, start=1)
    ]
    by_date = {step.starts_on: step for step in created}
    for change in course.dose_changes.filter(effective_on__in=list(by_date)):
        change.taper_step = by_date[change.effective_on]
        change.save(update_fields=["taper_step"])
    return plan


# -- planned vs actual -----------------------------------------------------------------------------


def normalisation_dates(patient: Patient, course_starts: dict[int, date], today: date) -> dict[int, date | None]:
    """{course id: the day the engine found the aminotransferases normalised since the course started,
    or None}: when a taper step "at normalisation" is due from."""
    if not course_starts:
        return {}
    timeline, params = patient_timeline(patient)
    history = Context(timeline, today, params).response
    return {course_id: normalised_on(history, start) for course_id, start in course_starts.items()}


def _anchored(step) -> dict:
    return {
        "after_normalisation": step.after_normalisation,
        "months_after_normalisation": step.months_after_normalisation,
        "weeks_after_normalisation": step.weeks_after_normalisation,
    }


def plan_status(plan: TaperPlan, today: date) -> list[tuple[TaperStep, StepStatus]]:
    """Each step of a plan with its state (given / late / missed / due / upcoming / waiting)."""
    rows = []
    steps = list(plan.steps.prefetch_related("actual_doses").order_by("sequence"))
    normalised = None
    if any(step.after_normalisation for step in steps):
        course = plan.course
        normalised = normalisation_dates(course.patient, {course.pk: course.started_on}, today)[course.pk]
    for step in steps:
        actual = min(step.actual_doses.all(), key=lambda d: d.effective_on, default=None)
        rows.append(
            (
                step,
                step_status(
                    sequence=step.sequence,
                    starts_on=step.starts_on,
                    dose_mg_per_day=step.dose_mg_per_day,
                    actual_on=actual.effective_on if actual else None,
                    actual_mg_per_day=actual.dose_mg_per_day if actual else None,
                    today=today,
                    **_anchored(step),
                    normalised_on=normalised,
                ),
            )
        )
    return rows


@dataclass(frozen=True)
class TaperAttention:
    drug: str
    course_id: int
    status: StepStatus


def taper_attention(patient: Patient, today: date) -> list[TaperAttention]:
    """Missed or late steps of the patient's active taper plans, for the patient page (one query)."""
    rows = (
        TaperStep.objects.filter(plan__course__patient=patient, plan__is_active=True)
        .order_by("plan__course__started_on", "sequence", "actual_doses__effective_on")
        .values_list(
            "pk",
            "plan__course_id",
            "plan__course__drug__name",
            "sequence",
            "starts_on",
            "dose_mg_per_day",
            "actual_doses__effective_on",
            "actual_doses__dose_mg_per_day",
            "after_normalisation",
            "months_after_normalisation",
            "weeks_after_normalisation",
            "plan__course__started_on",
        )
    )
    rows = list(rows)
    starts = {row[1]: row[-1] for row in rows if row[-4]}  # courses with a step at normalisation
    normalised = normalisation_dates(patient, starts, today)
    found, seen = [], set()
    for pk, course_id, drug, sequence, starts_on, dose, actual_on, actual_dose, anchored, months, weeks, _ in rows:
        if pk in seen:
            continue  # the earliest dose recorded for the step is the one that counts
        seen.add(pk)
        status = step_status(
            sequence=sequence,
            starts_on=starts_on,
            dose_mg_per_day=dose,
            actual_on=actual_on,
            actual_mg_per_day=actual_dose,
            today=today,
            after_normalisation=anchored,
            months_after_normalisation=months,
            weeks_after_normalisation=weeks,
            normalised_on=normalised.get(course_id),
        )
        if status.needs_attention:
            found.append(TaperAttention(drug, course_id, status))
    return found
