"""The referral in the admin: read-mostly. State, version and clocks change only through the
services (DESIGN.md: one function changes state); events and documents are never edited here.
Every page that shows a referral, event or document writes the access log."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from refloop.core.admin import AccessLoggedAdminMixin, ReadOnlyAdminMixin, ReadOnlyInline
from refloop.directory.validators import validate_icd10cm
from refloop.referrals.models import (
    ChecklistItem,
    Document,
    InternalNote,
    Referral,
    ReferralBlocker,
    ReferralClock,
    ReferralEvent,
)
from refloop.referrals.services.lifecycle import referral_claim

# What an admin may correct on a referral; everything else is the services' to change.
EDITABLE = ("reason", "diagnoses", "receiving_clinician")


def document_link(document: Document) -> str:
    """The staff document view checks the role and writes the access log; there is no public
    media URL to fall back on."""
    try:
        url = reverse("document_view", args=[document.pk])
    except NoReverseMatch:
        return "—"
    return format_html('<a href="{}">Open</a>', url)


class DiagnosesField(forms.CharField):
    """ICD-10-CM codes as one comma-separated line, checked like intake checks them."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [code.strip().upper() for code in text.replace(";", ",").split(",") if code.strip()]

    def validate(self, value):
        super().validate(value)
        for code in value:
            validate_icd10cm(code)


class ReferralForm(forms.ModelForm):
    diagnoses = DiagnosesField(
        required=False, help_text="ICD-10-CM codes, comma-separated (e.g. M17.11, M25.561)."
    )
    # The version this form was built on: a save on top of someone else's change is refused.
    seen_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Referral
        fields = EDITABLE

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seen_version"].initial = self.instance.version

    def clean(self):
        data = super().clean()
        if data.get("seen_version") not in (None, self.instance.version):
            raise ValidationError(
                "Someone else changed this referral while you were editing. Reload to see it."
            )
        return data


class ReferralNumberSearchMixin:
    """Search by referral number ("R-0000123", "r-123" or "123"): the one search these pages
    offer, since a name in the admin's GET search would land in the URL."""

    referral_lookup = "referral_id"
    search_fields = ("=id",)  # shows the search box; the lookup below does the work
    search_help_text = "Referral number, e.g. R-0000123."

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        pk = Referral.pk_from_number(search_term)
        return (queryset.filter(**{self.referral_lookup: pk}) if pk else queryset.none()), False


class EventInline(ReadOnlyInline):
    model = ReferralEvent
    fk_name = "referral"
    fields = ("occurred_at", "recorded_at", "kind", "from_state", "to_state", "code", "actor")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class BlockerInline(ReadOnlyInline):
    model = ReferralBlocker
    fields = ("kind", "opened_at", "resolved_at", "note")


class ClockInline(ReadOnlyInline):
    model = ReferralClock
    fields = (
        "kind",
        "unit",
        "around_the_clock",
        "started_at",
        "due_at",
        "paused_since",
        "stopped_at",
        "gross_seconds",
        "net_seconds",
        "outcome",
    )


class ChecklistInline(ReadOnlyInline):
    model = ChecklistItem
    fields = ("name", "document_kind", "status", "updated_at")


class DocumentInline(ReadOnlyInline):
    model = Document
    fields = ("kind", "title", "content_type", "pages", "uploaded_at", "open")

    @admin.display(description="document")
    def open(self, obj):
        return document_link(obj)


class NoteInline(ReadOnlyInline):
    model = InternalNote
    fields = ("created_at", "author", "text")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


@admin.register(Referral)
class ReferralAdmin(ReferralNumberSearchMixin, AccessLoggedAdminMixin, admin.ModelAdmin):
    access_log_object_type = "referral"
    referral_lookup = "pk"

    form = ReferralForm
    list_display = (
        "number",
        "patient",
        "service_line",
        "priority",
        "state",
        "channel",
        "received_at",
        "next_due_at",
    )
    list_select_related = ("patient", "service_line")
    list_filter = ("state", "service_line", "priority", "channel")
    ordering = ("-id",)
    autocomplete_fields = ("receiving_clinician",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "number",
                    "patient",
                    "service_line",
                    "priority",
                    "reason",
                    "diagnoses",
                    "receiving_clinician",
                    "seen_version",
                )
            },
        ),
        (
            "Referrer and channel",
            {
                "fields": (
                    "referring_clinician",
                    "referring_organization",
                    "referrer_as_given",
                    "channel",
                    "sender_system",
                    "sender_reference",
                )
            },
        ),
        (
            "State (changed only by the lifecycle services)",
            {
                "fields": (
                    "state",
                    "version",
                    "outcome_reason",
                    "assignee",
                    "redirected_to",
                    "open_blocker_count",
                )
            },
        ),
        (
            "Clock times",
            {
                "fields": (
                    "received_at",
                    "state_changed_at",
                    "acknowledged_at",
                    "decided_at",
                    "first_contact_at",
                    "appointment_at",
                    "completed_at",
                    "closed_at",
                    "next_due_at",
                    "next_at_risk_at",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )
    # Everything shown is read-only but the few corrections an admin may make (EDITABLE).
    readonly_fields = tuple(
        name
        for _, section in fieldsets
        for name in section["fields"]
        if name not in {*EDITABLE, "seen_version"}
    )
    inlines = (
        EventInline,
        BlockerInline,
        ClockInline,
        ChecklistInline,
        DocumentInline,
        NoteInline,
    )

    @admin.display(description="number", ordering="id")
    def number(self, obj):
        return obj.number

    def has_add_permission(self, request):
        return False  # referrals come in through referral_receive (DESIGN.md, One way in)

    def has_delete_permission(self, request, obj=None):
        return False  # events protect the referral; a mistake is cancelled or corrected

    def save_model(self, request, obj, form, change):
        # Claim the row (bumps the version, refuses a stale form) and write only the corrected
        # fields, so a save never carries back a state read before someone else's transition.
        changed = [name for name in EDITABLE if name in form.changed_data]
        with transaction.atomic():
            referral_claim(referral_id=obj.pk, expected_version=form.cleaned_data["seen_version"])
            if changed:
                Referral.objects.filter(pk=obj.pk).update(
                    **{name: getattr(obj, name) for name in changed}
                )
        obj.refresh_from_db()


@admin.register(ReferralEvent)
class ReferralEventAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """Append-only (a database trigger refuses UPDATE and DELETE): view only. A manager undoes a
    mistake with a correction event, from the referral page."""

    access_log_object_type = "referral_event"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "kind", "from_state", "to_state", "code", "occurred_at")
    list_select_related = ("referral",)
    list_filter = ("kind", "to_state")
    ordering = ("-id",)


@admin.register(Document)
class DocumentAdmin(
    ReferralNumberSearchMixin, AccessLoggedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin
):
    """Documents are added by the services (TIFF faxes converted, checklist matched) and opened
    through the staff document view; the admin never links a file directly."""

    access_log_object_type = "document"
    access_log_patient = "referral.patient_id"

    list_display = ("id", "referral", "kind", "title", "content_type", "pages", "uploaded_at")
    list_select_related = ("referral",)
    list_filter = ("kind", "content_type")
    ordering = ("-id",)
    fields = (
        "referral",
        "kind",
        "title",
        "content_type",
        "size",
        "pages",
        "uploaded_by",
        "uploaded_at",
        "open",
    )
    readonly_fields = fields

    @admin.display(description="document")
    def open(self, obj):
        return document_link(obj)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("referral")
