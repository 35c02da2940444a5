"""Log a visit in one screen: weight, lab panel, doses taken, adherence, adverse events, examination."""

from __future__ import annotations

import re
import uuid
from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from aih_tracker.access import get_patient_for_user, require_action
from aih_tracker.roles import Action
from monitoring.catalogue import VISIT_PANEL
from monitoring.clinic_parameters import parameters_for_clinic
from monitoring.labs import entry as lab_entry
from monitoring.labs.ranges import default_ranges
from monitoring.models import Analyte
from patients.forms import (
    AdverseEventForm,
    AdverseEventFormSet,
    LabContext,
    LabFormSet,
    LabRowForm,
    MedicineFormSet,
    VisitForm,
)
from patients.models import Patient
from patients.services import (
    AdverseEventEntry,
    AlreadySaved,
    MedicineEntry,
    VisitEntry,
    log_visit,
    visit_saved_from,
)
from patients.views_intake import total_forms, with_extra_row
from regimens.models import AdverseEvent, MedicationCourse

TEMPLATE = "patients/visit_form.html"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


class VisitScreen:
    """Builds the visit screen's forms for one patient (GET: blank with defaults; POST: bound)."""

    def __init__(self, patient: Patient, data=None):
        self.patient = patient
        self.data = data
        self.analytes = {a.code: a for a in Analyte.objects.all()}
        self.params = parameters_for_clinic(patient.clinic_id)
        self.ranges = default_ranges(clinic_id=patient.clinic_id, sex=patient.sex, analytes=self.analytes.values())
        self.courses = {c.pk: c for c in MedicationCourse.objects.filter(patient=patient).select_related("drug")}
        self.visit_form = VisitForm(
            data, patient=patient, initial={"visit_date": _today(), "labs_collected_on": _today()}
        )
        cleaned = self.visit_form.cleaned_data if data is not None and self.visit_form.is_valid() else {}
        self.visit_date: date | None = cleaned.get("visit_date") if data is not None else _today()
        self.collected_on: date | None = cleaned.get("labs_collected_on") if data is not None else _today()

    def lab_context(self, collected_on: date | None) -> LabContext:
        existing = (
            lab_entry.results_on(patient=self.patient, on=collected_on, analytes=self.analytes.values())
            if collected_on
            else {}
        )
        return LabContext(
            sex=self.patient.sex, params=self.params, ranges=self.ranges, collected_on=collected_on, existing=existing
        )

    def lab_initial(self, code: str) -> dict:
        analyte = self.analytes[code]
        unit = lab_entry.display_unit(analyte, analyte.canonical_unit)
        default = self.ranges.get(code)
        return {
            "analyte": code,
            "unit": unit,
            "range_unit": unit,
            "ref_low": _number(default.low) if default else "",
            "ref_high": _number(default.high) if default else "",
        }

    def running_courses(self, on: date) -> list[MedicationCourse]:
        return sorted((c for c in self.courses.values() if c.is_active_on(on)), key=lambda c: c.drug.name)

    def forms(self):
        running = self.running_courses(self.visit_date or _today())
        kwargs = {"analytes": self.analytes, "context": self.lab_context(self.collected_on)}
        labs = LabFormSet(
            self.data,
            prefix="labs",
            form_kwargs=kwargs,
            initial=[self.lab_initial(code) for code in VISIT_PANEL if code in self.analytes],
        )
        medicines = MedicineFormSet(
            self.data,
            prefix="meds",
            form_kwargs={"courses": self.courses, "visit_date": self.visit_date},
            initial=[{"course": c.pk} for c in running],
        )
        events = AdverseEventFormSet(
            self.data, prefix="events", queryset=AdverseEvent.objects.none(), form_kwargs={"patient": self.patient}
        )
        return labs, medicines, events

    def addable_analytes(self) -> list[Analyte]:
        return sorted(self.analytes.values(), key=lambda a: a.name)


def _today() -> date:
    return timezone.localdate()


