"""Admin base class: every clinic's staff see only their own clinic's rows; history is kept."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from monitoring.changes import enqueue_evaluation


class ClinicScopedAdmin(SimpleHistoryAdmin):
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
        if not request.user.is_superuser:
            related = db_field.related_model
            if related._meta.label == "patients.Patient":
                kwargs["queryset"] = related.objects.filter(clinic=request.user.clinic)
            elif related._meta.label == "aih_tracker.Clinic":
                kwargs["queryset"] = related.objects.filter(pk=request.user.clinic_id)
            elif related._meta.label == "aih_tracker.User":
                kwargs["queryset"] = related.objects.filter(clinic=request.user.clinic)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class PatientRecordAdmin(ClinicScopedAdmin):
    list_select_related = ["patient"]
    search_fields = ["patient__mrn", "patient__family_name"]
    autocomplete_fields = ["patient"]


def register_patient_records(*models_: type) -> None:
    for model in models_:
        admin.site.register(model, PatientRecordAdmin)
