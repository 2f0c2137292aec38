"""Reports sent close the referral and are written only by loop.services.report_send: the
admin shows them and writes the access log, nothing more."""

from django.contrib import admin

from refloop.core.admin import AccessLoggedAdminMixin, ReadOnlyAdminMixin
from refloop.loop.models import ReportSent
from refloop.referrals.admin import ReferralNumberSearchMixin


@admin.register(ReportSent)
class ReportSentAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    access_log_object_type = "report_sent"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "channel", "sent_at", "sent_by")
    list_select_related = ("referral", "sent_by")
    list_filter = ("channel",)
    date_hierarchy = "sent_at"
    ordering = ("-sent_at",)
