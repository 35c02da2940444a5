"""The permission matrix: which role may do what. The one place it is written down.

Views ask `user.can(Action.X)`; the admin asks Django's `has_perm`, which
`aih_tracker.auth.RoleBackend` answers from MODEL_PERMISSIONS below. The README's
table is generated from the same data (`python manage.py permission_matrix`).
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    STAFF = "clinic_staff", "Clinic staff"
    NURSE = "nurse", "Nurse"
    PHYSICIAN = "physician", "Physician"
    ADMIN = "clinic_admin", "Clinic admin"


class Action(models.TextChoices):
    VIEW_PATIENTS = "view_patients", "View patients, labs, regimens and alerts"
    EDIT_PATIENTS = "edit_patients", "Register and edit patients"
    LOG_VISITS = "log_visits", "Log visits, weights, labs, adherence, adverse events; import labs"
    PRESCRIBE = "prescribe", "Start, change, taper, switch and stop regimens; override safety checks"
    WORK_ALERTS = "work_alerts", "Work alerts and the recall list"
    CHANGE_PARAMETERS = "change_parameters", "Change clinical parameters and reference intervals"
    MANAGE_USERS = "manage_users", "Manage the clinic's user accounts"
    EXPORT_DATA = "export_data", "Export data (CSV, FHIR)"
    VIEW_AUDIT = "view_audit", "Read the audit history"


PERMISSION_MATRIX: dict[Action, frozenset[Role]] = {
    Action.VIEW_PATIENTS: frozenset(Role),
    Action.EDIT_PATIENTS: frozenset({Role.STAFF, Role.NURSE, Role.PHYSICIAN}),
    Action.LOG_VISITS: frozenset({Role.STAFF, Role.NURSE, Role.PHYSICIAN}),
    Action.PRESCRIBE: frozenset({Role.PHYSICIAN}),
    Action.WORK_ALERTS: frozenset({Role.NURSE, Role.PHYSICIAN}),
    Action.CHANGE_PARAMETERS: frozenset({Role.ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.EXPORT_DATA: frozenset({Role.PHYSICIAN, Role.ADMIN}),
    Action.VIEW_AUDIT: frozenset({Role.PHYSICIAN, Role.ADMIN}),
}

# Models each action lets a role add or change in the admin ("app_label.model").
# Viewing is granted on every model listed anywhere here to every role with VIEW_PATIENTS.
# Nobody but a superuser deletes clinical rows: mistakes are corrected, and the history kept.
_EDITABLE_MODELS: dict[Action, tuple[str, ...]] = {
    Action.EDIT_PATIENTS: (
        "patients.patient",
        "patients.autoantibody",
        "patients.pharmacogenetictest",
        "patients.pregnancyepisode",
        "patients.contraceptionrecord",
        "patients.pregnancytest",
        "patients.hepatitisimmunity",
        "patients.vaccination",
        "patients.malignancy",
    ),
    Action.LOG_VISITS: (
        "patients.visit",
        "patients.weightmeasurement",
        "patients.dexascan",
        "patients.liverbiopsy",
        "patients.acutesevereepisode",
        "patients.relapse",
        "monitoring.labresult",
        "monitoring.localcode",
        "regimens.adherencerecord",
        "regimens.adverseevent",
    ),
    Action.CHANGE_PARAMETERS: ("monitoring.clinicalparameter", "monitoring.referenceinterval"),
    Action.MANAGE_USERS: ("aih_tracker.user",),
}
# Read-only in the admin for everyone but a superuser. Regimens, their tapers and overrides are written
# only by the prescribing pages (regimens/services.py: the safety checks run there), and alerts only by
# the alert queue's actions (monitoring/alerts/services.py: the clinic's snooze limit, the action log).
_CLINICAL_DECISION_MODELS = (
    "regimens.medicationcourse",
    "regimens.dosechange",
    "regimens.taperplan",
    "regimens.taperstep",
    "regimens.prescribingoverride",
    "monitoring.alert",
)
_READ_ONLY_MODELS = (
    *_CLINICAL_DECISION_MODELS,
    "regimens.drug",
    "monitoring.analyte",
    "aih_tracker.clinic",
    "monitoring.inboundmessage",
)


def actions_for(role: str) -> frozenset[Action]:
    return frozenset(action for action, roles in PERMISSION_MATRIX.items() if role in roles)


def model_permissions_for(role: str) -> frozenset[str]:
    """Django permission strings ("app.codename") that the role holds."""
    actions = actions_for(role)
    perms: set[str] = set()
    if Action.VIEW_PATIENTS in actions:
        viewable = {m for models_ in _EDITABLE_MODELS.values() for m in models_} - {"aih_tracker.user"}
        for label in viewable | set(_READ_ONLY_MODELS):
            app, model = label.split(".")
            perms.add(f"{app}.view_{model}")
    if Action.VIEW_AUDIT in actions:
        # django-simple-history checks these when SIMPLE_HISTORY_ENFORCE_HISTORY_MODEL_PERMISSIONS is on.
        audited = {m for models_ in _EDITABLE_MODELS.values() for m in models_}
        audited |= {"aih_tracker.clinic", *_CLINICAL_DECISION_MODELS}
        for label in audited:
            app, model = label.split(".")
            perms.add(f"{app}.view_historical{model}")
    for action, labels in _EDITABLE_MODELS.items():
        if action in actions:
            for label in labels:
                app, model = label.split(".")
                perms.update({f"{app}.view_{model}", f"{app}.add_{model}", f"{app}.change_{model}"})
    return frozenset(perms)
