"""Register and edit patients (clinic staff). Thin: parse → authorise → call a service → render."""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from aih_tracker.access import get_patient_for_user, require_action
from aih_tracker.models import Clinic
from aih_tracker.roles import Action
from patients.forms import INTAKE_FORMSETS, PatientForm
from patients.models import Patient
from patients.services import DuplicateMRN, EditConflict, edit_version, save_patient_intake

TEMPLATE = "patients/patient_form.html"


def with_extra_row(data: QueryDict, prefix: str) -> QueryDict:
    """The posted data with one more (empty) form in formset `prefix`: "Add another" without JavaScript."""
    data = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    with contextlib.suppress(ValueError):
        data[key] = str(int(data.get(key, "0")) + 1)
    return data


def total_forms(request: HttpRequest, prefix: str) -> int:
    try:
        return max(0, int(request.GET.get(f"{prefix}-TOTAL_FORMS", "0")))
    except ValueError:
        return 0


@require_action(Action.EDIT_PATIENTS)
def patient_register(request: HttpRequest) -> HttpResponse:
    clinic_id = request.user.clinic_id or Clinic.default().pk
    return _intake(request, Patient(clinic_id=clinic_id))


@require_action(Action.EDIT_PATIENTS)
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _intake(request, get_patient_for_user(request, pk))


def _intake(request: HttpRequest, patient: Patient) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    adding = data.get("add_row") if data else None
    if adding in INTAKE_FORMSETS:
        data = with_extra_row(data, adding)
    record_models = [cls.model for cls in INTAKE_FORMSETS.values()]
    # The version this edit began from travels with the form, so a save over someone else's is caught.
    version = data.get("edited_version", "") if data is not None else edit_version(patient, record_models)
    conflict = None
    form = PatientForm(data, instance=patient, clinic_id=patient.clinic_id)
    formsets = [cls(data, instance=patient, prefix=prefix) for prefix, cls in INTAKE_FORMSETS.items()]
    if data is not None and not adding and all([form.is_valid()] + [fs.is_valid() for fs in formsets]):
        is_new = patient.pk is None
        records = [record for fs in formsets for record in fs.save(commit=False)]
        if not is_new and not form.has_changed() and not records:
            messages.info(request, "Nothing was changed, so nothing was saved.")
            return redirect("patients:detail", patient.pk)
        try:
            saved = save_patient_intake(
                patient=form.save(commit=False),
                records=records,
                expected_version=version,
                record_models=record_models,
                patient_changed=form.has_changed(),
            )
        except DuplicateMRN as duplicate:
            form.mrn_owner = duplicate.existing
            form.add_error("mrn", "This MRN was registered in this clinic a moment ago by someone else.")
        except EditConflict as changed:
            # Keep what was typed; a second save, knowingly, goes over the newer version.
            conflict, version = changed, changed.current_version
        else:
            messages.success(request, f"{saved} {'registered' if is_new else 'updated'}.")
            return redirect("patients:detail", saved.pk)
    failed = data is not None and not adding and conflict is None
    context = {
        "form": form,
        "formsets": formsets,
        "patient": patient,
        "is_new": patient.pk is None,
        "failed": failed,
        "conflict": conflict,
        "edited_version": version,
    }
    return render(request, TEMPLATE, context, status=200)


@require_GET
@require_action(Action.EDIT_PATIENTS)
def intake_row(request: HttpRequest, prefix: str) -> HttpResponse:
    """htmx: one more empty row for an intake table (the button's form post does the same without JS)."""
    formset_class = INTAKE_FORMSETS.get(prefix)
    if formset_class is None:
        raise Http404
    index = total_forms(request, prefix)
    form = formset_class.form(prefix=f"{prefix}-{index}", use_required_attribute=False, empty_permitted=True)
    context = {"form": form, "prefix": prefix, "total": index + 1, "row_number": index + 1}
    return render(request, f"{TEMPLATE}#new_row", context)
