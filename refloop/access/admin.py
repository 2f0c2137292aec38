"""Appointments are booked and their outcomes recorded by access.services (they move the
referral's state): the admin shows them and writes the access log, nothing more."""

from django.contrib import admin

from refloop.access.models import (
    Appointment,
    Authorization,
    ContactAttempt,
    PayerRule,
    ServiceLineInstruction,
)
from refloop.core.admin import AccessLoggedAdminMixin, ReadOnlyAdminMixin
from refloop.referrals.admin import ReferralNumberSearchMixin


@admin.register(Appointment)
class AppointmentAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    access_log_object_type = "appointment"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "starts_at", "clinician", "location", "outcome")
    list_select_related = ("referral", "clinician")
    list_filter = ("outcome",)
    date_hierarchy = "starts_at"
    ordering = ("-starts_at",)


# Authorization and patient contact ------------------------------------------------------------


@admin.register(PayerRule)
class PayerRuleAdmin(admin.ModelAdmin):
    """The practice keeps which payers require prior authorization, per service line."""

    list_display = ("service_line", "payer", "requires_authorization")
    list_filter = ("service_line", "requires_authorization")
    search_fields = ("payer",)


@admin.register(Authorization)
class AuthorizationAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    access_log_object_type = "authorization"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "status", "number", "valid_from", "valid_to", "due_at")
    list_select_related = ("referral",)
    list_filter = ("status",)


@admin.register(ContactAttempt)
class ContactAttemptAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    access_log_object_type = "contact_attempt"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "channel", "outcome", "occurred_at", "by")
    list_select_related = ("referral", "by")
    list_filter = ("channel", "outcome")
    date_hierarchy = "occurred_at"


@admin.register(ServiceLineInstruction)
class ServiceLineInstructionAdmin(admin.ModelAdmin):
    """Visit instructions per service line and language (no patient data)."""

    list_display = ("service_line", "language")
    list_filter = ("service_line",)
    ordering = ("service_line__name", "language")
