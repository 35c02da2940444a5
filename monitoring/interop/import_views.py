"""Bulk upload of HL7 v2 / FHIR files with its progress page, and a patient's FHIR export. Thin views."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from aih_tracker.access import get_patient_for_user, require_action
from aih_tracker.models import Clinic
from aih_tracker.roles import Action
from monitoring.interop.bulk import MAX_FILE_BYTES, batch_messages, batch_progress, start_batch
from monitoring.interop.fhir_export import export_patient_json


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".hl7,.txt,.json,.gz"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not files:
            return [super().clean(None, initial)]  # raises "This field is required."
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class UploadForm(forms.Form):
    files = MultipleFileField(label="HL7 v2 or FHIR JSON files", help_text="One or many; .hl7, .json, .json.gz.")

    def clean_files(self):
        files = self.cleaned_data["files"]
        too_big = [f.name for f in files if f.size > MAX_FILE_BYTES]
        if too_big:
            raise forms.ValidationError(f"Larger than {MAX_FILE_BYTES // 2**20} MB: {', '.join(too_big)}.")
        return files


def _clinic(user):
    return user.clinic or Clinic.default()


@require_action(Action.LOG_VISITS)
def bulk_import(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if form.is_bound and form.is_valid():
        # Read one file at a time as it is stored (Django keeps large uploads on disk until then).
        files = ((upload.name, upload.read()) for upload in form.cleaned_data["files"])
        batch_id = start_batch(clinic=_clinic(request.user), files=files)
        return redirect("monitoring:import_batch", batch_id=batch_id)
    return render(request, "monitoring/bulk_import.html", {"form": form})


@require_action(Action.LOG_VISITS)
def import_batch(request: HttpRequest, batch_id: str) -> HttpResponse:
    clinic = _clinic(request.user)
    if not batch_messages(clinic, batch_id).exists():
        raise Http404("No such import.")
    context = {"progress": batch_progress(clinic, batch_id)}
    template = "monitoring/import_batch.html#progress" if request.htmx else "monitoring/import_batch.html"
    return render(request, template, context)


@require_action(Action.EXPORT_DATA)
def patient_fhir(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's record as a FHIR R4 Bundle, downloaded as a file."""
    patient = get_patient_for_user(request, pk)
    response = HttpResponse(export_patient_json(patient), content_type="application/fhir+json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="patient-{patient.pk}-fhir.json"'
    return response
