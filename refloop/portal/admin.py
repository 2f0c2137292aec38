"""Admins switch an office account off (it then sees nothing and gets nothing by the portal) and
see the invitations; invitations are made on the staff page /office/invitations/."""

from django.contrib import admin

from refloop.portal.models import OfficeAccount, OfficeInvitation


@admin.register(OfficeAccount)
class OfficeAccountAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "active", "created_at")
    list_filter = ("active",)
    list_select_related = ("user", "organization")
    fields = ("user", "organization", "active", "invited_by", "created_at")
    readonly_fields = ("user", "organization", "invited_by", "created_at")

    def has_add_permission(self, request):
        return False  # accounts come from accepted invitations


@admin.register(OfficeInvitation)
class OfficeInvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "created_at", "expires_at", "used_at")
    list_select_related = ("organization",)
    exclude = ("token_hash",)
    readonly_fields = ("organization", "email", "invited_by", "created_at", "used_at", "account")

    def has_add_permission(self, request):
        return False
