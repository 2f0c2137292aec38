"""Appointments are booked and their outcomes recorded by access.services (they move the
referral's state): the admin shows them and writes the access log, nothing more."""

from django.contrib import admin

from refloop.access.models import (
    Appointment,
    Authorization,
    ContactAttempt,
    PayerRule,
    ServiceLineInstruction,
    Slot,
    SlotTemplate,
    ThirdNextAvailable,
    VisitType,
)
from refloop.access.services import slot_withdraw
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


# Calendars: admins set up visit types and the clinicians' sessions; slots are made from them
# (access.services.slots_generate) and only looked at here.


@admin.register(VisitType)
class VisitTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "service_line", "minutes", "for_new_referrals")
    list_filter = ("service_line",)
    list_select_related = ("service_line",)
    search_fields = ("name", "code")
    prepopulated_fields = {"code": ("name",)}


@admin.register(SlotTemplate)
class SlotTemplateAdmin(admin.ModelAdmin):
    list_display = (
        "clinician",
        "visit_type",
        "weekday",
        "start_time",
        "end_time",
        "location",
        "held_for_urgent",
        "active_from",
        "active_until",
    )
    list_filter = ("visit_type__service_line", "weekday", "held_for_urgent")
    list_select_related = ("clinician", "visit_type__service_line")
    autocomplete_fields = ("clinician",)


@admin.register(Slot)
class SlotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "starts_at",
        "clinician",
        "visit_type",
        "service_line",
        "location",
        "held_for_urgent",
        "withdrawn",
    )
    list_filter = ("service_line", "held_for_urgent", "withdrawn")
    list_select_related = ("clinician", "visit_type", "service_line")
    date_hierarchy = "starts_at"
    show_full_result_count = False
    actions = ("withdraw",)

    @admin.action(description="Withdraw the selected slots (the clinician is away)")
    def withdraw(self, request, queryset):
        withdrawn, booked = 0, []
        for slot in queryset.filter(withdrawn=False):
            result = slot_withdraw(
                clinician_id=slot.clinician_id,
                start=slot.starts_at,
                end=slot.ends_at,
                actor=request.user,
            )
            withdrawn += result.withdrawn
            booked += result.booked_slot_ids
        self.message_user(request, f"{withdrawn} slot(s) withdrawn.")
        if booked:
            # Ids, not patients: a scheduler rebooks them from the calendar page.
            listed = ", ".join(str(pk) for pk in booked)
            self.message_user(
                request, f"Booked, left as they are: slot(s) {listed}.", level="warning"
            )


@admin.register(ThirdNextAvailable)
class ThirdNextAvailableAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("measured_on", "service_line", "clinician", "visit_type", "days")
    list_filter = ("service_line",)
    list_select_related = ("service_line", "clinician", "visit_type")
    date_hierarchy = "measured_on"
