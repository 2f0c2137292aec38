"""Reports sent close the referral and are written only by loop.services.report_send: the
admin shows them and writes the access log, nothing more."""

from django.contrib import admin

from refloop.core.admin import AccessLoggedAdminMixin, ReadOnlyAdminMixin
from refloop.loop.models import (
    ConsultReport,
    EventCursor,
    FollowUpItem,
    FollowUpTemplateItem,
    LoopSettings,
    RecordsRequest,
    ReportAcknowledgement,
    ReportSent,
    ReportTemplate,
)
from refloop.referrals.admin import ReferralNumberSearchMixin


@admin.register(ReportSent)
class ReportSentAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    access_log_object_type = "report_sent"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "channel", "sent_at", "sent_by", "delivered_at")
    list_select_related = ("referral", "sent_by")
    list_filter = ("channel",)
    date_hierarchy = "sent_at"
    ordering = ("-sent_at",)


# Settings admins edit per service line --------------------------------------------------------


@admin.register(ReportTemplate)
class ReportTemplateAdmin(admin.ModelAdmin):
    list_display = ("service_line",)
    list_select_related = ("service_line",)


@admin.register(LoopSettings)
class LoopSettingsAdmin(admin.ModelAdmin):
    list_display = ("service_line",)
    list_select_related = ("service_line",)


@admin.register(FollowUpTemplateItem)
class FollowUpTemplateItemAdmin(admin.ModelAdmin):
    list_display = ("name", "service_line", "due_after_days", "position")
    list_select_related = ("service_line",)
    list_filter = ("service_line",)


# Rows written only by loop.services: shown, never edited ---------------------------------------


class _ReferralRowAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    access_log_patient = "referral.patient_id"
    list_select_related = ("referral",)


@admin.register(RecordsRequest)
class RecordsRequestAdmin(_ReferralRowAdmin):
    access_log_object_type = "records_request"
    list_display = ("id", "referral", "ask_count", "asked_at", "next_ask_at", "resolved_at")
    ordering = ("-first_asked_at",)


@admin.register(ConsultReport)
class ConsultReportAdmin(_ReferralRowAdmin):
    access_log_object_type = "consult_report"
    list_display = ("id", "referral", "status", "author", "finalised_at")
    list_select_related = ("referral", "author")
    list_filter = ("status",)


@admin.register(FollowUpItem)
class FollowUpItemAdmin(_ReferralRowAdmin):
    access_log_object_type = "follow_up"
    list_display = ("id", "referral", "name", "due_at", "done_at", "alerted_at")


@admin.register(ReportAcknowledgement)
class ReportAcknowledgementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Token hashes and times only: no patient data.
    list_display = ("id", "report_sent_id", "created_at", "expires_at", "used_at")
    exclude = ("token_hash",)


@admin.register(EventCursor)
class EventCursorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "last_event_id", "lease_until", "updated_at")
