"""The patient page's "Visits" section: recent visits and the links to log one or edit the patient."""

from django import template
from django.db.models import Count

from aih_tracker.roles import Action
from patients.models import Visit

register = template.Library()

RECENT_VISITS = 5


@register.inclusion_tag("patients/partials/visits_panel.html", takes_context=True)
def visits_panel(context, patient):
    user = context["request"].user
    visits = (
        Visit.objects.filter(patient=patient)
        .select_related("clinician")
        .prefetch_related("weights")
        .annotate(result_count=Count("lab_results"))
        .order_by("-visit_date", "-created_at")
    )
    return {
        "patient": patient,
        "can_log": user.can(Action.LOG_VISITS),
        "visits": list(visits[:RECENT_VISITS]),
        "visit_count": visits.count(),
    }


@register.inclusion_tag("patients/partials/patient_actions.html", takes_context=True)
def patient_actions(context, patient):
    user = context["request"].user
    return {"patient": patient, "can_edit": user.can(Action.EDIT_PATIENTS), "can_log": user.can(Action.LOG_VISITS)}
