"""The physician's regimen pages under a patient: overview, start, change dose, stop, switch, taper plan.

Prescriptions are two steps: the form, then a confirm page with the safety findings (critical ones
need an override reason) and, for a taper, the editable steps. Nothing is written before the
confirm step, and the service re-checks on save.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from aih_tracker.access import get_patient_for_user, require_action
from aih_tracker.roles import Action
from regimens import services
from regimens.forms import (
    ChangeDoseForm,
    OverrideForm,
    StartCourseForm,
    StopCourseForm,
    SwitchCourseForm,
    TaperPlanForm,
    TaperStepFormSet,
    step_initial,
)
from regimens.models import AdverseEvent, AdverseEventKind, MedicationCourse, PrescribingOverride, TaperPlan
from regimens.prescribing import PRESCRIBING_RULES, Prescription
from regimens.protocols import BY_CODE as PROTOCOLS
from regimens.services import PrescribingBlocked


def _course(patient, course_pk: int) -> MedicationCourse:
    return get_object_or_404(MedicationCourse.objects.select_related("drug", "patient"), patient=patient, pk=course_pk)


def _stage(request: HttpRequest) -> str:
    """'form' (GET, or back to edit), 'check' (first submit), 'confirm' (submit from the confirm page)."""
    if request.method != "POST" or "edit" in request.POST:
        return "form"
    return "confirm" if "confirm" in request.POST else "check"


def _blocked(override: OverrideForm, blocked: PrescribingBlocked) -> None:
    rules = ", ".join(f.rule_id for f in blocked.findings)
    override.add_error(
        "override_reason", f"A critical finding blocks this prescription: give the reason to override {rules}."
    )


def _adverse_event(form) -> AdverseEvent | services.NewAdverseEvent | None:
    """The adverse event the stop names: chosen, or to be recorded with the stop (intolerance only)."""
    data = form.cleaned_data
    if data.get("adverse_event") or data.get("stop_reason") != "intolerance":
        return data.get("adverse_event")
    return services.NewAdverseEvent(
        data["new_event_kind"], data["new_event_onset"], data.get("new_event_description", "")
    )


@require_action(Action.VIEW_PATIENTS)
def regimen(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    today = timezone.localdate()
    courses = list(
        patient.courses.select_related("drug", "prescriber", "stop_adverse_event").prefetch_related("dose_changes")
    )
    for course in courses:
        course.current_dose = max(course.dose_changes.all(), key=lambda change: change.effective_on, default=None)
    plans = list(TaperPlan.objects.filter(course__patient=patient, is_active=True).select_related("course__drug"))
    for plan in plans:
        protocol = PROTOCOLS.get(plan.protocol)
        plan.protocol_name = protocol.name if protocol else plan.protocol  # "custom", or a code from elsewhere
    context = {
        "patient": patient,
        "active_courses": [c for c in courses if c.stopped_on is None],
        "past_courses": [c for c in courses if c.stopped_on is not None],
        "plans": [(plan, services.plan_status(plan, today)) for plan in plans],
        "overrides": PrescribingOverride.objects.filter(patient=patient).select_related(
            "course__drug", "overridden_by"
        ),
        "can_prescribe": request.user.can(Action.PRESCRIBE),
        "today": today,
    }
    return render(request, "regimens/regimen.html", context)


@require_action(Action.PRESCRIBE)
def start_course(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    stage = _stage(request)
    form = StartCourseForm(request.POST if request.method == "POST" else None, patient=patient)
    context = {"patient": patient, "form": form, "title": "Start a course"}
    if request.htmx and "preview" in request.POST:
        form.is_valid()  # errors and the generated steps show in the preview
        return render(request, "regimens/start_course.html#preview", context)
    valid = form.is_valid() if form.is_bound else False  # back to edit: the preview shows the steps again
    if stage == "form" or not valid:
        return render(request, "regimens/start_course.html", context)
    data = form.cleaned_data
    start = data["started_on"]
    check = services.safety_check(
        patient, Prescription(start, start=services.new_course(data["drug"], start, form.mg_per_day))
    )
    confirming = stage == "confirm"
    override = OverrideForm(request.POST if confirming else None, blocking=check.blocking)
    formset = None
    if form.planned_steps:
        formset = TaperStepFormSet(
            request.POST if confirming else None,
            initial=step_initial(form.planned_steps),
            prefix="steps",
            earliest=start,
            first_on=start,
        )
    if confirming and override.is_valid() and (formset is None or formset.is_valid()):
        steps = formset.steps() if formset else []
        try:
            course = services.start_course(
                patient=patient,
                drug=data["drug"],
                started_on=start,
                dose_mg_per_day=steps[0].dose_mg_per_day if steps else form.mg_per_day,
                prescriber=request.user,
                line_of_therapy=data["line_of_therapy"],
                schedule=data.get("schedule", ""),
                protocol=data.get("protocol", ""),
                taper_steps=steps,
                override_reason=override.cleaned_data["override_reason"],
                overridden_rules=override.cleaned_data["overridden_rules"],
            )
        except PrescribingBlocked as blocked:
            _blocked(override, blocked)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{course.drug} started on {course.started_on:%d %b %Y}.")
            return redirect("regimens:regimen", pk=patient.pk)
    context |= {"check": check, "override": override, "formset": formset, "rules": PRESCRIBING_RULES}
    return render(request, "regimens/start_course.html", context | {"confirm": True})


@require_action(Action.PRESCRIBE)
def change_dose(request: HttpRequest, pk: int, course_pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    course = _course(patient, course_pk)
    if course.stopped_on is not None:
        messages.error(request, "This course has stopped: start a new course instead.")
        return redirect("regimens:regimen", pk=patient.pk)
    stage = _stage(request)
    initial = {"taper_step": request.GET.get("step")} if request.method == "GET" else None
    form = ChangeDoseForm(request.POST if request.method == "POST" else None, course=course, initial=initial)
    context = {"patient": patient, "course": course, "form": form, "title": f"Change the dose of {course.drug}"}
    if stage == "form" or not form.is_valid():
        return render(request, "regimens/change_dose.html", context)
    data = form.cleaned_data
    on = data["effective_on"]
    check = services.safety_check(
        patient, Prescription(on, dose_change_course_id=course.pk, dose_mg_per_day=form.mg_per_day)
    )
    # Nothing to confirm: save straight away.
    confirming = stage == "confirm" or not (check.findings or check.not_evaluable)
    override = OverrideForm(request.POST if confirming else None, blocking=check.blocking)
    if confirming and override.is_valid():
        try:
            services.change_dose(
                course=course,
                effective_on=on,
                dose_mg_per_day=form.mg_per_day,
                user=request.user,
                schedule=data.get("schedule", ""),
                note=data.get("note", ""),
                taper_step=data.get("taper_step"),
                override_reason=override.cleaned_data["override_reason"],
                overridden_rules=override.cleaned_data["overridden_rules"],
            )
        except PrescribingBlocked as blocked:
            _blocked(override, blocked)
        except ValidationError as error:
            form.add_error(None, error)
            return render(request, "regimens/change_dose.html", context)
        else:
            messages.success(request, f"{course.drug}: {form.mg_per_day:g} mg/day from {on:%d %b %Y}.")
            return redirect("regimens:regimen", pk=patient.pk)
    context |= {"check": check, "override": override, "confirm": True, "rules": PRESCRIBING_RULES}
    return render(request, "regimens/change_dose.html", context)


@require_action(Action.PRESCRIBE)
def stop_course(request: HttpRequest, pk: int, course_pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    course = _course(patient, course_pk)
    if course.stopped_on is not None:
        messages.error(request, "This course has already stopped.")
        return redirect("regimens:regimen", pk=patient.pk)
    form = StopCourseForm(request.POST if request.method == "POST" else None, course=course)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.stop_course(
                course=course,
                stopped_on=data["stopped_on"],
                reason=data["stop_reason"],
                user=request.user,
                adverse_event=_adverse_event(form),
                note=data.get("stop_note", ""),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{course.drug} stopped on {course.stopped_on:%d %b %Y}.")
            return redirect("regimens:regimen", pk=patient.pk)
    context = {"patient": patient, "course": course, "form": form, "title": f"Stop {course.drug}"}
    return render(request, "regimens/stop_course.html", context)


@require_action(Action.PRESCRIBE)
def switch_course(request: HttpRequest, pk: int, course_pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    course = _course(patient, course_pk)
    if course.stopped_on is not None:
        messages.error(request, "This course has already stopped: start a new course instead.")
        return redirect("regimens:regimen", pk=patient.pk)
    stage = _stage(request)
    form = SwitchCourseForm(request.POST if request.method == "POST" else None, course=course)
    context = {"patient": patient, "course": course, "form": form, "title": f"Switch from {course.drug}"}
    if stage == "form" or not form.is_valid():
        return render(request, "regimens/switch_course.html", context)
    data = form.cleaned_data
    on = data["stopped_on"]
    prescription = Prescription(
        on,
        start=services.new_course(data["drug"], on, form.mg_per_day),
        stop_course_id=course.pk,
        stop_reason=data["stop_reason"],
    )
    check = services.safety_check(patient, prescription)
    confirming = stage == "confirm"
    override = OverrideForm(request.POST if confirming else None, blocking=check.blocking)
    if confirming and override.is_valid():
        try:
            new = _switch(request, form, course, on, override.cleaned_data)
        except PrescribingBlocked as blocked:
            _blocked(override, blocked)
        except ValidationError as error:
            form.add_error(None, error)
            return render(request, "regimens/switch_course.html", context)
        else:
            messages.success(request, f"Switched from {course.drug} to {new.drug} on {on:%d %b %Y}.")
            return redirect("regimens:regimen", pk=patient.pk)
    context |= {"check": check, "override": override, "confirm": True, "rules": PRESCRIBING_RULES}
    context["stop_summary"] = _stop_summary(data)
    return render(request, "regimens/switch_course.html", context)


def _stop_summary(data: dict) -> str:
    """'intolerance: nausea / vomiting (new adverse event)' for the confirm page."""
    reason = data["stop_reason"].replace("_", "-")
    if data.get("adverse_event"):
        return f"{reason}: {str(data['adverse_event']).lower()}"
    if reason == "intolerance" and data.get("new_event_kind"):
        return f"{reason}: {AdverseEventKind(data['new_event_kind']).label.lower()} (new adverse event)"
    return reason


def _switch(request: HttpRequest, form: SwitchCourseForm, course: MedicationCourse, on, override: dict):
    data = form.cleaned_data
    return services.switch_course(
        course=course,
        switched_on=on,
        stop_reason=data["stop_reason"],
        adverse_event=_adverse_event(form),
        stop_note=data.get("stop_note", ""),
        drug=data["drug"],
        dose_mg_per_day=form.mg_per_day,
        prescriber=request.user,
        line_of_therapy=data["line_of_therapy"],
        schedule=data.get("schedule", ""),
        override_reason=override["override_reason"],
        overridden_rules=override["overridden_rules"],
    )


@require_action(Action.PRESCRIBE)
def taper_plan(request: HttpRequest, pk: int, course_pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    course = _course(patient, course_pk)
    stage = _stage(request)
    form = TaperPlanForm(request.POST if request.method == "POST" else None, course=course)
    context = {"patient": patient, "course": course, "form": form, "title": f"Taper plan for {course.drug}"}
    if not form.fields["protocol"].choices:
        messages.error(request, f"No taper protocol is defined for {course.drug}.")
        return redirect("regimens:regimen", pk=patient.pk)
    if stage == "form" or not form.is_valid():
        return render(request, "regimens/taper_plan.html", context)
    confirming = stage == "confirm"
    formset = TaperStepFormSet(
        request.POST if confirming else None,
        initial=step_initial(form.planned_steps),
        prefix="steps",
        earliest=course.started_on,
    )
    if confirming and formset.is_valid():
        try:
            services.save_taper_plan(
                course=course, protocol=form.cleaned_data["protocol"], steps=formset.steps(), user=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Taper plan saved for {course.drug}.")
            return redirect("regimens:regimen", pk=patient.pk)
    context |= {"formset": formset, "confirm": True}
    return render(request, "regimens/taper_plan.html", context)
