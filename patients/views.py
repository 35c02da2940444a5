from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from aih_tracker.access import get_patient_for_user, patients_for_user, require_action
from aih_tracker.roles import Action

from .models import PatientStatus
from .summary import patient_summary

PATIENTS_PER_PAGE = 25


@require_action(Action.VIEW_PATIENTS)
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    status = request.GET.get("status", PatientStatus.ACTIVE)
    patients = patients_for_user(request.user).search(query)
    if status in PatientStatus.values:
        patients = patients.filter(status=status)
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "query": query, "status": status, "statuses": PatientStatus.choices}
    template = "patients/patient_list.html#results" if request.htmx else "patients/patient_list.html"
    return render(request, template, context)


@require_action(Action.VIEW_PATIENTS)
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    return render(request, "patients/patient_detail.html", {"patient": patient, **patient_summary(patient)})
