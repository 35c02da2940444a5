from django.contrib import admin

from aih_tracker.admin_scoping import ClinicalDecisionAdmin, ReadOnlyInAdmin, register_patient_records
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


class DoseChangeInline(ReadOnlyInAdmin, admin.TabularInline):
    model = DoseChange
    extra = 0
    fk_name = "course"
    exclude = ["taper_step"]


@admin.register(MedicationCourse)
class MedicationCourseAdmin(ClinicalDecisionAdmin):
    list_display = ["patient", "drug", "line_of_therapy", "started_on", "stopped_on", "stop_reason"]
    list_filter = ["drug", "stop_reason"]
    list_select_related = ["patient", "drug"]
    search_fields = ["patient__mrn", "patient__family_name"]
    autocomplete_fields = ["patient"]
    inlines = [DoseChangeInline]


class TaperStepInline(ReadOnlyInAdmin, admin.TabularInline):
    model = TaperStep
    extra = 0


@admin.register(TaperPlan)
class TaperPlanAdmin(ClinicalDecisionAdmin):
    clinic_path = "course__patient__clinic"
    list_display = ["course", "protocol", "is_active", "created_at"]
    inlines = [TaperStepInline]


@admin.register(DoseChange)
class DoseChangeAdmin(ClinicalDecisionAdmin):
    clinic_path = "course__patient__clinic"
    list_display = ["course", "effective_on", "dose_mg_per_day", "schedule"]
    list_select_related = ["course__patient", "course__drug"]


@admin.register(TaperStep)
class TaperStepAdmin(ClinicalDecisionAdmin):
    clinic_path = "plan__course__patient__clinic"
    list_display = ["plan", "sequence", "starts_on", "dose_mg_per_day"]


register_patient_records(AdherenceRecord, AdverseEvent)


@admin.register(PrescribingOverride)
class PrescribingOverrideAdmin(ClinicalDecisionAdmin):
    list_display = ["patient", "rule_id", "severity", "overridden_by", "overridden_at"]
    list_filter = ["rule_id"]
    list_select_related = ["patient", "overridden_by"]
    search_fields = ["patient__mrn", "patient__family_name", "rule_id"]
