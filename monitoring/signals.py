"""Every saved or deleted row of a patient's timeline marks the patient changed (evaluation.py).

The services, importers and admin also queue an evaluation; these receivers are the net under any
other path (a shell, a data migration, a future form), so that the incremental nightly sweep never
skips a patient whose data changed. Bulk writes send no signals: their callers mark the patients.
"""

from django.db.models.signals import post_delete, post_save


def timeline_models() -> dict[type, str]:
    """Every model monitoring/loader.py reads into a Timeline, with the attribute path to its patient's id."""
    from .loader import PATIENT_TABLES
    from .models import LabResult

    def path(table) -> str:
        if table.patient == "pk":
            return "pk"
        *through, patient = table.patient.split("__")  # "course__patient" -> course.patient_id
        return ".".join([*through, f"{patient}_id"])

    return {table.model: path(table) for table in PATIENT_TABLES} | {LabResult: "patient_id"}


def _patient_id(instance, path: str) -> int | None:
    value = instance
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


_PATHS: dict[type, str] = {}


def _changed(sender, instance, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata: fixtures are not clinical changes
        return
    patient_id = _patient_id(instance, _PATHS[sender])
    if patient_id is not None:
        from .evaluation import mark_changed

        mark_changed([patient_id])


def connect() -> None:
    _PATHS.update(timeline_models())
    for model in _PATHS:
        label = model._meta.label
        post_save.connect(_changed, sender=model, dispatch_uid=f"timeline-changed-save-{label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"timeline-changed-delete-{label}")