@require_action(Action.LOG_VISITS)
def visit_new(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    data = request.POST if request.method == "POST" else None
    adding = data.get("add_row") if data else None
    if adding == "labs":
        data = _with_extra_lab(data, data.get("add_analyte", ""), patient)
    elif adding == "events":
        data = with_extra_row(data, "events")
    screen = VisitScreen(patient, data)
    labs, medicines, events = screen.forms()
    key = submission_key(data)
    failed = ""
    if data is not None and not adding and (earlier := visit_saved_from(patient, key)):
        return _already_saved(request, earlier)  # before the checks: a resend is not a second visit
    if data is not None and not adding:
        valid = [screen.visit_form.is_valid(), labs.is_valid(), medicines.is_valid(), events.is_valid()]
        if all(valid):
            try:
                entry = _entry(screen, labs, medicines, events)
                visit = log_visit(patient=patient, user=request.user, entry=entry, submission_key=key)
            except AlreadySaved as again:
                return _already_saved(request, again.visit)
            except ValidationError as error:
                failed = "Nothing was saved: " + " ".join(error.messages)
            else:
                count = len(labs.entries)
                messages.success(
                    request, f"Visit on {visit.visit_date:%d %b %Y} saved with {count} result{'s' * (count != 1)}."
                )
                return redirect("patients:detail", patient.pk)
        else:
            failed = "The visit was not saved: correct the fields marked below. Nothing you typed was lost."
    context = {
        "patient": patient,
        "visit_form": screen.visit_form,
        "labs": labs,
        "medicines": medicines,
        "events": events,
        "addable": screen.addable_analytes(),
        "failed": failed,
        "submission_key": key,
    }
    return render(request, TEMPLATE, context)


def _already_saved(request: HttpRequest, visit) -> HttpResponse:
    messages.info(
        request,
        f"This visit form was sent twice; the visit on {visit.visit_date:%d %b %Y} was saved once, "
        "and nothing was saved again.",
    )
    return redirect("patients:detail", visit.patient_id)


def submission_key(data) -> str:
    """The form's one-time key: new when the form is first shown, kept while it is corrected and
    resent, so that sending the same visit twice saves it once. A missing or malformed key gets a
    fresh one (nothing to match it against)."""
    posted = data.get("submission_key", "") if data is not None else ""
    return posted if re.fullmatch(r"[0-9a-f]{32}", posted) else uuid.uuid4().hex


def _with_extra_lab(data, code: str, patient: Patient):
    """No-JavaScript "Add test": one more lab row for `code`, with its default unit and range."""
    screen = VisitScreen(patient)
    if code not in screen.analytes:
        return data
    try:
        index = int(data.get("labs-TOTAL_FORMS", ""))
    except ValueError:
        return data  # a tampered form: the formset reports its broken management data
    data = with_extra_row(data, "labs")
    for name, value in screen.lab_initial(code).items():
        data[f"labs-{index}-{name}"] = value
    return data


def _entry(screen: VisitScreen, labs, medicines, events) -> VisitEntry:
    visit = screen.visit_form.cleaned_data
    medicine_entries = []
    for form in medicines.forms:
        data = form.cleaned_data
        if not (data.get("taken") or data.get("adherence_method")):
            continue
        medicine_entries.append(
            MedicineEntry(
                course=form.course_obj,
                dose_taken=data.get("dose_taken") if data.get("taken") == "different" else None,
                adherence_method=data.get("adherence_method", ""),
                missed_doses=data.get("missed_doses") or 0,
                lapse_reason=data.get("lapse_reason", ""),
                full_adherence_confirmed=bool(data.get("full_adherence_confirmed")),
            )
        )
    event_entries = [
        AdverseEventEntry(
            kind=form.cleaned_data["kind"],
            onset_on=form.cleaned_data["onset_on"],
            course=form.cleaned_data.get("course"),
            grade=form.cleaned_data.get("grade"),
            description=form.cleaned_data.get("description", ""),
            resolved_on=form.cleaned_data.get("resolved_on"),
        )
        for form in events.forms
        if form.has_changed() and form.cleaned_data
    ]
    return VisitEntry(
        visit_date=visit["visit_date"],
        labs_collected_on=visit["labs_collected_on"],
        ascites=visit["ascites"],
        encephalopathy_grade=visit["encephalopathy_grade"],
        jaundice=visit["jaundice"],
        notes=visit["notes"],
        weight_kg=visit["weight_kg"],
        labs=labs.entries,
        medicines=medicine_entries,
        adverse_events=event_entries,
    )


# -- htmx fragments ------------------------------------------------------------------------------


def _lab_row_response(request: HttpRequest, form: LabRowForm, **extra) -> HttpResponse:
    return render(request, f"{TEMPLATE}#{extra.pop('partial', 'lab_row')}", {"form": form, **extra})


@require_POST
@require_action(Action.LOG_VISITS)
def visit_lab_row(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: re-check one lab row as it is typed (converted value, refusals, warnings)."""
    patient = get_patient_for_user(request, pk)
    prefix = request.POST.get("row", "")
    if not prefix.startswith("labs-") or not prefix[5:].isdigit():
        raise Http404
    screen = VisitScreen(patient)
    data = request.POST.copy()
    unit_changed = _follow_unit_change(data, prefix, screen.analytes)
    collected_on = _parse_date(data.get("labs_collected_on"))
    form = LabRowForm(data, prefix=prefix, analytes=screen.analytes, context=screen.lab_context(collected_on))
    form.is_valid()
    return _lab_row_response(request, form, partial="lab_feedback", patient=patient, unit_changed=unit_changed)


def _follow_unit_change(data, prefix: str, analytes: dict[str, Analyte]) -> bool:
    """When the unit changes, show the typed reference range in the new unit too (True if it did)."""
    analyte = analytes.get(data.get(f"{prefix}-analyte", ""))
    unit, range_unit = data.get(f"{prefix}-unit", ""), data.get(f"{prefix}-range_unit", "")
    if not analyte or unit == range_unit or unit not in analyte.units or range_unit not in analyte.units:
        return False
    for name in ("ref_low", "ref_high"):
        try:
            value = float(data.get(f"{prefix}-{name}", ""))
        except ValueError:
            continue
        data[f"{prefix}-{name}"] = _number(
            lab_entry.from_canonical(analyte, analyte.to_canonical(value, range_unit), unit)
        )
    data[f"{prefix}-range_unit"] = unit
    return True


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@require_POST
@require_action(Action.LOG_VISITS)
def visit_medicines(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: the visit date changed; list the courses running on it, keeping answers already given."""
    patient = get_patient_for_user(request, pk)
    screen = VisitScreen(patient)
    on = _parse_date(request.POST.get("visit_date")) or _today()
    answers = _medicine_answers(request.POST)
    initial = [{**answers.get(course.pk, {}), "course": course.pk} for course in screen.running_courses(on)]
    medicines = MedicineFormSet(
        prefix="meds", initial=initial, form_kwargs={"courses": screen.courses, "visit_date": on}
    )
    return render(request, f"{TEMPLATE}#medicines", {"medicines": medicines, "patient": patient})


def _medicine_answers(data) -> dict[int, dict[str, str]]:
    """What was typed in each medicine row, by course id."""
    fields = ("taken", "dose_taken", "adherence_method", "missed_doses", "lapse_reason", "full_adherence_confirmed")
    answers = {}
    for key, course in data.items():
        if key.startswith("meds-") and key.endswith("-course") and course.isdigit():
            row = key[: -len("course")]
            answers[int(course)] = {name: data.get(row + name, "") for name in fields}
    return answers


@require_GET
@require_action(Action.LOG_VISITS)
def visit_add_lab(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: a new lab row for any catalogue analyte, appended to the grid."""
    patient = get_patient_for_user(request, pk)
    screen = VisitScreen(patient)
    code = request.GET.get("add_analyte", "")
    if code not in screen.analytes:
        return HttpResponse(status=204)
    index = total_forms(request, "labs")
    form = LabRowForm(
        prefix=f"labs-{index}",
        initial=screen.lab_initial(code),
        analytes=screen.analytes,
        context=screen.lab_context(None),
        use_required_attribute=False,
    )
    return _lab_row_response(request, form, partial="new_lab_row", prefix="labs", total=index + 1, patient=patient)


@require_GET
@require_action(Action.LOG_VISITS)
def visit_add_event(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: one more adverse-event row."""
    patient = get_patient_for_user(request, pk)
    index = total_forms(request, "events")
    form = AdverseEventForm(
        prefix=f"events-{index}", patient=patient, use_required_attribute=False, empty_permitted=True
    )
    context = {"form": form, "prefix": "events", "total": index + 1, "patient": patient}
    return render(request, f"{TEMPLATE}#new_event_row", context)
