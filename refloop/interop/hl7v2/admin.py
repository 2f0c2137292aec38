"""Admins set up HL7 partners here (no patient data: who sends, where answers go). Messages and
merge reviews are handled in the staff app (/interfaces/), which writes the access log."""

from django.contrib import admin

from refloop.interop.hl7v2.models import Hl7Partner


@admin.register(Hl7Partner)
class Hl7PartnerAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "sending_application",
        "sending_facility",
        "default_service_line",
        "outbound_host",
        "outbound_port",
        "wants_status",
        "wants_report",
        "active",
    )
    list_filter = ("active", "wants_status", "wants_report")
    search_fields = ("name", "sending_application", "sending_facility")
    autocomplete_fields = ("organization",)
