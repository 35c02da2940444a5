"""What the patient page shows: plain data gathered in a fixed number of queries."""

from __future__ import annotations

from datetime import date

from monitoring.models import Alert, AlertStatus, LabResult
from regimens.models import MedicationCourse

from .models import Patient


def latest_results(patient: Patient) -> list[LabResult]:
    """The most recent result per analyte, newest analyte first."""
    seen: set[int] = set()
    latest: list[LabResult] = []
    for result in LabResult.objects.filter(patient=patient).final().select_related("analyte").order_by("-collected_at"):
        if result.analyte_id not in seen:
            seen.add(result.analyte_id)
            latest.append(result)
    return latest


def patient_summary(patient: Patient, today: date | None = None) -> dict:
    today = today or date.today()
    courses = list(
        MedicationCourse.objects.filter(patient=patient).select_related("drug").prefetch_related("dose_changes")
    )
    for course in courses:
        doses = list(course.dose_changes.all())
        course.current_dose = doses[-1] if doses else None
    return {
        "active_courses": [c for c in courses if c.is_active_on(today)],
        "past_courses": [c for c in courses if not c.is_active_on(today)],
        "latest_results": latest_results(patient),
        "open_alerts": list(
            Alert.objects.filter(patient=patient).exclude(status=AlertStatus.RESOLVED).order_by("-severity")
        ),
        "age": patient.age_on(today),
    }
