from django.contrib import admin

from aih_tracker.admin_scoping import ClinicalDecisionAdmin, ClinicScopedAdmin, ReadOnlyInAdmin
from monitoring.models import (
    Alert,
    AlertAction,
    Analyte,
    ClinicalParameter,
    InboundMessage,
    LabResult,
    LocalCode,
    ReferenceInterval,
)


@admin.register(Analyte)
class AnalyteAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "loinc", "canonical_unit", "plausible_min", "plausible_max", "panel"]
    search_fields = ["name", "code", "loinc"]


@admin.register(LabResult)
class LabResultAdmin(ClinicScopedAdmin):
    list_display = ["patient", "analyte", "value", "ref_high", "collected_at", "status", "source"]
    list_filter = ["analyte", "source", "status"]
    list_select_related = ["patient", "analyte"]
    search_fields = ["patient__mrn", "patient__family_name"]
    autocomplete_fields = ["patient"]
    date_hierarchy = "collected_at"


@admin.register(ReferenceInterval)
class ReferenceIntervalAdmin(ClinicScopedAdmin):
    clinic_path = "clinic"
    list_display = ["analyte", "sex", "low", "high", "lab_name", "clinic"]


@admin.register(ClinicalParameter)
class ClinicalParameterAdmin(ClinicScopedAdmin):
    clinic_path = "clinic"
    list_display = ["key", "value", "default", "clinic", "updated_by", "updated_at"]
    readonly_fields = ["updated_by"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        if not request.user.is_superuser:
            obj.clinic = request.user.clinic
        super().save_model(request, obj, form, change)


class AlertActionInline(ReadOnlyInAdmin, admin.TabularInline):
    model = AlertAction
    extra = 0
    can_delete = False


@admin.register(Alert)
class AlertAdmin(ClinicalDecisionAdmin):
    list_display = ["patient", "rule_id", "episode", "severity", "status", "resolution", "assignee", "opened_at"]
    list_filter = ["status", "severity", "rule_id"]
    list_select_related = ["patient", "assignee"]
    search_fields = ["patient__mrn", "patient__family_name", "rule_id"]
    inlines = [AlertActionInline]


@admin.register(LocalCode)
class LocalCodeAdmin(ClinicScopedAdmin):
    clinic_path = "clinic"
    list_display = ["code", "system", "display", "analyte", "unit", "clinic"]
    list_filter = ["system", "analyte"]
    search_fields = ["code", "display"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        if not request.user.is_superuser:
            obj.clinic = request.user.clinic
        super().save_model(request, obj, form, change)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    """Read-only: messages change only by being processed or reprocessed (the review page)."""

    list_display = ["received_at", "kind", "control_id", "sender", "origin", "status", "patient", "clinic"]
    list_filter = ["status", "kind"]
    list_select_related = ["patient", "clinic"]
    search_fields = ["control_id", "sender", "origin", "patient__mrn"]
    date_hierarchy = "received_at"

    def get_queryset(self, request):
        return super().get_queryset(request).for_user(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
