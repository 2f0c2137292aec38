"""Admins maintain the directory here, with the model's own validation (NPI check digit, target
units, uniqueness). Patient pages write the access log (core.admin.AccessLoggedAdminMixin)."""

from django import forms
from django.contrib import admin

from refloop.core.admin import AccessLoggedAdminMixin
from refloop.directory.enums import TargetKind, TargetUnit
from refloop.directory.models import (
    ChecklistTemplateItem,
    Clinician,
    ClinicianRole,
    Coverage,
    InsurancePlan,
    Organization,
    Patient,
    ResponseTarget,
    ServiceLine,
)


class ChecklistTemplateItemInline(admin.TabularInline):
    model = ChecklistTemplateItem
    fields = ("position", "name", "document_kind")
    extra = 0


class ResponseTargetForm(forms.ModelForm):
    class Meta:
        model = ResponseTarget
        fields = ("priority", "kind", "amount", "unit")

    def clean(self):
        # The database constraint target_unit_fits_kind says the same; this says it in words.
        data = super().clean()
        kind, unit = data.get("kind"), data.get("unit")
        if kind and unit and (kind == TargetKind.APPOINTMENT) != (unit == TargetUnit.CALENDAR_DAYS):
            self.add_error(
                "unit",
                "Days to appointment are counted in calendar days; every other target in "
                "business hours.",
            )
        return data


class ResponseTargetInline(admin.TabularInline):
    model = ResponseTarget
    form = ResponseTargetForm
    extra = 0


@admin.register(ServiceLine)
class ServiceLineAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "phone", "fax", "active")
    list_filter = ("active",)
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}
    filter_horizontal = ("plans_accepted",)
    inlines = (ChecklistTemplateItemInline, ResponseTargetInline)
    fieldsets = (
        (None, {"fields": ("name", "code", "active", "description")}),
        ("Clinical criteria", {"fields": ("acceptance_criteria", "exclusions")}),
        ("Patients", {"fields": ("patient_instructions", "plans_accepted")}),
        ("Contact points", {"fields": ("phone", "fax", "secure_email")}),
    )


@admin.register(InsurancePlan)
class InsurancePlanAdmin(admin.ModelAdmin):
    list_display = ("payer", "plan")
    search_fields = ("payer", "plan")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "in_network", "npi", "city", "state", "phone", "fax")
    list_filter = ("kind", "in_network", "state")
    search_fields = ("name", "=npi", "city")
    search_help_text = "Name, exact NPI or city."


class ClinicianRoleInline(admin.TabularInline):
    model = ClinicianRole
    fields = ("organization", "title", "active")
    autocomplete_fields = ("organization",)
    extra = 0


@admin.register(Clinician)
class ClinicianAdmin(admin.ModelAdmin):
    list_display = (
        "last_name",
        "first_name",
        "credentials",
        "npi",
        "specialty",
        "preferred_update_channel",
    )
    list_filter = ("preferred_update_channel", "credentials")
    search_fields = ("last_name", "first_name", "=npi", "specialty")
    search_help_text = "Name, exact NPI or specialty."
    inlines = (ClinicianRoleInline,)
    fieldsets = (
        (None, {"fields": ("first_name", "last_name", "credentials", "npi", "specialty")}),
        (
            "Contact",
            {"fields": ("phone", "fax", "email", "direct_address", "preferred_update_channel")},
        ),
    )


class CoverageInline(admin.TabularInline):
    model = Coverage
    fields = ("payer", "plan", "member_id", "primary")
    extra = 0


@admin.register(Patient)
class PatientAdmin(AccessLoggedAdminMixin, admin.ModelAdmin):
    """Search goes by id only: the admin's search is a GET, and a name or birth date would land
    in the URL and the web server's log (DESIGN.md: no PHI in URLs). The staff search finds
    patients by name, by POST."""

    access_log_object_type = "patient"
    access_log_patient = "pk"

    list_display = ("id", "last_name", "first_name", "birth_date", "preferred_language")
    list_display_links = ("id", "last_name")
    list_filter = ("interpreter_needed", "sms_consent", "email_consent", "sex")
    search_fields = ("=id",)
    search_help_text = "Patient id (find patients by name in the staff search)."
    inlines = (CoverageInline,)
    fieldsets = (
        (None, {"fields": ("mrn", "first_name", "last_name", "birth_date", "sex")}),
        ("Contact", {"fields": ("phone", "email", "address", "city", "state", "postal_code")}),
        (
            "Communication",
            {
                "fields": (
                    "preferred_language",
                    "interpreter_needed",
                    "sms_consent",
                    "email_consent",
                )
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        # Referrals protect their patient; merging duplicates is a service, not a delete.
        return False


@admin.register(Coverage)
class CoverageAdmin(AccessLoggedAdminMixin, admin.ModelAdmin):
    access_log_object_type = "coverage"

    list_display = ("id", "patient", "payer", "plan", "member_id", "primary")
    list_select_related = ("patient",)
    list_filter = ("primary",)
    search_fields = ("=patient__id",)
    search_help_text = "Patient id."
    raw_id_fields = ("patient",)
