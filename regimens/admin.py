from django.contrib import admin

from aih_tracker.admin_scoping import ClinicScopedAdmin, register_patient_records
from regimens.models import (
    AdherenceRecord,
    AdverseEvent,
    DoseChange,
    Drug,
    MedicationCourse,
    PrescribingOverride,
    TaperPlan,
    TaperStep,
)


@admin.register(Drug)
class DrugAdmin(admin.ModelAdmin):
    list_display = ["name", "drug_class", "rxnorm", "prednisolone_equivalent", "is_immunosuppressant"]
    list_filter = ["drug_class"]
    search_fields = ["name", "code", "rxnorm"]


class DoseChangeInline(admin.TabularInline):
    model = DoseChange
    extra = 0
    fk_name = "course"
    exclude = ["taper_step"]


@admin.register(MedicationCourse)
class MedicationCourseAdmin(ClinicScopedAdmin):
    list_display = ["patient", "drug", "line_of_therapy", "started_on", "stopped_on", "stop_reason"]
    list_filter = ["drug", "stop_reason"]
    list_select_related = ["patient", "drug"]
    search_fields = ["patient__mrn", "patient__family_name"]
    autocomplete_fields = ["patient"]
    inlines = [DoseChangeInline]


class TaperStepInline(admin.TabularInline):
    model = TaperStep
    extra = 0


@admin.register(TaperPlan)
class TaperPlanAdmin(ClinicScopedAdmin):
    clinic_path = "course__patient__clinic"
    list_display = ["course", "protocol", "is_active", "created_at"]
    inlines = [TaperStepInline]


@admin.register(DoseChange)
class DoseChangeAdmin(ClinicScopedAdmin):
    clinic_path = "course__patient__clinic"
    list_display = ["course", "effective_on", "dose_mg_per_day", "schedule"]
    list_select_related = ["course__patient", "course__drug"]


@admin.register(TaperStep)
class TaperStepAdmin(ClinicScopedAdmin):
    clinic_path = "plan__course__patient__clinic"
    list_display = ["plan", "sequence", "starts_on", "dose_mg_per_day"]


register_patient_records(AdherenceRecord, AdverseEvent)


@admin.register(PrescribingOverride)
class PrescribingOverrideAdmin(ClinicScopedAdmin):
    list_display = ["patient", "rule_id", "severity", "overridden_by", "overridden_at"]
    list_filter = ["rule_id"]
    list_select_related = ["patient", "overridden_by"]
    search_fields = ["patient__mrn", "patient__family_name", "rule_id"]
    readonly_fields = [f.name for f in PrescribingOverride._meta.fields]
