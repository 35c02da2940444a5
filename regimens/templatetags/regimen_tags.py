"""The patient page's "Regimen" section: links, missed or late taper steps, safety overrides."""

from django import template
from django.utils import timezone

from aih_tracker.roles import Action
from regimens.models import PrescribingOverride
from regimens.services import taper_attention

register = template.Library()

RECENT_OVERRIDES = 5


@register.inclusion_tag("regimens/partials/patient_regimen.html", takes_context=True)
def regimen_panel(context, patient):
    user = context["request"].user
    # Two queries whatever the history: the patient page's query count is fixed (tests/record/test_patient_page.py).
    overrides = list(
        PrescribingOverride.objects.filter(patient=patient).select_related("course__drug", "overridden_by")
    )
    return {
        "patient": patient,
        "can_prescribe": user.can(Action.PRESCRIBE),
        "attention": taper_attention(patient, timezone.localdate()),
        "overrides": overrides[:RECENT_OVERRIDES],
        "override_count": len(overrides),
    }
