"""Admin base classes: every clinic's staff see only their own clinic's rows; history is kept and read-only."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from simple_history.admin import SimpleHistoryAdmin

from monitoring.changes import enqueue_evaluation


class ScopedHistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's pages, held to the change page's rules.

    Its history list falls back to the historical rows when `get_queryset` does not hold the object,
    and its history form reads the historical row directly and saves whatever is POSTed back to it
    (`SIMPLE_HISTORY_REVERT_DISABLED` only hides the button). So both pages first require the object
    to be one the user may see, and the history form only shows: the history is read, never written
    back (a correction goes through the change page or the app, with its checks and its own history).
    """

    def _require_in_scope(self, request, object_id) -> None:
        try:
            found = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, ValidationError):  # not an id at all (a tampered URL)
            found = False
        if not found:
            raise Http404("No such record.")

    def history_view(self, request, object_id, extra_context=None):
        if not request.user.is_superuser:
            self._require_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not str(version_id).isdigit():
            raise Http404("No such version.")
        if not request.user.is_superuser:
            self._require_in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class ClinicScopedAdmin(ScopedHistoryAdmin):
    # Path from the model to its clinic, e.g. "patient__clinic".
    clinic_path = "patient__clinic"
    list_per_page = 50

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.clinic_path: request.user.clinic})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # New or corrected clinical data: re-evaluate the patient once the save commits.
        patient_id = self.patient_id_of(obj)
        if patient_id:
            enqueue_evaluation(patient_id)

    def delete_model(self, request, obj):
        patient_id = self.patient_id_of(obj)
        super().delete_model(request, obj)
        if patient_id and obj._meta.label != "patients.Patient":
            enqueue_evaluation(patient_id)

    def delete_queryset(self, request, queryset):
        patient_ids = {self.patient_id_of(obj) for obj in queryset} - {None}
        super().delete_queryset(request, queryset)
        if queryset.model._meta.label != "patients.Patient":
            for patient_id in patient_ids:
                enqueue_evaluation(patient_id)

    def patient_id_of(self, obj) -> int | None:
        if obj._meta.label == "patients.Patient":
            return obj.pk
        parts = self.clinic_path.split("__")[:-1]  # "course__patient__clinic" -> course, patient
        if not parts or parts[-1] != "patient":
            return None
        for part in parts[:-1]:
            obj = getattr(obj, part)
        return obj.patient_id

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """A drop-down offers only the rows the user's admin page for that model lists (their clinic's)."""
        if not request.user.is_superuser and "queryset" not in kwargs:
            related_admin = self.admin_site._registry.get(db_field.related_model)
            if related_admin is not None:
                kwargs["queryset"] = related_admin.get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyInAdmin:
    """For rows the app writes only through its services, where the checks run (the prescribing
    safety checks, the clinic's snooze limit, the alert's action log and version): the admin shows
    them and their history to everyone, and changes them for no one, superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ClinicalDecisionAdmin(ReadOnlyInAdmin, ClinicScopedAdmin):
    """A clinic's regimens, tapers, overrides and alerts: read in the admin, written in the app."""


class PatientRecordAdmin(ClinicScopedAdmin):
    list_select_related = ["patient"]
    search_fields = ["patient__mrn", "patient__family_name"]
    autocomplete_fields = ["patient"]


def register_patient_records(*models_: type) -> None:
    for model in models_:
        admin.site.register(model, PatientRecordAdmin)
