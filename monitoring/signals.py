"""Every saved or deleted row of a patient's timeline marks the patient changed (evaluation.py).

The services, importers and admin also queue an evaluation; these receivers are the net under any
other path (a shell, a data migration, a future form), so that the incremental nightly sweep never
skips a patient whose data changed. Bulk writes send no signals: their callers mark the patients.
"""

from django.apps import apps
from django.db.models.signals import post_delete, post_save

# Everything monitoring/loader.py reads into a Timeline, by the path from the row to its patient.
TIMELINE_MODELS = {
    "patients.Patient": "pk",
    "patients.WeightMeasurement": "patient_id",
    "patients.PharmacogeneticTest": "patient_id",
    "patients.PregnancyEpisode": "patient_id",
    "patients.ContraceptionRecord": "patient_id",
    "patients.PregnancyTest": "patient_id",
    "patients.HepatitisImmunity": "patient_id",
    "patients.Vaccination": "patient_id",
    "patients.DexaScan": "patient_id",
    "patients.LiverBiopsy": "patient_id",
    "patients.AcuteSevereEpisode": "patient_id",
    "patients.Visit": "patient_id",
    "patients.Malignancy": "patient_id",
    "patients.Relapse": "patient_id",
    "patients.Autoantibody": "patient_id",
    "regimens.AdverseEvent": "patient_id",
    "regimens.AdherenceRecord": "patient_id",
    "regimens.MedicationCourse": "patient_id",
    "regimens.DoseChange": "course.patient_id",
    "monitoring.LabResult": "patient_id",
}


def _patient_id(instance, path: str) -> int | None:
    value = instance
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _changed(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata: fixtures are not clinical changes
        return
    patient_id = _patient_id(instance, TIMELINE_MODELS[sender._meta.label])
    if patient_id is not None:
        from .evaluation import mark_changed

        mark_changed([patient_id])


def connect() -> None:
    for label in TIMELINE_MODELS:
        model = apps.get_model(label)
        post_save.connect(_changed, sender=model, dispatch_uid=f"timeline-changed-save-{label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"timeline-changed-delete-{label}")
