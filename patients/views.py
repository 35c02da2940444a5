from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from aih_tracker.access import get_patient_for_user, patients_for_user, require_action
from aih_tracker.roles import Action
from monitoring.record.summary import chart_choice, chart_context, load_patient_page, patient_summary, physician_panel
from monitoring.record.summary import clinic_summary as gp_summary
from patients.models import PatientStatus

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
    today = timezone.localdate()
    panel, range_key = chart_choice(request.GET)
    timeline, params = load_patient_page(patient)
    context = {
        "patient": patient,
        **chart_context(patient, timeline, params, panel=panel, range_key=range_key, today=today),
    }
    # A history restore (back button after a cache miss) needs the whole page, not the fragment.
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "patients/patient_detail.html#chart", context)
    context |= patient_summary(patient, timeline, today)
    # Decision support advises on prescribing: physicians only.
    if request.user.can(Action.PRESCRIBE):
        context["decision_support"] = physician_panel(timeline, params, today, context["open_alerts"])
    return render(request, "patients/patient_detail.html", context)


@require_action(Action.VIEW_PATIENTS)
def clinic_summary(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_patient_for_user(request, pk)
    timeline, params = load_patient_page(patient)
    context = gp_summary(patient, timeline, params, timezone.localdate())
    return render(request, "patients/clinic_summary.html", context)
