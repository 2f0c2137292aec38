"""Admin building blocks shared by every app, and the admin of core's own tables.

DESIGN.md: "the Django admin writes the access log too". Every admin that shows patient data
uses AccessLoggedAdminMixin, so a change page, a history page, a delete confirmation and each
row of a list page leave an access-log entry with action "admin".
"""

import json
from operator import attrgetter

from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

from refloop.core.access_log import access_log_write, access_log_write_many
from refloop.core.models import AccessLogEntry, Closure


class AccessLoggedAdminMixin:
    """For admins of tables holding PHI. Set `access_log_object_type` ("patient", "referral", ...)
    and `access_log_patient` (attribute path from a row to its patient id: "pk" for a patient,
    "patient_id", "referral.patient_id"); list pages should select_related what that path needs.

    Django's own admin history (django_admin_log) and its "was changed successfully" messages
    use a neutral label ("patient 12") instead of str(obj): a patient's name would otherwise
    land in a table the admin index shows as "Recent actions" without an access-log entry, and
    in the messages cookie.
    """

    access_log_object_type: str = ""
    access_log_patient: str = "patient_id"
    show_full_result_count = False  # a second COUNT(*) per list page buys nothing on big tables

    def access_log_row(self, obj) -> tuple:
        return obj.pk, attrgetter(self.access_log_patient)(obj)

    # Reads -------------------------------------------------------------------------------------

    def get_object(self, request, object_id, from_field=None):
        # The change, history and delete views all load their object here, once per request.
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            object_pk, patient_id = self.access_log_row(obj)
            access_log_write(
                request=request,
                action=AccessLogEntry.Action.ADMIN,
                object_type=self.access_log_object_type,
                object_id=object_pk,
                patient_id=patient_id,
            )
        return obj

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # Fetch the page once here and hand the same rows to the template.
            changelist.result_list = list(changelist.result_list)
            access_log_write_many(
                request=request,
                action=AccessLogEntry.Action.ADMIN,
                object_type=self.access_log_object_type,
                rows=[self.access_log_row(obj) for obj in changelist.result_list],
            )
        return response

    # Django's admin history and messages without PHI ---------------------------------------------

    def neutral_label(self, obj_pk) -> str:
        return f"{self.access_log_object_type} {obj_pk}"

    def response_add(self, request, obj, post_url_continue=None):
        request.admin_neutral_label = (str(obj), self.neutral_label(obj.pk))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        request.admin_neutral_label = (str(obj), self.neutral_label(obj.pk))
        return super().response_change(request, obj)

    def response_delete(self, request, obj_display, obj_id):
        return super().response_delete(request, self.neutral_label(obj_id), obj_id)

    def message_user(self, request, message, *args, **kwargs):
        label = getattr(request, "admin_neutral_label", None)
        if label:
            text, neutral = label
            safe = isinstance(message, SafeData)
            message = str(message).replace(str(conditional_escape(text)), neutral)
            message = message.replace(text, neutral)
            message = mark_safe(message) if safe else message  # it was safe before the swap
        super().message_user(request, message, *args, **kwargs)

    def _admin_history(self, request, objects, action_flag, message="") -> list[LogEntry]:
        content_type = ContentType.objects.get_for_model(self.model, for_concrete_model=False)
        if isinstance(message, list):
            message = json.dumps(message)
        return LogEntry.objects.bulk_create(
            [
                LogEntry(
                    user_id=request.user.pk,
                    content_type_id=content_type.pk,
                    object_id=str(obj.pk),
                    object_repr=self.neutral_label(obj.pk),
                    action_flag=action_flag,
                    change_message=message,
                )
                for obj in objects
            ]
        )

    def log_addition(self, request, obj, message):
        return self._admin_history(request, [obj], ADDITION, message)[0]

    def log_change(self, request, obj, message):
        return self._admin_history(request, [obj], CHANGE, message)[0]

    def log_deletions(self, request, queryset):
        return self._admin_history(request, list(queryset), DELETION)


class ReadOnlyAdminMixin:
    """For rows written only by services (or append-only tables): the admin looks, never edits."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [f.name for f in self.model._meta.fields]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    list_display = ("date", "description")
    search_fields = ("description",)
    date_hierarchy = "date"


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only (a database trigger refuses UPDATE and DELETE): no add, change or delete.
    The log holds ids, never names, so reading it is not itself logged."""

    list_display = (
        "at",
        "username",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "ip_address",
        "path",
    )
    list_filter = ("action", "object_type")
    search_fields = ("=username", "=object_id", "=patient_id")
    search_help_text = "Exact username, object id or patient id."
    date_hierarchy = "at"
    show_full_result_count = False
    fields = (
        "at",
        "user",
        "username",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "ip_address",
        "user_agent",
        "path",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("core.view_access_log")
