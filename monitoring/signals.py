"""Every saved or deleted row of a patient's timeline marks the patient changed (monitoring/changes.py).

The services, importers and admin also queue an evaluation; these receivers are the net under any
other path (a shell, a data migration, a future form), so that the incremental nightly sweep never
skips a patient whose data changed. Bulk writes send no signals: their callers mark the patients.

A change to what findings depend on besides the patient's data (a clinic's parameters or reference
ranges, the analyte catalogue) makes this process's next evaluation read the basis again.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from aih_tracker.models import Clinic
from monitoring.changes import mark_changed
from monitoring.engine.cache import forget_basis
from monitoring.engine.loader import PATIENT_TABLES
from monitoring.models import Analyte, ClinicalParameter, LabResult, ReferenceInterval


def timeline_models() -> dict[type, str]:
    """Every model monitoring/engine/loader.py reads into a Timeline, with the attribute path to its patient's id."""

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
        mark_changed([patient_id])


def basis_models() -> list[type]:
    return [Clinic, ClinicalParameter, ReferenceInterval, Analyte]


def _basis_changed(sender, **kwargs) -> None:
    forget_basis()
    transaction.on_commit(forget_basis)  # and again once others can read it


def connect() -> None:
    for model in basis_models():
        label = model._meta.label
        post_save.connect(_basis_changed, sender=model, dispatch_uid=f"basis-changed-save-{label}")
        post_delete.connect(_basis_changed, sender=model, dispatch_uid=f"basis-changed-delete-{label}")
    _PATHS.update(timeline_models())
    for model in _PATHS:
        label = model._meta.label
        post_save.connect(_changed, sender=model, dispatch_uid=f"timeline-changed-save-{label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"timeline-changed-delete-{label}")
