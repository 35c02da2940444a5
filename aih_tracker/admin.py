from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from aih_tracker.admin_scoping import ClinicScopedAdmin, ScopedHistoryAdmin
from aih_tracker.models import Clinic, User, time_zone_names

admin.site.site_header = "AIH Tracker administration"
admin.site.site_title = "AIH Tracker"


class ClinicForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=lambda: [(name, name) for name in time_zone_names()],
        help_text=Clinic._meta.get_field("time_zone").help_text,
    )

    class Meta:
        model = Clinic
        fields = ["name", "slug", "time_zone"]


@admin.register(Clinic)
class ClinicAdmin(ScopedHistoryAdmin):
    form = ClinicForm
    list_display = ["name", "slug", "time_zone"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(pk=request.user.clinic_id)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ClinicScopedAdmin):
    clinic_path = "clinic"
    list_display = ["username", "first_name", "last_name", "role", "clinic", "is_active"]
    list_filter = ["role", "is_active", "clinic"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Clinic", {"fields": ("clinic", "role")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("Clinic", {"fields": ("clinic", "role", "first_name", "last_name")}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # A clinic admin manages accounts but cannot mint superusers or Django permissions.
            readonly += ["is_superuser", "user_permissions", "groups"]
        return readonly

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.clinic = request.user.clinic
            obj.is_staff = True
        super().save_model(request, obj, form, change)
