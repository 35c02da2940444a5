from django.contrib import admin

from aih_tracker.admin_scoping import ClinicScopedAdmin, register_patient_records
from patients.models import (
    AcuteSevereEpisode,
    Autoantibody,
    ContraceptionRecord,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Malignancy,
    Patient,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyTest,
    Relapse,
    Vaccination,
    Visit,
    WeightMeasurement,
)


class AutoantibodyInline(admin.TabularInline):
    model = Autoantibody
    extra = 0


class PharmacogeneticInline(admin.TabularInline):
    model = PharmacogeneticTest
    extra = 0


@admin.register(Patient)
class PatientAdmin(ClinicScopedAdmin):
    clinic_path = "clinic"
    list_display = ["mrn", "family_name", "given_name", "date_of_birth", "sex", "aih_type", "status"]
    list_filter = ["status", "aih_type", "sex"]
    search_fields = ["mrn", "family_name", "given_name"]
    inlines = [AutoantibodyInline, PharmacogeneticInline]

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["clinic"]

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            obj.clinic = request.user.clinic
        super().save_model(request, obj, form, change)


register_patient_records(
    AcuteSevereEpisode,
    Autoantibody,
    ContraceptionRecord,
    DexaScan,
    HepatitisImmunity,
    LiverBiopsy,
    Malignancy,
    PharmacogeneticTest,
    PregnancyEpisode,
    PregnancyTest,
    Relapse,
    Vaccination,
    Visit,
    WeightMeasurement,
)
